"""The manual connector and the service that completes its tasks."""

import datetime as dt

import factory
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from dsr.audit import Actor
from dsr.datamap.schema import DataMapInvalid
from dsr.models import AuditEvent, ManualTask, ManualTaskStatus, Request
from dsr.sources.base import ACCESS, ASYNC, ERASURE, TASK, ErasurePlan, SourcePermanentError, SourceUnsupported
from dsr.sources.manual import ManualConnector, ManualTaskError, manual_task_complete, manual_task_create
from tests.sources.maps import map_build

CHAT_SOURCE = {
    "name": "Customer-service chats (Genesys PureCloud)",
    "kind": "manual",
    "purposes": ["account"],
    "origin": {"da": "Fra dine henvendelser", "en": "From your enquiries"},
    "owner": "Customer service team lead",
    "instructions": {
        "access": {"da": "Eksportér samtalerne", "en": "Export the conversations"},
        "erasure": {"da": "Slet samtalerne", "en": "Delete the conversations"},
    },
    "categories": ["contact", "usage"],
}


class RequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Request

    reference = factory.Sequence(lambda n: f"DSR-TEST-{n:05d}")
    right = "access"
    email = "mette@example.dk"
    language = "da"
    received_at = factory.LazyFunction(timezone.now)
    due_date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=30))
    status_salt = factory.Sequence(lambda n: f"salt{n:028d}")


@pytest.fixture
def chats() -> ManualConnector:
    datamap = map_build({"chats": CHAT_SOURCE})
    return ManualConnector(datamap.sources["chats"], datamap)


@pytest.fixture
def chats_with_restriction() -> ManualConnector:
    instructions = {**CHAT_SOURCE["instructions"], "restriction": {"da": "Markér", "en": "Mark as restricted"}}
    datamap = map_build({"chats": {**CHAT_SOURCE, "instructions": instructions}})
    return ManualConnector(datamap.sources["chats"], datamap)


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user("agent", password="a-long-password-123", is_staff=True)


def test_capabilities_follow_the_instructions_given(chats):
    assert chats.capabilities() == {ACCESS, ERASURE, ASYNC}
    with pytest.raises(SourceUnsupported):
        chats.rectify({"email": {"a@example.com"}}, [{"field": "name", "correct": "x"}])


def test_a_restriction_is_handed_to_the_owner(chats_with_restriction):
    result = chats_with_restriction.restrict({"email": {"a@example.com"}}, restricted=True)
    assert result.complete is False
    assert result.extra["task"]["operation"] == "restriction"
    assert result.extra["task"]["owner"] == "Customer service team lead"


def test_erasure_plan_is_a_task_for_the_owner_and_creates_nothing(chats, db):
    plan = chats.erasure_plan({"email": {"mette@example.dk"}})
    assert plan.tables[0].action == TASK
    assert plan.extra["task"]["owner"] == "Customer service team lead"
    assert plan.extra["task"]["instructions"]["en"] == "Delete the conversations"
    assert ManualTask.objects.count() == 0
    result = chats.erasure_execute(ErasurePlan.from_dict(plan.to_dict()))
    assert result.complete is False


def test_records_are_not_silently_empty(chats):
    with pytest.raises(SourcePermanentError, match="by hand"):
        list(chats.records({"email": {"mette@example.dk"}}))


def test_a_task_is_created_once_in_the_requesters_language(chats, db):
    request = RequestFactory()
    first = manual_task_create(request=request, spec=chats.task_spec(ACCESS), actor=Actor.system())
    again = manual_task_create(request=request, spec=chats.task_spec(ACCESS), actor=Actor.system())
    assert first.pk == again.pk
    assert first.instructions == "Eksportér samtalerne"
    assert AuditEvent.objects.filter(action="manual_task.created").count() == 1


def test_completing_a_task_stores_attestation_file_and_audit(chats, staff_user, _bundle_storage):  # noqa: PT019
    request = RequestFactory()
    task = manual_task_create(request=request, spec=chats.task_spec(ACCESS), actor=Actor.system())
    upload = SimpleUploadedFile("chats.json", b'{"conversations": []}', content_type="application/json")

    done = manual_task_complete(
        task=task, attestation="Exported 3 conversations", file=upload, actor=Actor.staff(staff_user)
    )

    assert done.status == ManualTaskStatus.DONE
    assert done.completed_by == staff_user
    assert done.uploaded_file.name.startswith(f"uploads/{request.pk}/")
    assert done.uploaded_file.name.endswith("/chats.json")
    # Sealed at rest in the bundle storage; read back through dsr.
    assert b"conversations" not in (_bundle_storage / done.uploaded_file.name).read_bytes()
    with done.uploaded_file.open("rb") as stored:
        assert stored.read() == b'{"conversations": []}'
    event = AuditEvent.objects.get(action="manual_task.completed")
    assert event.data == {"task": task.pk, "source": "chats", "operation": "access", "file": True}


def test_a_task_needs_an_attestation_and_is_completed_only_once(chats, staff_user):
    task = manual_task_create(request=RequestFactory(), spec=chats.task_spec(ERASURE), actor=Actor.system())
    with translation.override("en"), pytest.raises(ManualTaskError, match="attestation is required"):
        manual_task_complete(task=task, attestation="  ", actor=Actor.staff(staff_user))
    manual_task_complete(task=task, attestation="Deleted in PureCloud", actor=Actor.staff(staff_user))
    with translation.override("en"), pytest.raises(ManualTaskError, match="no longer open"):
        manual_task_complete(task=task, attestation="Again", actor=Actor.staff(staff_user))
    task.refresh_from_db()
    assert task.attestation == "Deleted in PureCloud"


def test_a_manual_source_without_owner_or_instructions_is_rejected():
    broken = {key: value for key, value in CHAT_SOURCE.items() if key not in ("owner", "instructions")}
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"chats": broken})
    assert {str(e).split(":")[0] for e in caught.value.errors} == {"sources.chats.owner", "sources.chats.instructions"}
