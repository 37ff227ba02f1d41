"""What the row-lock tests share: they run on PostgreSQL only, and watch a backend wait for a lock."""

import pytest
from django.db import connection

# Row locks are PostgreSQL's; SQLite writes one transaction at a time (CI=true runs these).
ROW_LOCK_TESTS = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's (CI=true runs these)"),
]


def waiting_on_a_lock(pid: int) -> bool:
    """Return whether the backend ``pid`` is waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"
