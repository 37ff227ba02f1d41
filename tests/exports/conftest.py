"""The engine's test company (demo shop, Chinook, the demo ad partner) for the export tests."""

from tests.rights.conftest import company, file, run, staff  # noqa: F401  (fixtures, reused)
from tests.sources.conftest import chinook_postgres, chinook_sqlite, postgres_database  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401
