"""An authorised agent files for a Californian consumer (CCPA § 1798.130(a)(3), regs § 7063): pages, flow, errors."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
import yaml
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dsr import workflow
from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.models import (
    AgentDecision,
    AgentFiling,
    AuditAction,
    AuditEvent,
    IdentityLevel,
    Request,
    Status,
    VerificationMethod,
)
from dsr.views.staff.queue import queue_row
from dsr.workflow import agents as agent_services
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n% signed: Ana Lopez\ntrailer<<>>\n%%EOF\n"
DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"
AGENT_EMAIL = "pat@agents.example"
CONSUMER_EMAIL = "ana.lopez@example.com"


def _form_token(client: Client) -> str:
    page = client.get(reverse("dsr:agent_form"))
    return re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)


def _fields(client: Client, **overrides) -> dict:
    data = {
        "agent_name": "Pat Agent",
        "agent_email": AGENT_EMAIL,
        "consumer_name": "Ana Lopez",
        "consumer_email": CONSUMER_EMAIL,
        "consumer_language": "en",
        "kind": "know",
        "document": SimpleUploadedFile("permission.pdf", PDF, content_type="application/pdf"),
        "form_token": _form_token(client),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def portal() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def filed(commit):
    """Return a filing made through the service, with the agent's link token."""

    def make(**overrides) -> agent_services.AgentFiled:
        arguments = {
            "agent_name": "Pat Agent",
            "agent_email": AGENT_EMAIL,
            "consumer_name": "Ana Lopez",
            "consumer_email": CONSUMER_EMAIL,
            "kind": "know",
            "document": SimpleUploadedFile("permission.pdf", PDF),
            "actor": Actor.subject(),
        }
        arguments.update(overrides)
        return commit(workflow.agent_filing_submit, **arguments)

    return make


def _sent_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def _consumer_token() -> str:
    body = _sent_to(CONSUMER_EMAIL)[-1].body
    return re.search(r"/agent/permission/([^/\s]+)/", body).group(1)


def _actions(request: Request) -> list[str]:
    return list(AuditEvent.objects.filter(request=request).order_by("seq").values_list("action", flat=True))


# --- The page -------------------------------------------------------------------------------


def test_the_start_page_and_the_request_form_point_agents_to_their_page(portal):
    start = portal.get(reverse("dsr:start")).content.decode()
    assert 'href="/agent/"' in start
    assert "File a request as an authorised agent" in start
    form = portal.get("/request/access/").content.decode()
    assert 'href="/agent/"' in form


def test_the_agent_page_asks_who_the_agent_and_the_consumer_are_and_the_proof(portal):
    page = portal.get(reverse("dsr:agent_form")).content.decode()
    for name in ("agent_name", "agent_email", "business", "entity_name", "entity_number", "consumer_name"):
        assert f'name="{name}"' in page
    assert 'name="document"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="power_of_attorney"' in page
    assert "Cal. Civ. Code § 1798.130(a)(3)" in page


def test_the_agent_page_is_in_danish_too():
    page = Client(HTTP_ACCEPT_LANGUAGE="da").get(reverse("dsr:agent_form")).content.decode()
    assert "Send en anmodning som befuldmægtiget" in page


def test_an_agent_files_and_only_the_agent_is_emailed_until_they_confirm(portal, commit, settings):
    response = commit(
        portal.post,
        reverse("dsr:agent_form"),
        _fields(portal, business="on", entity_name="Privacy Agents LLC", entity_number="202412345678"),
    )
    assert response.status_code == 200
    assert "We have sent a link to your email address" in response.content.decode()
    request = Request.objects.get()
    assert (request.jurisdiction, request.right, request.status) == ("us-ca", "access", Status.PENDING_VERIFICATION)
    assert (request.email, request.name) == (CONSUMER_EMAIL, "Ana Lopez")
    filing = request.agent_filing
    # The agent's details are sealed at rest, and the proof is a sealed upload with a random name.
    assert AGENT_EMAIL not in filing.sealed_agent
    assert "Privacy Agents" not in filing.sealed_agent
    assert workflow.agent_details(filing) == {
        "name": "Pat Agent",
        "email": AGENT_EMAIL,
        "entity_name": "Privacy Agents LLC",
        "entity_number": "202412345678",
    }
    assert filing.business
    assert filing.document_name == "permission.pdf"
    assert filing.document_type == "pdf"
    raw = (Path(settings.STORAGES["bundles"]["OPTIONS"]["location"]) / filing.document.name).read_bytes()
    assert PDF not in raw
    assert "permission" not in filing.document.name
    with filing.document.open("rb") as opened:
        assert opened.read() == PDF
    # No email to the consumer before the agent is confirmed: nobody can make us write to a stranger.
    assert _sent_to(CONSUMER_EMAIL) == []
    assert len(_sent_to(AGENT_EMAIL)) == 1
    assert "/agent/confirm/" in _sent_to(AGENT_EMAIL)[0].body
    event = AuditEvent.objects.get(request=request, action=AuditAction.AGENT_FILED)
    assert event.data == {
        "right": "access",
        "channel": "web",
        "status": "pending_verification",
        "document_kind": "permission",
        "business": True,
    }


