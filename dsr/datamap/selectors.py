"""Read the active data map: what the Art. 15 answer, the workers and the emails need."""

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


def controller_current() -> dict | None:
    """Return the active map's controller (name, address, cvr, email, phone, dpo_email, authority)."""
    datamap = datamap_active()
    if datamap is None:
        return None
    return {
        key: datamap.controller[key] for key in ("name", "address", "cvr", "email", "phone", "dpo_email", "authority")
    }


# The profiles the active version serves, kept per process: a version's snapshot never changes, and every filing
# asks, where reading and decoding the whole snapshot (tens of kilobytes) would cost more than the rest of the check.
_served: tuple[tuple[int, str] | None, list[str]] = (None, [])


def jurisdictions_served() -> list[str]:
    """Return the codes of the jurisdiction profiles the active map serves; empty: every profile."""
    global _served
    version = DataMapVersion.objects.filter(active=True).values_list("pk", "sha256").first()
    if version is None:
        return []
    if _served[0] != version:
        snapshot = DataMapVersion.objects.values_list("snapshot", flat=True).get(pk=version[0])
        _served = (version, list(DataMap(snapshot).controller.get("jurisdictions") or []))
    return list(_served[1])


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
