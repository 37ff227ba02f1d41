"""The purge of closed requests forgets every personal field of dsr's own records, by the inventory.

The inventory (dsr/models/personal.py) classifies every field of every model;
a field it does not know fails here. The requests below run every right for
one person through the test company (tests/rights/conftest.py: the shop,
Chinook, the ad partner speaking OpenGDPR with SHA-256 emails, the chats
worked by hand), with notes, suspensions, attestations, an upload, corrections,
reasons and bundles; after the purge no row of any table holds anything of them.
"""

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from dsr.audit import Actor
from dsr.engine.manual import manual_task_complete
from dsr.models import (
    ManualFinding,
    ManualTask,
    ManualTaskStatus,
    Operation,
    Request,
    Restriction,
    Status,
    Suppression,
    VerificationChallenge,
)
from dsr.models.personal import HASHED, INVENTORY, PERSONAL, field_empty
from dsr.restrictions import restriction_lift_schedule
from dsr.rights.base import request_plan_approve
from dsr.rights.objection import objection_decide
from dsr.suppression import identifier_digest, suppression_check
from dsr.workflow import (
    TransitionError,
    request_fee_ask,
    request_fee_paid,
    request_note_add,
    request_purge,
    request_resume,
    request_submit,
    request_suspend,
    requests_purge_closed,
)
from tests.rights.conftest import (  # noqa: F401  (the fixtures, reused)
    PERSON,
    PERSON_SHA256,
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
from tests.rights.helpers import tasks_finish

PHONE = "+45 71 82 93 04"
CUSTOMER_NUMBER = "KN-558812"
# Everything of the person, or written about them, that the requests below leave in dsr's records.
MARKERS = [
    PERSON,
    PERSON_SHA256,
    PHONE,
    CUSTOMER_NUMBER,
    "Gonçalves",  # the person's name, as the sources hold it
    "Nyvej Purgatorio 17",  # a corrected value
    "Erantisgade 906",  # the value the person said was wrong
    "ligner en kunde",  # a staff note
    "Hentet chatlog for Luís",  # an attestation
    "chatlog-luis.txt",  # an uploaded file's name
    "bekræfte din adresse",  # a suspension's note
    "Din indsigelse vejer tungest",  # balancing reasons
    "Adressen blev kontrolleret",  # lift reasons
    "Mit gamle efternavn",  # the person's own words for a field no source maps
    "flyttet til Portugal",  # objection grounds
    "fjerde kopi på en måned",  # a fee's reasons
    "MobilePay 5512",  # a fee payment's reference
    "Gonçalves Rådgivning",  # the company the person asked us to send their data to
    "luis@goncalves-raadgivning.example",  # ...and its address
]

pytestmark = pytest.mark.django_db


def _dsr_models():
    return list(apps.get_app_config("dsr").get_models())


def _fields(model) -> list:
    return [f for f in model._meta.get_fields() if f.concrete]


# --- The inventory -----------------------------------------------------------------------------


def test_every_field_of_every_model_is_classified_once():
    missing, doubled = [], []
    for model in _dsr_models():
        entry = INVENTORY.get(model.__name__)
        assert entry is not None, f"{model.__name__} is not in dsr.models.personal.INVENTORY"
        for model_field in _fields(model):
            roles = [
                role
                for role, names in ((1, entry.personal), (2, entry.hashed), (3, entry.kept))
                if model_field.name in names
            ]
            if not roles:
                missing.append(f"{model.__name__}.{model_field.name}")
            elif len(roles) > 1:
                doubled.append(f"{model.__name__}.{model_field.name}")
    assert missing == [], "classify these fields in dsr.models.personal.INVENTORY (personal, hashed or kept)"
    assert doubled == []


def test_the_inventory_names_only_fields_that_exist_and_reaches_each_request():
    models = {model.__name__: model for model in _dsr_models()}
    assert set(INVENTORY) == set(models)
    for name, entry in INVENTORY.items():
        names = {f.name for f in _fields(models[name])}
        stale = set(entry.personal) | set(entry.hashed) | set(entry.kept)
        assert stale <= names, f"{name}: {sorted(stale - names)} no longer exist"
        if entry.to_request is not None:
            # The lookup works: a query through it runs.
            list(models[name]._base_manager.filter(**{entry.to_request: 0}))
        assert all(reason.strip() for reason in entry.kept.values())


def test_a_new_unclassified_field_is_found(monkeypatch):
    entry = INVENTORY["RequestNote"]
    monkeypatch.setitem(
        INVENTORY, "RequestNote", type(entry)(to_request=entry.to_request, kept=entry.kept)
    )  # "text" now in no list
    with pytest.raises(AssertionError, match="classify these fields"):
        test_every_field_of_every_model_is_classified_once()


# --- One person, every right, then the purge ------------------------------------------------------


@pytest.fixture
def person_requests(company, file, run, staff, settings) -> list[Request]:
    """Run every right for PERSON to its end, with what staff and owners write along the way."""
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = "Betal til konto 1234-5678901 med referencen."
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN = "Pay to account 1234-5678901 quoting the reference."
    done = []
    access = file("access", phone=PHONE, customer_number=CUSTOMER_NUMBER)
    run(request_suspend, request=access, reason="clarification", note="Bed om at bekræfte din adresse", actor=staff)
    run(request_resume, request=access, actor=staff)
    reasons = "Det er din fjerde kopi på en måned; gebyret dækker udtrækket fra tre systemer."
    run(request_fee_ask, request=access, ground="further_copies", amount="150.00", reasons=reasons, actor=staff)
    paid = {"amount": "150.00", "paid_on": timezone.localdate(), "method": "bank_transfer"}
    run(request_fee_paid, request=access, **paid, reference="MobilePay 5512", actor=staff)
    chats = ManualTask.objects.get(request=access, source_key="chats", status=ManualTaskStatus.OPEN)
    run(
        manual_task_complete,
        task=chats,
        finding=ManualFinding.DONE,
        attestation="Hentet chatlog for Luís fra supportsystemet",
        file=SimpleUploadedFile("chatlog-luis.txt", b"Luis: hej, det er Luis Goncalves"),
        actor=staff,
    )
    tasks_finish(access, staff, run)
    done.append(access)

    receiver = {"name": "Gonçalves Rådgivning", "email": "luis@goncalves-raadgivning.example"}
    portability = file("portability", language="da", transmit_to=receiver)
    tasks_finish(portability, staff, run)
    done.append(portability)

    erasure = file("erasure", phone=PHONE)
    run(request_plan_approve, request=erasure, actor=staff)
    tasks_finish(erasure, staff, run)
    done.append(erasure)

    corrections = [
        {"field": "address", "current": "Erantisgade 906", "correct": "Nyvej Purgatorio 17"},
        {"field": "Mit gamle efternavn", "correct": "Gonçalves"},
    ]
    rectification = file("rectification", corrections=corrections, statement="Gonçalves er rigtigt")
    request_note_add(request=rectification, text="Den her ligner en kunde vi kender", actor=staff)
    run(request_plan_approve, request=rectification, actor=staff)
    tasks_finish(rectification, staff, run)
    done.append(rectification)

    restriction = file("restriction", ground="accuracy_contested")
    tasks_finish(restriction, staff, run)
    # The notice goes out, and with it the lift (GDPR Art. 18(3)).
    run(restriction_lift_schedule, request=restriction, reasons="Adressen blev kontrolleret og er rigtig", actor=staff)
    tasks_finish(restriction, staff, run)
    done.append(restriction)

    objection = file("objection", scope="purpose", purpose="customer_service", grounds="Jeg er flyttet til Portugal")
    run(objection_decide, request=objection, upheld=True, reasons="Din indsigelse vejer tungest", actor=staff)
    done.append(objection)

    done.append(file("objection", scope="direct_marketing"))
    done.append(file("consent_withdrawal", consents=["newsletter"]))
    for request in done:
        request.refresh_from_db()
        assert request.status in (Status.COMPLETED, Status.PARTIALLY_COMPLETED), (request.right, request.status)
    return done


def _rows_text(model) -> list[str]:
    rows = []
    for row in model._base_manager.all():
        values = {f.name: f.value_from_object(row) for f in _fields(model)}
        rows.append(json.dumps(values, default=str, ensure_ascii=False))
    return rows


def _markers_in_records() -> dict[str, list[str]]:
    found = {}
    for model in _dsr_models():
        if INVENTORY[model.__name__].to_request is None and model.__name__ not in ("WebhookDelivery",):
            continue  # the data map and the configuration are not about the person
        for text in _rows_text(model):
            hits = [marker for marker in MARKERS if marker.lower() in text.lower()]
            if hits:
                found.setdefault(model.__name__, []).extend(hits)
    return found


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_the_person_is_in_the_records_before_the_purge(person_requests):
    # The test below is only worth something if the requests really left all of this behind.
    found = _markers_in_records()
    left = {marker.lower() for markers in found.values() for marker in markers}
    assert {marker.lower() for marker in MARKERS} - left == set()


def test_the_purge_leaves_nothing_of_the_person_in_any_record_or_file(
    person_requests, settings, django_capture_on_commit_callbacks
):
    stored = Path(settings.STORAGES["bundles"]["OPTIONS"]["location"])
    assert _files(stored), "the requests stored no file"
    settings.DSR_RECORD_RETENTION_DAYS = 30

    with django_capture_on_commit_callbacks(execute=True):
        purged = requests_purge_closed(now=timezone.now() + timedelta(days=31))

    assert purged == len(person_requests)
    assert _markers_in_records() == {}
    assert _files(stored) == []
    ids = [request.pk for request in person_requests]
    for name, entry in INVENTORY.items():
        if entry.to_request is None:
            continue
        model = apps.get_model("dsr", name)
        rows = list(model._base_manager.filter(**{f"{entry.to_request}__in": ids}))
        if entry.delete:
            assert rows == [], name
            continue
        for row in rows:
            for field_name in entry.personal:
                model_field = model._meta.get_field(field_name)
                assert model_field.value_from_object(row) in (field_empty(model_field), None), (name, field_name)
    for request in Request.objects.filter(pk__in=ids):
        assert request.purged_at is not None
        assert request.status in (Status.COMPLETED, Status.PARTIALLY_COMPLETED)
        assert request.closed_at is not None
        assert request.received_at is not None
        assert request.audit_events.filter(action="request.purged").exists()
        assert all(bundle.status == "purged" for bundle in request.bundles.all())
    assert not VerificationChallenge.objects.exists()


def test_what_stays_after_the_purge_is_keyed_and_still_works(person_requests, settings):
    settings.DSR_RECORD_RETENTION_DAYS = 30
    requests_purge_closed(now=timezone.now() + timedelta(days=31))

    digests = set(Suppression.objects.values_list("digest", flat=True)) | set(
        Restriction.objects.values_list("digest", flat=True)
    )
    assert identifier_digest("email", PERSON) in digests
    assert PERSON_SHA256 not in digests
    assert hashlib.sha256(PERSON.upper().encode()).hexdigest() not in digests
    # The list still does its work: the next import skips the person.
    assert suppression_check(PERSON)
    for name, entry in INVENTORY.items():
        for field_name in entry.hashed:
            assert entry.role(field_name) == HASHED
            model = apps.get_model("dsr", name)
            for value in model._base_manager.values_list(field_name, flat=True):
                assert value != PERSON_SHA256
    assert all(entry.role(name) == PERSONAL for entry in INVENTORY.values() for name in entry.personal)


def test_purging_twice_changes_nothing(person_requests, staff, settings):
    request = person_requests[0]
    first = request_purge(request=request, actor=staff)
    again = request_purge(request=request, actor=staff)
    assert again.purged_at == first.purged_at
    assert request.audit_events.filter(action="request.purged").count() == 1


# --- When the purge waits -------------------------------------------------------------------------


def test_a_restriction_in_force_keeps_the_details_until_it_is_lifted(company, file, run, staff, settings):
    restricted = file("restriction", ground="accuracy_contested")
    tasks_finish(restricted, staff, run)
    restricted.refresh_from_db()
    assert restricted.status == Status.COMPLETED
    settings.DSR_RECORD_RETENTION_DAYS = 30
    later = timezone.now() + timedelta(days=31)

    assert requests_purge_closed(now=later) == 0
    with translation.override("en"), pytest.raises(TransitionError, match="told before it is lifted"):
        request_purge(request=restricted, actor=staff)
    restricted.refresh_from_db()
    assert restricted.email == PERSON
    assert restricted.plan.identifiers

    run(restriction_lift_schedule, request=restricted, reasons="Adressen blev kontrolleret", actor=staff)
    tasks_finish(restricted, staff, run)
    assert not restricted.jobs.filter(operation=Operation.RESTRICTION_LIFT).exclude(status="done").exists()

    assert requests_purge_closed(now=later) == 1
    restricted.refresh_from_db()
    assert restricted.email == ""
    assert set(restricted.restrictions.values_list("lift_reasons", flat=True)) == {""}


def test_work_still_running_for_a_closed_request_keeps_it_until_the_work_ends(company, file, run, staff, settings):
    restricted = file("restriction", ground="accuracy_contested")
    tasks_finish(restricted, staff, run)
    # The notice goes out and the lift's jobs are created; the chats' owner has not unmarked the data yet.
    run(restriction_lift_schedule, request=restricted, reasons="Adressen blev kontrolleret", actor=staff)
    assert restricted.jobs.filter(operation=Operation.RESTRICTION_LIFT).exclude(status="done").exists()
    settings.DSR_RECORD_RETENTION_DAYS = 30

    assert requests_purge_closed(now=timezone.now() + timedelta(days=31)) == 0
    with translation.override("en"), pytest.raises(TransitionError, match="still running"):
        request_purge(request=restricted, actor=staff)
    restricted.refresh_from_db()
    assert restricted.email == PERSON


def test_an_open_request_is_never_purged(company, staff):
    request = request_submit(right="access", email="open@example.dk", actor=Actor.subject()).request
    with translation.override("en"), pytest.raises(TransitionError, match="still open"):
        request_purge(request=request, actor=staff)
    request.refresh_from_db()
    assert request.email == "open@example.dk"
    assert request.purged_at is None


def test_the_purge_deletes_every_staged_file_of_a_request_closed_without_its_bundle(company, file, run, staff):
    from dsr.exports.staging import records_stage
    from dsr.models import CLOSED_STATUSES, Job
    from dsr.sources.base import Record
    from dsr.storage import bundle_storage, segment_file

    request = file("access")
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert request.status in CLOSED_STATUSES
    # A collect run whose bundle never came: its JSON, CSV and spreadsheet CSV are still staged.
    rows = [{"id": n, "email": PERSON, "paid": True} for n in range(3)]
    result = records_stage(
        (Record(source="shop", table="customer", row=row, categories={}, provided=True) for row in rows),
        request_id=request.pk,
        source_key="shop",
        readable="da",
    )
    entry = result["staged"]["customer"]
    names = [entry["name"], entry["csv_name"], entry["readable_name"]]
    assert all(names)
    stored = {segment_file(name) for name in names}  # one file holds a source's staged tables
    job = request.jobs.filter(status="done").first()
    Job.objects.filter(pk=job.pk).update(result=result)
    storage = bundle_storage()
    assert all(storage.exists(name) for name in stored)

    run(request_purge, request=request, actor=staff)

    assert not any(storage.exists(name) for name in stored)