def test_the_agents_link_page_confirms_only_on_the_button_and_then_the_consumer_is_asked_in_their_language(
    portal, filed, commit
):
    result = filed(consumer_language="da", kind="delete")
    url = reverse("dsr:agent_confirm", kwargs={"token": result.token})
    page = portal.get(url)
    assert page.status_code == 200
    assert "Confirm your email address" in page.content.decode()
    assert AgentFiling.objects.get().agent_confirmed_at is None  # a mail scanner's GET confirms nothing
    done = commit(portal.post, url)
    assert done.status_code == 200
    assert "Your email address is confirmed." in done.content.decode()
    request = Request.objects.get()
    assert request.status == Status.AWAITING_APPROVAL
    asked = _sent_to(CONSUMER_EMAIL)
    assert len(asked) == 1
    assert "Pat Agent" in asked[0].body
    assert "befuldmægtiget" in asked[0].body
    assert "Right to delete" in asked[0].body or "Ret til sletning" in asked[0].body
    assert "/agent/permission/" in asked[0].body
    assert _actions(request)[-1] == AuditAction.AGENT_CONFIRMED


def test_the_consumer_confirms_then_staff_accept_and_the_work_starts_with_the_receipt_to_the_consumer(
    portal, filed, commit, agent
):
    result = filed()
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    consumer = Client(HTTP_ACCEPT_LANGUAGE="en")
    confirmed = commit(consumer.post, reverse("dsr:agent_consumer_confirm", kwargs={"token": _consumer_token()}))
    assert confirmed.status_code == 200
    assert "You have confirmed that you gave the agent permission." in (confirmed.content.decode())
    request = Request.objects.get()
    assert request.status == Status.AWAITING_APPROVAL  # the team has not checked the proof yet
    assert (request.identity_level, request.verification_method) == (IdentityLevel.EMAIL, VerificationMethod.EMAIL_LINK)
    # The consumer follows their own request from their status page.
    assert consumer.get(reverse("dsr:status", kwargs={"reference": request.reference})).status_code == 200
    mail.outbox.clear()
    commit(workflow.agent_filing_accept, request=request, actor=Actor.staff(agent))
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert [m.subject for m in _sent_to(CONSUMER_EMAIL) if "receiv" in m.subject.lower()]
    notice = _sent_to(AGENT_EMAIL)[-1]
    assert "accepted your proof of authority" in notice.body
    # The agent's notice carries nothing of the consumer's.
    assert CONSUMER_EMAIL not in notice.body
    assert "Ana Lopez" not in notice.body
    assert _actions(request)[-3:].count(AuditAction.AGENT_ACCEPTED) == 1
    consumer_event = AuditEvent.objects.get(request=request, action=AuditAction.AGENT_CONSUMER_CONFIRMED)
    assert consumer_event.data == {"status": "awaiting_approval", "decision": "pending"}


def test_accepted_before_the_consumer_confirms_the_request_waits_for_the_consumer(portal, filed, commit, agent):
    result = filed()
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    request = Request.objects.get()
    commit(workflow.agent_filing_accept, request=request, actor=Actor.staff(agent))
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL
    assert "once the consumer has confirmed" in _sent_to(AGENT_EMAIL)[-1].body
    commit(
        Client(HTTP_ACCEPT_LANGUAGE="en").post,
        reverse("dsr:agent_consumer_confirm", kwargs={"token": _consumer_token()}),
    )
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS


