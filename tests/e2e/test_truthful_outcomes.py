"""What dsr tells people and recipients is what the sources did, with a real worker on a company that is not the shop.

The company is Pedalen, a bike subscription (tests/e2e/truth_company.py): its
own member system on SQLite, a smart-lock partner speaking OpenGDPR on a
local port, and a workshop log kept by hand. Each test files requests as the
members' app or the public portal would, lets the real worker do the work,
plays the privacy team and the workshop manager where people act, and reads
what the worker actually sent: emails, attached letters, bundles, and the
member system itself.
"""

import html
import itertools
import re
from email.message import EmailMessage

import pytest
from rest_framework.test import APIClient

from dsr import tasks
from dsr.audit import Actor
from dsr.engine.manual import manual_task_complete
from dsr.models import (
    AuditAction,
    ManualTask,
    ManualTaskStatus,
    Message,
    MessageStatus,
    RecipientNotification,
    Request,
    Status,
)
from dsr.restrictions import restriction_check
from dsr.rights.base import request_plan_approve
from dsr.workflow import request_submit
from tests.e2e.test_worker_jobs import engine_env  # noqa: F401  (the fixture, reused)
from tests.e2e.truth_company import (
    CARD_ACQUIRER,
    COURIER,
    INVOICE_PROVIDER,
    JONAS,
    KARIN,
    LOCK_PARTNER,
    MAILER,
    META,
    METTE,
    RECIPIENT_ADDRESSES,
    SOFIE_EMAIL,
    Company,
    company_load,
)
from tests.exports.helpers import bundle_read
from tests.pdf import pdf_words
from tests.sources.http.processor import Processor, processor  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.e2e

ERASURE_POSTS = ("POST", "/opengdpr/opengdpr_requests")
CLOSED = (Status.COMPLETED, Status.PARTIALLY_COMPLETED, Status.REFUSED)


@pytest.fixture
def worker(engine_env, celery_worker_process):
    """Return the real worker, started with short leases, polls and backoffs."""
    return celery_worker_process


@pytest.fixture
def company(worker, tmp_path, processor: Processor) -> Company:
    """Return Pedalen, loaded as the worker's data map."""
    return company_load(tmp_path, processor)


@pytest.fixture
def team(django_user_model) -> Actor:
    """Return a member of the privacy team, who approves plans and does the team's tasks."""
    user = django_user_model.objects.create_user("privacy", email="privacy@pedalen.example", password="x" * 16)
    return Actor.staff(user)


# --- Filing, waiting, and the people who act ----------------------------------------------------------------


def file(right: str, email: str, *, language: str = "en", phone: str = "", customer_number: str = "", **details):
    """File a request as the members' app does for a logged-in member (it vouches for the email)."""
    return request_submit(
        right=right,
        email=email,
        phone=phone,
        customer_number=customer_number,
        actor=Actor.integration("members-app"),
        language=language,
        details=details or None,
        pre_verified=True,
    ).request


def status(request: Request) -> str:
    return Request.objects.values_list("status", flat=True).get(pk=request.pk)


def reach(request: Request, wanted: str, wait_until, timeout: float = 90) -> None:
    """Wait until the request has status ``wanted``, sending the reconciler's "go" now and then, as beat would."""
    polls = itertools.count()

    def reached() -> bool:
        if status(request) == wanted:
            return True
        if next(polls) % 10 == 9:
            tasks.jobs_reconcile.delay()
        return False

    wait_until(reached, timeout=timeout, interval=0.2, what=f"request {wanted}")


def approve(request: Request, team: Actor, wait_until) -> None:
    """Wait for the plan the privacy team reviews, and approve it."""
    reach(request, Status.AWAITING_APPROVAL, wait_until)
    request_plan_approve(request=request, actor=team)


def tasks_complete(request: Request, finding: str, actor: Actor, wait_until, *, source: str | None = None) -> None:
    """Wait for the request's open manual tasks (of ``source``) and complete each with ``finding``."""

    def open_tasks():
        found = ManualTask.objects.filter(request=request, status=ManualTaskStatus.OPEN)
        if source is not None:
            found = found.filter(source_key=source)
        return list(found)

    for task in wait_until(open_tasks, timeout=60, what="the manual task"):
        manual_task_complete(task=task, finding=finding, attestation="Checked the service log by hand", actor=actor)


