"""A request's jurisdiction: chosen at filing, stored, and driving its deadlines, clock, fees and extension."""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from dsr import workflow
from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid
from dsr.jurisdictions import PROFILES
from dsr.models import AuditEvent, FeeGround, Message, Request, Right, SuspensionReason, VerificationMethod
from dsr.outbox import message_render
from dsr.selectors import request_deadline
from dsr.workflow import RequestInvalid, TransitionError

CPH = ZoneInfo("Europe/Copenhagen")
DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff(django_user_model):
    return Actor.staff(django_user_model.objects.create_user("agent", "agent@example.org", is_staff=True))


@pytest.fixture
def file_request(django_capture_on_commit_callbacks):
    def file(**overrides) -> Request:
        values = {"right": Right.ACCESS, "email": "kunde@example.se", "actor": Actor.subject()} | overrides
        with django_capture_on_commit_callbacks(execute=True):
            return workflow.request_submit(**values).request

    return file


@pytest.fixture
def in_progress(file_request, staff):
    def make(**overrides) -> Request:
        request = file_request(**overrides)
        return workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)

    return make


def _map_text(jurisdictions) -> str:
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    document["controller"]["jurisdictions"] = jurisdictions
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_a_request_is_stored_under_the_chosen_profile_with_its_deadline(in_progress):
    # 6 June 2025 is Sweden's National Day: the month from 6 May ends on Monday 9 June.
    with time_machine.travel(datetime(2025, 5, 6, 10, 0, tzinfo=CPH)):
        request = in_progress(jurisdiction="se")
    request.refresh_from_db()
    assert request.jurisdiction == "se"
    assert request.due_date == date(2025, 6, 9)


def test_without_a_choice_the_deployments_own_profile_applies(file_request, settings):
    settings.DSR_COUNTRY = "DE"
    assert file_request().jurisdiction == "de"
    settings.DSR_COUNTRY = "DK"
    assert file_request(email="other@example.dk").jurisdiction == "dk"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"jurisdiction": "xx"}, "jurisdiction"),
        # California offers no restriction (CCPA has no such right).
        ({"jurisdiction": "us-ca", "right": Right.RESTRICTION, "details": {"ground": "legal_claims"}}, "jurisdiction"),
        # A Californian opt-out stops sale or sharing for marketing; dsr does not pretend to more.
        (
            {"jurisdiction": "us-ca", "right": Right.OBJECTION, "details": {"scope": "profiling", "grounds": "x"}},
            "scope",
        ),
    ],
)
def test_a_profile_that_does_not_fit_is_refused_and_nothing_is_stored(file_request, overrides, field):
    with pytest.raises(RequestInvalid) as caught:
        file_request(**overrides)
    assert field in caught.value.message_dict
    assert not Request.objects.exists()


def test_the_data_map_limits_the_profiles_served(file_request):
    datamap_load(text=_map_text(["dk", "se", "us-ca"]), loaded_by="test")
    assert file_request(jurisdiction="us-ca").jurisdiction == "us-ca"
    with pytest.raises(RequestInvalid) as caught:
        file_request(email="brazil@example.com", jurisdiction="br")
    assert "dk, se, us-ca" in caught.value.message_dict["jurisdiction"][0]


def test_filings_read_the_map_once_per_version_and_a_new_version_applies_at_once(file_request):
    datamap_load(text=_map_text(["dk", "se"]), loaded_by="test")
    assert file_request(jurisdiction="se").jurisdiction == "se"
    # The filings alone, not the emails they send (which render the controller from the map).
    with CaptureQueriesContext(connection) as queries:
        filed = workflow.request_submit(
            right=Right.ACCESS, email="b@example.se", jurisdiction="se", actor=Actor.subject()
        )
        with pytest.raises(RequestInvalid):
            workflow.request_submit(
                right=Right.ACCESS, email="c@example.com", jurisdiction="us-ca", actor=Actor.subject()
            )
    assert filed.request.jurisdiction == "se"
    # The snapshot (the whole map, tens of kilobytes) was read for the first filing under this version only.
    assert not any('"dsr_datamapversion"."snapshot"' in query["sql"] for query in queries.captured_queries)

    datamap_load(text=_map_text(["us-ca"]), loaded_by="test")
    assert file_request(email="californian@example.com", jurisdiction="us-ca").jurisdiction == "us-ca"
    with pytest.raises(RequestInvalid):
        file_request(email="third@example.se", jurisdiction="se")


def test_the_controller_is_read_once_per_version_each_caller_gets_its_own_copy_and_a_new_version_applies():
    from dsr.datamap.selectors import controller_current

    datamap_load(text=_map_text(["dk"]), loaded_by="test")
    named = controller_current()["name"]
    with CaptureQueriesContext(connection) as queries:
        mine = controller_current()
        mine["name"] = "Changed by one caller"
        mine["authority"]["name"] = "Changed too"
        again = controller_current()
    # The snapshot (the whole map) was read once for this version, not for every message.
    assert not any('"dsr_datamapversion"."snapshot"' in query["sql"] for query in queries.captured_queries)
    assert again["name"] == named
    assert again["authority"].get("name") != "Changed too"

    document = yaml.safe_load(_map_text(["dk"]))
    document["controller"]["name"] = "Madkassen Nord ApS"
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")
    assert controller_current()["name"] == "Madkassen Nord ApS"


