"""Read the active data map: what the Art. 15 answer, the workers and the emails need."""

import contextlib
import copy
import functools
import threading
from collections.abc import Iterator

from django.db import connection
from django.db.models import QuerySet

from dsr.datamap.schema import DataMap
from dsr.models import DataMapVersion, LegalHold, Purpose, Recipient, Source


def datamap_version_active() -> DataMapVersion | None:
    """Return the active version of the data map, or None before any map was loaded."""
    return DataMapVersion.objects.filter(active=True).first()


def datamap_active() -> DataMap | None:
    """Return the active data map as a DataMap, or None before any map was loaded."""
    snapshot = DataMapVersion.objects.filter(active=True).values_list("snapshot", flat=True).first()
    return None if snapshot is None else DataMap(snapshot)


# Inside a worker's task, the active version as first read in it (config/celery.py turns this on around each
# task): a task works with one map, and its jobs, plan steps and messages each asked for it again.
_active_in_task: dict | None = None


def active_version_memo(on: bool) -> None:
    """Read the active version once per task from now on (``on``), or at every call again."""
    global _active_in_task
    _active_in_task = {} if on else None


def active_version_forget() -> None:
    """Forget the active version read in this task (a map was loaded in it): the next call reads it again."""
    if _active_in_task is not None:
        _active_in_task.clear()


# The version this process last read, and the one a block presumes active (active_version_presumed), per thread.
_UNREAD = object()
_last_read: object = _UNREAD
_presumed = threading.local()


@contextlib.contextmanager
def active_version_presumed() -> Iterator[tuple[int, str] | None]:
    """Within the block, answer with the version this process last read, without reading it again; yield it.

    For a caller whose one statement writes only if that version is still the active one, and which starts
    over when it is not (a filing on PostgreSQL, dsr.workflow.filing_sql): a newly loaded map still applies
    to the next filing.
    """
    key = _last_read if _last_read is not _UNREAD else active_version_key()
    _presumed.key = key
    try:
        yield key
    finally:
        del _presumed.key


def active_version_key() -> tuple[int, str] | None:
    """Return the active version's (id, sha256), or None before any map was loaded."""
    global _last_read
    presumed = getattr(_presumed, "key", _UNREAD)
    if presumed is not _UNREAD:
        return presumed
    memo = _active_in_task
    if memo is not None and "key" in memo:
        return memo["key"]
    # Written out: every task and every filing asks, and the ORM would build this one-row read anew each time.
    with connection.cursor() as cursor:
        cursor.execute(_active_key_statement())
        row = cursor.fetchone()
    key = (row[0], row[1]) if row is not None else None
    _last_read = key
    if memo is not None:
        memo["key"] = key
    return key


@functools.cache
def _active_key_statement() -> str:
    table = connection.ops.quote_name(DataMapVersion._meta.db_table)
    return f"SELECT id, sha256 FROM {table} WHERE active ORDER BY id LIMIT 1"  # noqa: S608 (a table name)


# The active version's controller section, kept per process: a version's snapshot never changes, while every
# filing and every message asks for it, where reading and decoding the whole snapshot (tens of kilobytes) would
# cost more than the rest of what they do with it.
_controller_kept: tuple[tuple[int, str] | None, dict] = (None, {})


def _controller_of_active() -> dict | None:
    global _controller_kept
    version = active_version_key()
    if version is None:
        return None
    if _controller_kept[0] != version:
        snapshot = DataMapVersion.objects.filter(pk=version[0]).values_list("snapshot", flat=True).first()
        if snapshot is None:
            # A presumed version that is no longer there (active_version_presumed): as if no map were loaded;
            # the presuming statement finds the version changed and the caller starts over.
            return None
        _controller_kept = (version, DataMap(snapshot).controller)
    return _controller_kept[1]


def controller_current() -> dict | None:
    """Return the active map's controller (name, address, cvr, email, phone, dpo_email, authority)."""
    controller = _controller_of_active()
    if controller is None:
        return None
    # A copy: the caller may change it without changing what the next caller gets.
    return copy.deepcopy(
        {key: controller[key] for key in ("name", "address", "cvr", "email", "phone", "dpo_email", "authority")}
    )


def jurisdictions_served() -> list[str]:
    """Return the codes of the jurisdiction profiles the active map serves; empty: every profile."""
    controller = _controller_of_active()
    return list((controller or {}).get("jurisdictions") or [])


def purposes_active() -> QuerySet[Purpose]:
    """Return the active map's purposes."""
    return Purpose.objects.filter(version__active=True)


def recipients_active(*, purposes: list[str] | None = None) -> QuerySet[Recipient]:
    """Return the active map's recipients, optionally only those serving one of ``purposes``."""
    recipients = Recipient.objects.filter(version__active=True)
    if purposes is None:
        return recipients
    wanted = set(purposes)
    return recipients.filter(pk__in=[r.pk for r in recipients if wanted.intersection(r.purposes)])


def legal_holds_active() -> QuerySet[LegalHold]:
    """Return the active map's legal holds."""
    return LegalHold.objects.filter(version__active=True)


def sources_active() -> QuerySet[Source]:
    """Return the active map's sources."""
    return Source.objects.filter(version__active=True)


def datamap_versions() -> QuerySet[DataMapVersion]:
    """Return every loaded version, newest first (the history)."""
    return DataMapVersion.objects.defer("yaml_text", "snapshot").order_by("-loaded_at", "-id")
