"""Load a validated data map into the database, keeping every earlier version."""

import hashlib

from django.db import transaction
from django.utils import timezone

from dsr.audit import Actor, audit_record
from dsr.datamap import selectors
from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMap
from dsr.models import AuditAction, DataCategory, DataMapVersion, LegalHold, Purpose, Recipient, Source


def _rows_create(version: DataMapVersion, datamap: DataMap) -> None:
    DataCategory.objects.bulk_create(
        DataCategory(
            version=version,
            key=key,
            name_da=entry["name"]["da"],
            name_en=entry["name"]["en"],
            description_da=entry["description"]["da"],
            description_en=entry["description"]["en"],
        )
        for key, entry in datamap.categories.items()
    )
    Purpose.objects.bulk_create(
        Purpose(
            version=version,
            key=key,
            name_da=entry["name"]["da"],
            name_en=entry["name"]["en"],
            legal_basis=entry["legal_basis"],
            legitimate_interest_da=entry["legitimate_interest"]["da"],
            legitimate_interest_en=entry["legitimate_interest"]["en"],
            retention_da=entry["retention"]["da"],
            retention_en=entry["retention"]["en"],
            retention_rule=entry["retention_rule"],
            profiling=entry["profiling"],
            profiling_description_da=entry["profiling_description"]["da"],
            profiling_description_en=entry["profiling_description"]["en"],
            categories=entry["categories"],
            consent_key=entry["consent_key"],
        )
        for key, entry in datamap.purposes.items()
    )
    Recipient.objects.bulk_create(
        Recipient(
            version=version,
            key=key,
            name=entry["name"],
            role=entry["role"],
            country=entry["country"],
            countries=entry["countries"],
            safeguard_da=entry["safeguard"]["da"],
            safeguard_en=entry["safeguard"]["en"],
            contact_email=entry["contact_email"],
            purposes=entry["purposes"],
        )
        for key, entry in datamap.recipients.items()
    )
    LegalHold.objects.bulk_create(
        LegalHold(
            version=version,
            key=key,
            name_da=entry["name"]["da"],
            name_en=entry["name"]["en"],
            law_da=entry["law"]["da"],
            law_en=entry["law"]["en"],
            period_rule=entry["period_rule"],
            description_da=entry["description"]["da"],
            description_en=entry["description"]["en"],
        )
        for key, entry in datamap.legal_holds.items()
    )
    Source.objects.bulk_create(
        Source(
            version=version,
            key=key,
            name_da=entry["name"]["da"],
            name_en=entry["name"]["en"],
            kind=entry["kind"],
            purposes=entry["purposes"],
            recipients=entry["recipients"],
            groups=entry["groups"],
            origin_da=entry["origin"]["da"],
            origin_en=entry["origin"]["en"],
            provided_by_subject=entry["provided_by_subject"],
            config=entry["config"],
        )
        for key, entry in datamap.sources.items()
    )


def datamap_load(*, text: str, loaded_by: str, source_path: str = "") -> DataMapVersion:
    """Validate ``text`` and make it the active data map; raise DataMapInvalid and change nothing if it is not valid.

    Loading the same text as the active map again returns the active version unchanged.
    """
    datamap = datamap_parse(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    with transaction.atomic():
        current = DataMapVersion.objects.select_for_update().filter(active=True).first()
        if current is not None and current.sha256 == digest:
            return current
        if current is not None:
            current.active = False
            current.save(update_fields=["active"])
        version = DataMapVersion.objects.create(
            yaml_text=text,
            sha256=digest,
            snapshot=datamap.document,
            source_path=source_path,
            loaded_at=timezone.now(),
            loaded_by=loaded_by,
            active=True,
        )
        _rows_create(version, datamap)
    # Loaded inside a task: the rest of it works with the new map.
    selectors.active_version_forget()
    return version


def datamap_upload(*, text: str, loaded_by: str, file_name: str, actor: Actor) -> tuple[DataMapVersion, bool]:
    """Load a data map file a privacy admin uploaded in admin, as datamap_load does, and audit it.

    Return the active version and whether it is new (the same text as the active map changes nothing).
    Raise DataMapInvalid, changing nothing, if the file is not a valid data map.
    """
    with transaction.atomic():
        previous = DataMapVersion.objects.select_for_update().filter(active=True).values_list("pk", flat=True).first()
        version = datamap_load(text=text, loaded_by=loaded_by, source_path=file_name)
        if version.pk == previous:
            return version, False
        # The version's id and digest, never the file's contents.
        audit_record(
            actor=actor, action=AuditAction.DATAMAP_LOADED, data={"version": version.pk, "sha256": version.sha256}
        )
    return version, True
