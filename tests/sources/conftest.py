"""Fixtures for the connector tests: real SQLite files and throwaway PostgreSQL databases."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

from dsr.sources.sql import engines_dispose
from tests.sources.maps import CHINOOK_DIR

ON_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_url() -> str:
    """Return a libpq URL of the server that hosts the throwaway databases: the suite's own, else a local one."""
    db = settings.DATABASES["default"]
    if "postgresql" in db["ENGINE"]:
        credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        return f"postgresql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    return os.environ.get("DSR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def chinook_sqlite(tmp_path: Path) -> Path:
    """Return a fresh copy of the Chinook SQLite database (the shared file is never touched)."""
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(CHINOOK_DIR / "Chinook_Sqlite.sqlite", copy)
    copy.chmod(0o644)
    yield copy
    engines_dispose()


def _postgres_admin(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if ON_CI:
            raise
        pytest.skip(f"PostgreSQL is not reachable: {exc}")


@pytest.fixture
def postgres_database():
    """Create a throwaway PostgreSQL database and return its SQLAlchemy URL; drop it afterwards."""
    url = _postgres_url()
    admin = _postgres_admin(url)
    name = f"dsr_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}", f"{base}/{name}"
    finally:
        engines_dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def chinook_postgres(postgres_database, tmp_path: Path) -> str:
    """Load Chinook_PostgreSql.sql into a throwaway database and return its URL.

    The script drops and creates its own `chinook` database and connects to it;
    those lines are left out so it fills the throwaway database instead.
    """
    sqlalchemy_url, libpq_url = postgres_database
    script = (CHINOOK_DIR / "Chinook_PostgreSql.sql").read_text(encoding="utf-8")
    kept = [line for line in script.splitlines() if not line.startswith(("DROP DATABASE", "CREATE DATABASE", "\\c "))]
    filtered = tmp_path / "chinook.sql"
    filtered.write_text("\n".join(kept), encoding="utf-8")
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url, "-f", str(filtered)],
        check=True,
        capture_output=True,
    )
    return sqlalchemy_url