def test_a_power_of_attorney_asks_no_consumer_confirmation_and_starts_when_staff_accept(portal, filed, commit, agent):
    result = filed(power_of_attorney=True)
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    assert _sent_to(CONSUMER_EMAIL) == []
    filing = AgentFiling.objects.get()
    assert filing.consumer_token_hash is None
    assert filing.consumer_asked_at is None
    request = Request.objects.get()
    commit(workflow.agent_filing_accept, request=request, actor=Actor.staff(agent))
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert request.verification_method == VerificationMethod.STAFF_CHECK
    # The answer is the consumer's: the receipt goes to them.
    assert len(_sent_to(CONSUMER_EMAIL)) == 1


def test_staff_refuse_without_proof_and_both_the_consumer_and_the_agent_are_told_why(portal, filed, commit, agent):
    result = filed()
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    request = Request.objects.get()
    client = verified_client(agent)
    page = client.get(reverse("staff_request", args=[request.pk])).content.decode()
    assert 'data-testid="agent-filing"' in page
    assert "Pat Agent" in page
    assert AGENT_EMAIL in page
    assert 'data-action="agent_refuse"' in page
    assert 'data-action="agent_accept"' in page
    seen = re.search(r'name="agent_refuse-seen" value="([^"]+)"', page).group(1)
    reasons = "The permission you sent is not signed by the consumer."
    mail.outbox.clear()
    response = commit(
        client.post,
        reverse("staff_request_action", args=[request.pk, "agent_refuse"]),
        {"agent_refuse-seen": seen, "agent_refuse-reasons": reasons},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.refusal_ground) == (Status.REFUSED, "agent_not_authorised")
    assert AgentFiling.objects.get().decision == AgentDecision.REFUSED
    to_consumer = _sent_to(CONSUMER_EMAIL)
    assert len(to_consumer) == 1
    assert reasons in to_consumer[0].body
    to_agent = _sent_to(AGENT_EMAIL)
    assert len(to_agent) == 1
    assert reasons in to_agent[0].body
    assert "§ 7063(b)" in to_agent[0].body
    assert CONSUMER_EMAIL not in to_agent[0].body
    refused = AuditEvent.objects.get(request=request, action=AuditAction.AGENT_REFUSED)
    assert refused.data == {"document_kind": "permission", "consumer_confirmed": False}


def test_a_refusal_needs_reasons_and_changes_nothing_without_them(portal, filed, commit, agent):
    result = filed()
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    request = Request.objects.get()
    with pytest.raises(workflow.RequestInvalid):
        workflow.agent_filing_refuse(request=request, reasons="  ", actor=Actor.staff(agent))
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL
    assert AgentFiling.objects.get().decision == AgentDecision.PENDING


def test_staff_cannot_decide_before_the_agent_confirmed_or_twice(portal, filed, commit, agent):
    result = filed()
    request = Request.objects.get()
    with pytest.raises(workflow.TransitionError):
        workflow.agent_filing_accept(request=request, actor=Actor.staff(agent))
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    commit(workflow.agent_filing_accept, request=request, actor=Actor.staff(agent))
    with pytest.raises(workflow.TransitionError):
        workflow.agent_filing_refuse(request=request, reasons="Second thoughts.", actor=Actor.staff(agent))


