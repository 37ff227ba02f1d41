"""The loyalty-club database on a SQLite file and on a throwaway PostgreSQL database."""

import pytest

from dsr.sources.sql import engines_dispose
from tests.sources.sql.loyalty import loyalty_schema_create


@pytest.fixture(params=["sqlite", "postgres"])
def loyalty_url(request, tmp_path) -> str:
    """Return the URL of a fresh loyalty-club database (SQLite file or throwaway PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'loyalty.sqlite'}"
        (tmp_path / "loyalty.sqlite").touch()
    else:
        url = request.getfixturevalue("postgres_database")[0]
    loyalty_schema_create(url)
    yield url
    engines_dispose()