def test_without_a_data_map_every_profile_is_served(file_request):
    assert file_request(email="brazil@example.com", jurisdiction="br").jurisdiction == "br"


def test_the_data_map_refuses_an_unknown_profile():
    with pytest.raises(DataMapInvalid) as caught:
        datamap_parse(_map_text(["dk", "atlantis"]))
    assert 'controller.jurisdictions: unknown jurisdiction profile "atlantis"' in str(caught.value)


def test_a_californian_deadline_runs_while_staff_wait_for_the_requester(in_progress, staff):
    with time_machine.travel(datetime(2026, 3, 31, 10, 0, tzinfo=CPH)):
        request = in_progress(jurisdiction="us-ca", language="en")
    assert request.due_date == date(2026, 5, 14)
    with time_machine.travel(datetime(2026, 4, 2, 10, 0, tzinfo=CPH)):
        workflow.request_suspend(
            request=request, reason=SuspensionReason.CLARIFICATION, note="Which account?", actor=staff
        )
    with time_machine.travel(datetime(2026, 4, 12, 10, 0, tzinfo=CPH)):
        deadline = request_deadline(Request.objects.get(pk=request.pk))
        assert not deadline.clock_stopped
        assert deadline.effective_due == date(2026, 5, 14)
        assert deadline.acknowledge_by == date(2026, 4, 14)
        workflow.request_resume(request=request, actor=staff)
    request.refresh_from_db()
    assert request.due_date == date(2026, 5, 14)
    suspended = request.messages.get(kind="suspended")
    text = message_render(suspended).text
    assert "not paused" in text
    assert "paused until we have your answer" not in text


def test_a_californian_extension_is_45_more_days(in_progress, staff):
    with time_machine.travel(datetime(2026, 3, 31, 10, 0, tzinfo=CPH)):
        request = in_progress(jurisdiction="us-ca")
    with time_machine.travel(datetime(2026, 5, 14, 10, 0, tzinfo=CPH)):
        workflow.request_extend(request=request, reasons="Many systems.", actor=staff)
    request.refresh_from_db()
    assert request.extended_due_date == date(2026, 6, 28)


def test_a_brazilian_request_cannot_be_extended_or_charged_and_nothing_changes(in_progress, staff, settings):
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN = "Pay to account 1234."
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = "Betal til konto 1234."
    with time_machine.travel(datetime(2026, 4, 6, 10, 0, tzinfo=CPH)):
        request = in_progress(jurisdiction="br")
        assert request.due_date == date(2026, 4, 22)
        with pytest.raises(TransitionError, match="allows no extension"):
            workflow.request_extend(request=request, reasons="Many systems.", actor=staff)
        with pytest.raises(RequestInvalid) as caught:
            workflow.request_fee_ask(
                request=request,
                ground=FeeGround.MANIFESTLY_UNFOUNDED,
                amount="100",
                reasons="A fee because this request repeats the last one.",
                actor=staff,
            )
    assert "allows no fee" in caught.value.message_dict["ground"][0]
    request.refresh_from_db()
    assert request.extended_due_date is None
    assert request.status == "in_progress"
    assert not request.fees.exists()
    assert not AuditEvent.objects.filter(action__in=["request.extended", "fee.requested"]).exists()


def test_the_staff_reminder_names_the_law_of_a_request_not_under_the_gdpr(in_progress, settings):
    settings.DSR_STAFF_NOTIFY_EMAILS = ["privacy@example.org"]
    with time_machine.travel(datetime(2026, 3, 31, 10, 0, tzinfo=CPH)):
        in_progress(jurisdiction="us-ca")
        in_progress(email="dansk@example.dk", jurisdiction="dk")
    with time_machine.travel(datetime(2026, 5, 12, 8, 0, tzinfo=CPH)):
        assert workflow.requests_remind_staff() == 2
    digest = message_render(Message.objects.get(kind="deadline_reminder"))
    # The digest is in the staff's language (Danish by default); only the Californian row names its law.
    assert "Californien (USA): Cal. Civ. Code § 1798.130(a)(2)(A)" in digest.text
    assert digest.text.count("[") == 1


def test_a_californian_objection_is_named_by_its_scope_and_other_rights_by_the_right():
    california, denmark = PROFILES["us-ca"], PROFILES["dk"]
    assert california.right_name("objection", {"scope": "sensitive"}).startswith(
        "Right to limit the use of sensitive personal information"
    )
    assert california.right_name("objection", {"scope": "direct_marketing"}).startswith("Right to opt out")
    assert california.right_name("access").startswith("Right to know")
    assert denmark.right_name("objection", {"scope": "sensitive"}) == ""