def test_staff_open_the_proof_and_the_opening_is_audited(portal, filed, commit, agent):
    filed()
    request = Request.objects.get()
    response = verified_client(agent).get(reverse("staff_agent_document", args=[request.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    assert AuditAction.AGENT_DOCUMENT_OPENED in _actions(request)


def test_the_queue_does_not_say_the_clock_stopped_for_a_californian_agent_filing(filed):
    filed()
    request = Request.objects.get()
    row = queue_row(request, today=timezone.localdate())
    assert row.urgency != "stopped"
    assert row.days_left == 44  # 45 days, the day of receipt counted (§ 7021(b))


# --- Errors ---------------------------------------------------------------------------------


def test_the_agent_page_is_not_found_where_no_law_served_provides_for_agents(portal):
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    document["controller"]["jurisdictions"] = ["dk"]
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")
    assert portal.get(reverse("dsr:agent_form")).status_code == 404
    assert 'href="/agent/"' not in portal.get(reverse("dsr:start")).content.decode()


def test_the_service_refuses_a_law_without_agents_and_stores_nothing(filed):
    with pytest.raises(workflow.RequestInvalid) as caught:
        filed(jurisdiction="dk")
    assert "jurisdiction" in caught.value.message_dict
    assert not Request.objects.exists()
    assert not AgentFiling.objects.exists()
    assert mail.outbox == []


def test_a_filing_without_a_document_is_refused_with_a_clear_error(portal, commit):
    response = commit(portal.post, reverse("dsr:agent_form"), _fields(portal, document=None))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Request.objects.exists()
    with pytest.raises(workflow.RequestInvalid) as caught:
        workflow.agent_filing_submit(
            agent_name="Pat",
            agent_email=AGENT_EMAIL,
            consumer_name="Ana",
            consumer_email=CONSUMER_EMAIL,
            kind="know",
            document=None,
            actor=Actor.subject(),
        )
    assert caught.value.message_dict["document"] == ["Add the signed permission or the power of attorney."]


def test_a_document_too_large_is_refused_and_nothing_is_stored(portal, commit, monkeypatch):
    monkeypatch.setattr(agent_services, "AGENT_DOCUMENT_BYTES_LIMIT", 20)
    response = commit(portal.post, reverse("dsr:agent_form"), _fields(portal))
    assert response.status_code == 400
    assert "permission.pdf is larger than" in response.content.decode()
    assert not Request.objects.exists()
    assert mail.outbox == []


def test_a_document_of_the_wrong_type_is_refused_by_its_content(portal, commit):
    disguised = SimpleUploadedFile("permission.pdf", b"MZ\x90\x00\x03\x00\x00\x00 an executable")
    response = commit(portal.post, reverse("dsr:agent_form"), _fields(portal, document=disguised))
    assert response.status_code == 400
    assert "is not a PDF, JPG or PNG file" in response.content.decode()
    text = SimpleUploadedFile("permission.txt", b"I, Ana, permit Pat.")
    response = commit(portal.post, reverse("dsr:agent_form"), _fields(portal, document=text))
    assert response.status_code == 400
    assert not Request.objects.exists()


def test_a_business_agent_must_give_its_entity_number(portal, commit):
    response = commit(portal.post, reverse("dsr:agent_form"), _fields(portal, business="on", entity_name="LLC"))
    assert response.status_code == 400
    assert "Secretary of State entity number" in response.content.decode()
    assert not Request.objects.exists()


def test_an_expired_agent_link_confirms_nothing(portal, filed, commit, settings):
    result = filed()
    url = reverse("dsr:agent_confirm", kwargs={"token": result.token})
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.DSR_VERIFICATION_TTL_MINUTES + 1)):
        response = commit(portal.post, url)
    assert response.status_code == 400
    assert "This link has expired." in response.content.decode()
    assert Request.objects.get().status == Status.PENDING_VERIFICATION
    assert _sent_to(CONSUMER_EMAIL) == []


def test_an_expired_or_used_consumer_link_confirms_nothing(portal, filed, commit, settings):
    result = filed()
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    url = reverse("dsr:agent_consumer_confirm", kwargs={"token": _consumer_token()})
    with time_machine.travel(timezone.now() + timedelta(days=settings.DSR_UNVERIFIED_EXPIRY_DAYS, minutes=1)):
        expired = commit(Client(HTTP_ACCEPT_LANGUAGE="en").post, url)
    assert expired.status_code == 400
    assert "This link has expired." in expired.content.decode()
    assert AgentFiling.objects.get().consumer_confirmed_at is None
    assert commit(Client(HTTP_ACCEPT_LANGUAGE="en").post, url).status_code == 200
    again = commit(Client(HTTP_ACCEPT_LANGUAGE="en").post, url)
    assert again.status_code == 400
    assert "already been confirmed" in again.content.decode()
    assert (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .get(reverse("dsr:agent_consumer_confirm", kwargs={"token": "not-a-token"}))
        .status_code
        == 400
    )


def test_an_agent_who_never_confirms_expires_without_a_word_to_the_consumer(filed, commit, settings):
    filed()
    later = timezone.now() + timedelta(days=settings.DSR_UNVERIFIED_EXPIRY_DAYS + 1)
    assert commit(workflow.requests_expire_unverified, now=later) == 1
    assert Request.objects.get().status == Status.EXPIRED
    assert _sent_to(CONSUMER_EMAIL) == []
    assert "closed because your email address was not confirmed" in _sent_to(AGENT_EMAIL)[-1].body


def test_the_api_refuses_agent_fields_and_names_the_portal_page():
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/requests/",
        {"right": "access", "email": CONSUMER_EMAIL, "jurisdiction": "us-ca", "agent_name": "Pat Agent"},
        format="json",
    )
    assert response.status_code == 400
    assert "/agent/" in response.content.decode()
    assert not Request.objects.exists()


