"""Fresh databases of the hard schemas, each on SQLite and on a throwaway PostgreSQL database."""

import pytest

from dsr.sources.sql import engines_dispose
from tests.sources.sql.hard.clinic import clinic_statements
from tests.sources.sql.hard.events import events_statements
from tests.sources.sql.hard.rental import rental_statements
from tests.sources.sql.hard.support import database_create

BOTH = ["sqlite", "postgres"]


@pytest.fixture(params=BOTH)
def rental_url(request, tmp_path) -> str:
    """Return the URL of a fresh rental-chain database."""
    yield database_create(request, tmp_path, rental_statements)
    engines_dispose()


@pytest.fixture(params=BOTH)
def clinic_url(request, tmp_path) -> str:
    """Return the URL of a fresh clinics database."""
    yield database_create(request, tmp_path, clinic_statements)
    engines_dispose()


@pytest.fixture(params=BOTH)
def events_url(request, tmp_path) -> str:
    """Return the URL of a fresh events database (plain tables on SQLite, partitions on PostgreSQL)."""
    yield database_create(request, tmp_path, events_statements)
    engines_dispose()


@pytest.fixture(params=["postgres"])
def events_postgres_url(request, tmp_path) -> str:
    """Return the URL of a fresh events database on PostgreSQL, the one that has partitions."""
    yield database_create(request, tmp_path, events_statements)
    engines_dispose()