def messages_all_sent(request: Request, wait_until) -> None:
    """Wait until every message recorded for the request has gone out."""
    wait_until(
        lambda: (
            Message.objects.filter(request=request).exists()
            and not Message.objects.filter(request=request).exclude(status=MessageStatus.SENT).exists()
        ),
        timeout=30,
        what="every message of the request sent",
    )


def sent_to_person(worker, request: Request, kind: str, wait_until) -> EmailMessage:
    """Return the email of ``kind`` (completed, refused) the worker sent the requester."""

    def find():
        message = Message.objects.filter(request=request, kind=kind, status=MessageStatus.SENT).first()
        if message is None:
            return None
        return next(
            (
                m
                for m in worker.outbox()
                if m["To"] == request.email and " ".join(m["Subject"].split()) == message.subject
            ),
            None,
        )

    return wait_until(find, timeout=60, what=f"the {kind} email")


def notices(worker, request: Request, wait_until) -> dict[str, str]:
    """Return the text of each Art. 19 notice the worker emailed about the request, by recipient address."""
    messages_all_sent(request, wait_until)
    return {
        m["To"]: text(m)
        for m in worker.outbox()
        if m["To"] in RECIPIENT_ADDRESSES and request.reference in m["Subject"]
    }


def text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def letter(message: EmailMessage) -> str:
    """Return the text of the PDF letter attached to the email."""
    pdfs = [part.get_content() for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1, f"expected one PDF letter, got {len(pdfs)}"
    return pdf_words(pdfs[0])


def answer(request: Request) -> tuple[str, str]:
    """Return the text of the bundle's overview (index.html) and of its letter (report.pdf), the Art. 15 answer."""
    files = bundle_read(request.bundles.get()).files
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", files["index.html"].decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()), pdf_words(files["report.pdf"])


def erasure_run(request: Request, team: Actor, wait_until, *, workshop: str = "done") -> None:
    """Approve the erasure plan, let the workshop manager say what they found, and wait for the end."""
    approve(request, team, wait_until)
    tasks_complete(request, workshop, team, wait_until, source="workshop")
    reach(request, Status.COMPLETED, wait_until)


# --- 1. Art. 19 notices when nothing was erased --------------------------------------------------------------


def test_a_second_erasure_of_the_same_person_tells_no_recipient_and_says_nothing_was_found(
    worker, company, team, wait_until
):
    first = file("erasure", METTE.email)
    erasure_run(first, team, wait_until)
    assert notices(worker, first, wait_until), "the first erasure changed data that recipients had"
    lock_requests = company.processor.calls.count(ERASURE_POSTS)

    second = file("erasure", METTE.email)
    erasure_run(second, team, wait_until, workshop="nothing_found")

    assert notices(worker, second, wait_until) == {}
    assert not RecipientNotification.objects.filter(request=second).exists()
    assert company.processor.calls.count(ERASURE_POSTS) == lock_requests
    email = sent_to_person(worker, second, "completed", wait_until)
    body = text(email)
    assert "found no personal data about you, so there was nothing to erase" in body
    assert "recipients" not in body
    assert "Asked of those who process data" not in body
    pdf = letter(email)
    assert "found no personal data about you, so there was nothing to erase" in pdf
    assert "Recipients we have told" not in pdf


def test_an_erasure_for_an_email_no_source_holds_tells_no_recipient_and_says_nothing_was_found(
    worker, company, team, wait_until
):
    stranger = "ukendt.person@example.dk"
    api = APIClient(HTTP_ACCEPT_LANGUAGE="da")
    filed = api.post("/api/v1/requests/", {"right": "erasure", "email": stranger, "language": "da"}, format="json")
    assert filed.status_code == 201, filed.content
    reference = filed.json()["reference"]
    code_mail = wait_until(
        lambda: next((m for m in worker.outbox() if m["To"] == stranger), None), timeout=60, what="the code"
    )
    code = re.search(r"\b(\d{6})\b", text(code_mail)).group(1)
    assert api.post(f"/api/v1/requests/{reference}/verify/", {"code": code}, format="json").status_code == 200
    request = Request.objects.get(reference=reference)

    erasure_run(request, team, wait_until, workshop="nothing_found")

    assert notices(worker, request, wait_until) == {}
    assert not RecipientNotification.objects.filter(request=request).exists()
    assert ERASURE_POSTS not in company.processor.calls
    email = sent_to_person(worker, request, "completed", wait_until)
    body = text(email)
    assert "fandt ingen personoplysninger om dig, så der var intet at slette" in body
    assert "modtagere" not in body
    assert "Bedt om hos dem, der behandler oplysninger for os" not in body
    pdf = letter(email)
    assert "fandt ingen personoplysninger om dig, så der var intet at slette" in pdf
    assert "Modtagere, vi har underrettet" not in pdf


# --- 2. Art. 19 notices only to recipients that had the changed data ----------------------------------------


def test_an_erasure_tells_only_the_recipients_that_received_the_erased_data_naming_what_they_hold(
    worker, company, team, wait_until
):
    # Mette gives only her email; dsr finds her member number and phone itself.
    request = file("erasure", METTE.email)
    erasure_run(request, team, wait_until)

    told = notices(worker, request, wait_until)
    # Faktura Finans handles invoice payments; Mette always paid by card.
    assert INVOICE_PROVIDER not in told
    assert set(told) == {CARD_ACQUIRER, COURIER, MAILER, META}
    # The lock partner was sent the erasure itself (OpenGDPR): that request is its notice.
    assert LOCK_PARTNER not in told
    recorded = dict(RecipientNotification.objects.filter(request=request).values_list("recipient_key", "channel"))
    assert recorded == {
        "card_acquirer": "email",
        "courier": "email",
        "mailer": "email",
        "meta": "email",
        "lock_partner": "http",
    }
    # No notice carries an identifier its recipient never received from us.
    card, courier, mailer = told[CARD_ACQUIRER], told[COURIER], told[MAILER]
    assert METTE.email not in card
    assert METTE.phone not in card
    assert METTE.email not in courier
    assert METTE.member_no not in courier
    assert METTE.phone not in mailer
    assert METTE.member_no not in mailer
    assert METTE.member_no not in told[META]
    assert all("Vestergade" not in notice for notice in told.values())
    # Each notice names the person by what that recipient knows them by.
    assert METTE.email in mailer
    assert METTE.email in told[META]
    assert METTE.phone in courier, "the courier is told of the erasure without the phone number it knows her by"
    assert METTE.member_no in card, "the card acquirer is told of the erasure without the member number it holds"


def test_a_corrected_address_is_sent_only_to_the_courier_that_delivers_to_it(worker, company, team, wait_until):
    request = file(
        "rectification",
        METTE.email,
        phone=METTE.phone,
        corrections=[{"field": "address", "correct": "Nørrebrogade 12"}],
    )
    approve(request, team, wait_until)
    tasks_complete(request, "nothing_found", team, wait_until, source="workshop")
    reach(request, Status.COMPLETED, wait_until)

    assert company.rows("SELECT street FROM address WHERE member_id = 1") == [("Nørrebrogade 12",)]
    assert company.rows("SELECT billing_street FROM invoice_payment") == [("Algade 9",)]
    told = notices(worker, request, wait_until)
    assert set(told) == {COURIER}
    courier = told[COURIER]
    assert "Adresse (vej og husnummer): Nørrebrogade 12" in courier
    assert METTE.phone in courier
    assert METTE.email not in courier
    assert set(RecipientNotification.objects.filter(request=request).values_list("recipient_key", flat=True)) == {
        "courier"
    }
    body = text(sent_to_person(worker, request, "completed", wait_until))
    assert 'Address (street and number) ("Nørrebrogade 12"): corrected in The member system' in body
    assert "(Article 19): Cykelbud Danmark ApS." in body


# --- 3. Letters list what happened, and only that ------------------------------------------------------------


def test_an_erasure_letter_lists_what_each_source_did_with_the_processor_and_the_workshop_and_no_empty_table(
    worker, company, team, wait_until
):
    request = file("erasure", METTE.email)
    erasure_run(request, team, wait_until, workshop="done")

    email = sent_to_person(worker, request, "completed", wait_until)
    body, pdf = text(email), letter(email)
    for shown in (body, pdf):
        # Mette is in neither: the mechanics' table and the invoice payments are not hers.
        assert "mechanic" not in shown
        assert "invoice_payment" not in shown
        assert not re.search(r"\(0 |\b0 (Deleted|Anonymised)", shown)
    assert "- The member system: address (1 record)" in body
    assert "- The member system: card_payment (2 records)" in body
    assert "- The member system: member (1 record)" in body
    assert "- The member system: invoice (2 records), Bookkeeping obligation" in body
    assert "- Smart locks and GPS (LåsLogik): they have confirmed it is done" in body
    assert "- The workshop's service log" in body
    assert "Smart locks and GPS (LåsLogik) Confirmed done" in pdf
    assert "has confirmed erasing your data: The workshop's service log." in pdf
    assert "The member system: invoice 2 Bookkeeping obligation, Danish Bookkeeping Act (Bogføringsloven) § 10" in pdf
    assert "31 December 2030" in pdf
    # The member system did what the letter says.
    assert company.rows("SELECT count(*) FROM address WHERE member_id = 1") == [(0,)]
    assert company.rows("SELECT count(*) FROM card_payment WHERE member_id = 1") == [(0,)]
    assert company.rows("SELECT count(*) FROM invoice WHERE member_id = 1") == [(2,)]
    assert company.rows("SELECT count(*) FROM member WHERE email = ?", METTE.email) == [(0,)]
    assert company.rows("SELECT email FROM member WHERE id = 5") == [(KARIN.email,)]
    assert METTE.member_no not in company.processor.audience
    assert JONAS.member_no in company.processor.audience


# --- 4. "Corrected" only where something was corrected -------------------------------------------------------


def test_a_danish_rectification_naming_fields_in_danish_corrects_them_and_claims_nothing_that_did_not_happen(
    worker, company, team, wait_until
):
    request = file(
        "rectification",
        JONAS.email,
        language="da",
        corrections=[
            {"field": "Efternavn", "correct": "Holm-Nielsen"},
            {"field": "Telefonnummer", "correct": JONAS.phone},
            {"field": "Rammestørrelse", "correct": "58 cm"},
        ],
    )
    approve(request, team, wait_until)
    # The frame size is in no source: the privacy team gets it as a task, and corrects it in the fleet sheet.
    team_task = wait_until(
        lambda: ManualTask.objects.filter(request=request, source_key="", status=ManualTaskStatus.OPEN).first(),
        timeout=60,
        what="the privacy team's task",
    )
    assert "Rammestørrelse: 58 cm" in team_task.instructions
    assert "Efternavn" not in team_task.instructions
    manual_task_complete(task=team_task, finding="done", attestation="Rettet i flådearket", actor=team)
    tasks_complete(request, "nothing_found", team, wait_until, source="workshop")
    reach(request, Status.COMPLETED, wait_until)

    assert company.rows("SELECT last_name, phone FROM member WHERE id = 2") == [("Holm-Nielsen", JONAS.phone)]
    body = text(sent_to_person(worker, request, "completed", wait_until))
    assert 'Efternavn ("Holm-Nielsen"): rettet i Medlemssystemet' in body
    assert f'Telefonnummer ("{JONAS.phone}"): var allerede rigtigt i Medlemssystemet, så intet skulle ændres' in body
    assert 'Rammestørrelse ("58 cm"): rettet i hånden' in body
    assert not re.search(r"Telefonnummer[^\n]*rettet i", body)
    # A surname is data no recipient received from the member table: nobody is told.
    assert notices(worker, request, wait_until) == {}
    assert "modtagere" not in body


# --- 5. Portability with nothing portable ---------------------------------------------------------------------


def test_a_portability_request_with_only_legitimate_interest_data_is_refused_with_a_pointer_to_access(
    worker, company, wait_until
):
    # Sofie only tried the app: her events are kept on legitimate interests (Art. 6(1)(f)), not consent or contract.
    request = file("portability", SOFIE_EMAIL)
    wait_until(lambda: status(request) in CLOSED, timeout=90, what="the answer")

    request.refresh_from_db()
    assert not request.bundles.exists(), "Sofie was sent a bundle of data that portability does not cover"
    assert request.status == Status.REFUSED
    assert request.refusal_ground == "not_covered"
    email = sent_to_person(worker, request, "refused", wait_until)
    body = text(email)
    assert "GDPR Art. 20(1)" in body
    assert "right of access (GDPR Art. 15)" in body
    assert "/request/access/" in body
    assert "right of access" in letter(email)
    assert not Message.objects.filter(request=request, kind="completed").exists()


# --- 6. The Art. 15 answer is about this person ---------------------------------------------------------------


def test_the_access_answer_names_the_purposes_recipients_and_transfers_of_each_person_alone(
    worker, company, team, wait_until
):
    mette = file("access", METTE.email)
    jonas = file("access", JONAS.email)
    tasks_complete(mette, "done", team, wait_until, source="workshop")
    tasks_complete(jonas, "nothing_found", team, wait_until, source="workshop")
    reach(mette, Status.COMPLETED, wait_until)
    reach(jonas, Status.COMPLETED, wait_until)

    mette_answer, mette_letter = answer(mette)
    jonas_answer, jonas_letter = answer(jonas)

    # Mette pays by card, reads the newsletter and allowed ride-based offers, which Meta (in the US) serves.
    for named in ("Card payment", "Newsletter", "Offers based on your rides", "Nordisk Kortindløsning A/S"):
        assert named in mette_answer, named
    assert "Nyhedsmail ApS" in mette_answer
    assert "Meta Platforms, Inc. independent controller" in mette_answer
    assert "Adequacy decision (EU-U.S. Data Privacy Framework)" in mette_answer
    assert "not transferred outside the EU/EEA" not in mette_answer
    assert "not transferred outside the EU/EEA" not in mette_letter
    assert "Meta Platforms, Inc. US Adequacy decision (EU-U.S. Data Privacy Framework)" in mette_letter
    for absent in ("Payment by invoice", "Faktura Finans AB"):
        assert absent not in mette_answer, absent

    # Jonas pays by invoice and refused the newsletter: no newsletter, no Meta, no transfer.
    for named in ("Payment by invoice", "Faktura Finans AB", "Cykelbud Danmark ApS"):
        assert named in jonas_answer, named
    for absent in ("Newsletter", "Nyhedsmail ApS", "Offers based on your rides", "Meta", "Nordisk Kortindløsning"):
        assert absent not in jonas_answer, absent
    assert "Your data is not transferred outside the EU/EEA." in jonas_answer
    assert "Your data is not transferred outside the EU/EEA." in jonas_letter
    assert "Newsletter" not in jonas_letter


# --- 7. An objection to profiling for direct marketing is absolute --------------------------------------------


def test_an_objection_to_profiling_for_direct_marketing_stops_it_at_once_without_balancing(worker, company, wait_until):
    request = file("objection", METTE.email, scope="profiling", grounds="I do not want my rides used for adverts.")
    reach(request, Status.COMPLETED, wait_until)

    # GDPR Art. 21(2)-(3): no balancing step, no interim restriction while someone weighs it.
    assert not request.audit_events.filter(action=AuditAction.REQUEST_AWAITING_STAFF).exists()
    assert not request.restrictions.filter(ground="objection_pending").exists()
    assert restriction_check(METTE.email, "ride_offers")
    assert not restriction_check(METTE.email, "newsletter")
    consents = dict(company.rows("SELECT consent_key, granted FROM consent WHERE member_id = 1"))
    assert consents == {"ride_offers": 0, "newsletter": 1}
    body = text(sent_to_person(worker, request, "completed", wait_until))
    assert "We no longer use your data for: Offers based on your rides" in body
    assert "- Offers based on your rides: withdrawn in The member system" in body


# --- 8. A letter speaks one language ---------------------------------------------------------------------------


def test_danish_letters_are_wholly_danish_and_english_letters_use_the_english_names(worker, company, team, wait_until):
    danish = file("erasure", METTE.email, language="da")
    english = file("erasure", JONAS.email, language="en")
    for request in (danish, english):
        approve(request, team, wait_until)
    for request in (danish, english):
        tasks_complete(request, "done", team, wait_until, source="workshop")
    for request in (danish, english):
        reach(request, Status.COMPLETED, wait_until)

    da_email = sent_to_person(worker, danish, "completed", wait_until)
    en_email = sent_to_person(worker, english, "completed", wait_until)
    for shown in (text(da_email), letter(da_email)):
        for danish_text in ("Medlemssystemet", "Bogføringsloven § 10", "Smartlåse og GPS (LåsLogik)", "december 2030"):
            assert danish_text in shown, danish_text
        for english_text in (
            "Danish",
            "Bookkeeping",
            "The member system",
            "Smart locks",
            "workshop",
            "deleted",
            "record",
            "Erased",
            "Kept",
            "until",
            "December",
            "confirmed",
        ):
            assert english_text not in shown, english_text
    for shown in (text(en_email), letter(en_email)):
        for english_text in (
            "The member system",
            "Danish Bookkeeping Act (Bogføringsloven) § 10",
            "Smart locks and GPS",
        ):
            assert english_text in shown, english_text
        for danish_text in ("Medlemssystemet", "Smartlåse", "Værkstedets", "Bogføringspligt", "poster", "indtil"):
            assert danish_text not in shown, danish_text