def test_the_purge_forgets_the_agent_and_deletes_the_proof(portal, filed, commit, agent, settings):
    result = filed()
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    request = Request.objects.get()
    commit(workflow.agent_filing_refuse, request=request, reasons="No signature on the form.", actor=Actor.staff(agent))
    filing = AgentFiling.objects.get()
    stored = Path(settings.STORAGES["bundles"]["OPTIONS"]["location"]) / filing.document.name
    assert stored.exists()
    commit(workflow.request_purge, request=Request.objects.get(), actor=Actor.system())
    filing.refresh_from_db()
    assert (filing.sealed_agent, filing.document_name, filing.refusal_reasons, filing.document.name) == ("", "", "", "")
    assert not stored.exists()


def test_a_consumer_who_gave_no_permission_says_so_and_the_request_is_refused_and_both_are_told(portal, filed, commit):
    result = filed(consumer_language="da")
    commit(portal.post, reverse("dsr:agent_confirm", kwargs={"token": result.token}))
    url = reverse("dsr:agent_consumer_confirm", kwargs={"token": _consumer_token()})
    consumer = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = consumer.get(url).content.decode()
    assert 'name="action" value="deny"' in page
    mail.outbox.clear()
    response = commit(consumer.post, url, {"action": "deny"})
    assert response.status_code == 200
    assert "We have refused the request the agent sent in your name." in response.content.decode()
    request = Request.objects.get()
    assert (request.status, request.refusal_ground) == (Status.REFUSED, "agent_not_authorised")
    assert request.identity_level == IdentityLevel.NONE  # a refusal confirms nothing about the consumer
    filing = AgentFiling.objects.get()
    assert filing.consumer_denied_at is not None
    assert filing.consumer_confirmed_at is None
    assert filing.decision == AgentDecision.REFUSED
    # The consumer's letter, in their language, says why; the agent hears it too, and nothing of the consumer's.
    [letter] = _sent_to(CONSUMER_EMAIL)
    assert "ikke har givet Pat Agent tilladelse" in letter.body
    [notice] = _sent_to(AGENT_EMAIL)
    assert "the consumer told us directly that they did not give you permission" in notice.body
    assert CONSUMER_EMAIL not in notice.body
    assert "Ana Lopez" not in notice.body
    assert AuditEvent.objects.get(request=request, action=AuditAction.AGENT_CONSUMER_DENIED).data == {
        "status": "awaiting_approval",
        "document_kind": "permission",
    }
    # The link is spent: neither answer can follow.
    assert commit(consumer.post, url).status_code == 400


def test_the_form_posted_twice_files_one_request_and_sends_one_link(portal, commit):
    fields = _fields(portal)
    commit(portal.post, reverse("dsr:agent_form"), fields)
    fields["document"] = SimpleUploadedFile("permission.pdf", PDF)
    assert commit(portal.post, reverse("dsr:agent_form"), fields).status_code == 200
    assert Request.objects.count() == 1
    assert len(_sent_to(AGENT_EMAIL)) == 1


def test_an_identity_check_cannot_start_an_agents_filing_around_the_proof(filed, agent):
    filed()
    request = Request.objects.get()
    with pytest.raises(workflow.TransitionError):
        workflow.request_identity_check(request=request, method="staff_check", actor=Actor.staff(agent))
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION
