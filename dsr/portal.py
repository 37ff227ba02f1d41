"""Reads for the public status page: the steps done and to come, and the progress in plain words."""

import hmac
from dataclasses import dataclass
from datetime import date, datetime

from django.template import Context, engines
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, gettext_noop, ngettext
from django.utils.translation import gettext as _

from dsr.engine.connectors import datamap_current
from dsr.exports.delivery import link_current, link_problem
from dsr.models import (
    CLOSED_STATUSES,
    Fee,
    IdentityLevel,
    Job,
    JobStatus,
    Operation,
    Plan,
    PlanStage,
    Request,
    Right,
    Status,
    SubjectAnswer,
    Suspension,
    SuspensionReason,
)
from dsr.rights.outcome import outcome_of, outcome_view
from dsr.selectors import Deadline, request_deadline, request_right_label
from dsr.workflow import fee_awaited, question_open

DONE, CURRENT, WAITING, UPCOMING = "done", "current", "waiting", "upcoming"
# The privacy team's internal states are all "we are working on it" to the requester.
IN_WORK_STATUSES = (Status.IN_PROGRESS, Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION)
# How often an open status page asks for news (htmx); closed requests are not polled.
STATUS_POLL_SECONDS = 15


@dataclass(frozen=True)
class Step:
    title: str
    state: str  # done | current | waiting (on the requester) | upcoming
    detail: str = ""
    on: date | datetime | None = None  # datetimes are shown in the controller's time zone


@dataclass(frozen=True)
class Download:
    """The requester's export as the status page offers it: the button's URL and what the link still allows."""

    url: str
    expires_on: date
    downloads_left: int
    # Why the current link no longer works (dsr.exports.delivery: expired, used_up, replaced, purged), or "".
    problem: str = ""
    new_link_url: str = ""


@dataclass(frozen=True)
class StatusView:
    request: Request
    deadline: Deadline
    steps: list[Step]
    progress: str
    public_status: str
    download: Download | None
    is_open: bool
    # What the sources reported doing, as the closing letter says it (dsr.rights.outcome), or "".
    result: str = ""
    # The fee the request waits for (GDPR Art. 12(5)(a), 15(3)), and its amount as the page says it.
    fee: Fee | None = None
    fee_amount: str = ""
    # The identity question or clarification the request waits for (what staff wrote to the person), and the
    # answer to it once received; the status page offers a form while there is a question and no answer.
    question: Suspension | None = None
    answer: SubjectAnswer | None = None
    # The latest answer the person sent, for "we received your answer on ...".
    last_answer: SubjectAnswer | None = None
    # The right as the request's law names it (CCPA: "Right to limit the use of sensitive personal information").
    right_label: str = ""


_WORK = {
    Right.ACCESS: gettext_noop(
        "We are collecting a copy of your data from every system that holds it, with the information Art. 15 "
        "gives you: purposes, recipients, how long we keep it and where it came from."
    ),
    Right.PORTABILITY: gettext_noop(
        "We are collecting the data you gave us and the data your use of our service produced, in formats a "
        "machine can read (JSON and CSV)."
    ),
    Right.ERASURE: gettext_noop(
        "We are working out what can be erased in each system, and what the law requires us to keep and for how "
        "long. Then we erase and tell those we shared your data with."
    ),
    Right.RECTIFICATION: gettext_noop("We are checking your corrections and updating each system that holds the data."),
    Right.RESTRICTION: gettext_noop(
        "We are marking your data as restricted in each system: kept, but not otherwise used."
    ),
    Right.OBJECTION: gettext_noop(
        "We are stopping the processing you objected to, or weighing it as Art. 21(1) requires."
    ),
    Right.CONSENT_WITHDRAWAL: gettext_noop(
        "We are recording the withdrawal of your consent in each system that uses it."
    ),
}


# What each stage of the work means to the requester; internal trouble is not their business.
_STAGE = {
    PlanStage.RESOLVING: gettext_noop("We are finding you in our systems."),
    PlanStage.PLANNING: gettext_noop("We are working out what can be erased and what the law requires us to keep."),
    PlanStage.AWAITING_APPROVAL: gettext_noop("Our privacy team is checking the plan before anything is erased."),
    PlanStage.AWAITING_DECISION: gettext_noop(
        "Our privacy team is weighing your grounds against ours, as Art. 21(1) requires."
    ),
    PlanStage.RUNNING: gettext_noop("We are carrying out your request in our systems."),
    PlanStage.NOTIFYING: gettext_noop("We are telling those we shared your data with (Art. 19)."),
    PlanStage.COLLECTED: gettext_noop("We have collected your data and are preparing your copy."),
    PlanStage.DONE: gettext_noop("The work in our systems is done; we are preparing our answer."),
    PlanStage.NEEDS_ATTENTION: gettext_noop("Our privacy team is handling part of your request by hand."),
    PlanStage.UNMAPPED: gettext_noop("Our privacy team is handling your request by hand."),
}


def request_work_progress(request: Request) -> str:
    """Return how far the work in the systems has come, in plain words, or "" before it has started."""
    plan = Plan.objects.filter(request=request).only("stage").first()
    if plan is None or plan.stage not in _STAGE:
        return ""
    text = _(_STAGE[plan.stage])
    jobs = Job.objects.filter(request=request).exclude(operation=Operation.RESOLVE)
    total = jobs.exclude(status=JobStatus.CANCELLED).count()
    if plan.stage == PlanStage.RUNNING and total:
        done = jobs.filter(status=JobStatus.DONE).count()
        text += " " + ngettext(
            "%(done)d of %(total)d system is done.", "%(done)d of %(total)d systems are done.", total
        ) % {"done": done, "total": total}
    return text


def _work_text(right: str) -> str:
    return _(_WORK[right])


def request_steps(request: Request, deadline: Deadline) -> list[Step]:
    """Return the steps of the request in order, each done, current, waiting on the requester, or upcoming."""
    steps = [Step(_("We received your request"), DONE, on=deadline.received)]

    if request.status == Status.PENDING_VERIFICATION:
        steps.append(Step(_("Confirm your email address"), WAITING, _("Use the code or the link we emailed you.")))
    elif request.status == Status.EXPIRED:
        steps.append(Step(_("Email address not confirmed"), DONE, _("Not confirmed in time: the request expired.")))
    elif request.verified_at:
        steps.append(Step(_("Email address confirmed"), DONE, on=request.verified_at))

    if request.identity_required > IdentityLevel.EMAIL and request.status not in CLOSED_STATUSES:
        if request.identity_level >= request.identity_required:
            steps.append(Step(_("Identity checked"), DONE))
        else:
            steps.append(Step(_("Confirm your identity"), WAITING, _("We have written to you about what we need.")))

    if request.status == Status.AWAITING_SUBJECT and deadline.stopped_reason == SuspensionReason.FEE:
        fee = fee_awaited(request)
        if fee is not None:
            steps.append(
                Step(
                    _("Pay the fee"),
                    WAITING,
                    _("We are waiting for your payment of %(amount)s. We have emailed you how to pay.")
                    % {"amount": fee_amount_text(fee)},
                    on=deadline.stopped_since,
                )
            )
    elif request.status == Status.AWAITING_SUBJECT and deadline.stopped_reason and _answer_open(request):
        steps.append(
            Step(
                _("We received your answer"),
                CURRENT,
                _("We are checking it and will go on with your request, or write to you if we need more."),
                on=_answer_open(request).received_at,
            )
        )
    elif request.status == Status.AWAITING_SUBJECT and deadline.stopped_reason:
        reason = (
            _("We are waiting for you to confirm your identity.")
            if deadline.stopped_reason == SuspensionReason.IDENTITY
            else _("We are waiting for you to clarify your request.")
        )
        steps.append(Step(_("We need more from you"), WAITING, reason, on=deadline.stopped_since))

    in_work = request.status in IN_WORK_STATUSES
    if request.status in CLOSED_STATUSES and request.status != Status.EXPIRED:
        steps.append(Step(_("We worked on your request"), DONE))
        steps.append(Step(_outcome_title(request.status), DONE, on=request.closed_at))
    elif request.status != Status.EXPIRED:
        detail = _work_text(request.right)
        if in_work:
            detail = " ".join(filter(None, [detail, request_work_progress(request)]))
        steps.append(Step(_("We work on your request"), CURRENT if in_work else UPCOMING, detail))
        steps.append(Step(_("You receive our answer"), UPCOMING, on=deadline.effective_due))
    return steps


def _outcome_title(status: str) -> str:
    return {
        Status.COMPLETED: _("Completed"),
        Status.PARTIALLY_COMPLETED: _("Partially completed"),
        Status.REFUSED: _("Refused"),
        Status.CANCELLED: _("Cancelled"),
    }[status]


def request_progress(request: Request, deadline: Deadline) -> str:
    """Return one sentence saying where the request stands, in plain words."""
    closed = {
        Status.COMPLETED: _("Your request is complete. We have emailed you the answer."),
        Status.PARTIALLY_COMPLETED: _("Your request is partly complete. We have emailed you what we did and why."),
        Status.REFUSED: _("We could not grant your request. We have emailed you the reasons and your options."),
        Status.CANCELLED: _("The request was cancelled."),
        Status.EXPIRED: _("The request was not confirmed in time and has expired. You are welcome to send a new one."),
    }
    if not deadline.jurisdiction.clock_stops and request.status in (
        Status.PENDING_VERIFICATION,
        Status.AWAITING_SUBJECT,
    ):
        # CCPA regs § 7021(b), LGPD Art. 19: the time limit runs from receipt whatever we wait for.
        if request.status == Status.PENDING_VERIFICATION:
            return _(
                "Please confirm your email address. We have not started yet; the time limit for our answer runs "
                "from the day we received your request."
            )
        return _("We are waiting for an answer from you. The time limit for our answer keeps running meanwhile.")
    if request.status == Status.PENDING_VERIFICATION:
        return _("Please confirm your email address. Until then the time limit is paused and we have not started.")
    if request.status == Status.AWAITING_SUBJECT and deadline.stopped_reason == SuspensionReason.FEE:
        fee = fee_awaited(request)
        if fee is not None:
            return _(
                "We are waiting for your payment of %(amount)s. The time limit is paused, and we do not carry "
                "out your request, until we receive it."
            ) % {"amount": fee_amount_text(fee)}
    if request.status == Status.AWAITING_SUBJECT and _answer_open(request):
        return _(
            "We have received your answer and are checking it. The time limit stays paused until we have "
            "confirmed your identity."
        )
    if request.status == Status.AWAITING_SUBJECT:
        return _("We are waiting for an answer from you. The time limit is paused until we hear from you.")
    if request.status in closed:
        return closed[request.status]
    # In progress, whatever the privacy team's internal state (approval, a failed job).
    return _("We are working on your request and will answer by %(due)s at the latest.") % {
        "due": date_format(deadline.effective_due, "DATE_FORMAT")
    }


def fee_amount_text(fee: Fee) -> str:
    """Return the fee's amount as the page's language writes money, e.g. "DKK 1.250,00" in Danish."""
    return f"{fee.currency} {number_format(fee.amount, decimal_pos=2, use_l10n=True, force_grouping=True)}"


def _answer_open(request: Request) -> SubjectAnswer | None:
    """Return the answer to the question the request still waits on (an identity answer staff have not checked)."""
    if request.status != Status.AWAITING_SUBJECT:
        return None
    return SubjectAnswer.objects.filter(request=request, suspension__ended_at__isnull=True).first()


def request_public_status(request: Request) -> str:
    """Return the status as the requester should see it; internal states read as "in progress"."""
    if request.status in IN_WORK_STATUSES:
        return _("In progress")
    if request.status == Status.AWAITING_SUBJECT and _answer_open(request):
        return _("Checking your answer")
    if request.status == Status.AWAITING_SUBJECT:
        return _("Waiting for you")
    return request.get_status_display()


def request_download(request: Request) -> Download | None:
    """Return the requester's download once an export has been released to them, else None."""
    link = link_current(request)
    if link is None:
        return None
    return Download(
        url=reverse("dsr:status_download", kwargs={"reference": request.reference}),
        expires_on=timezone.localdate(link.expires_at),
        downloads_left=link.downloads_left,
        problem=link_problem(link) or "",
        new_link_url=reverse("dsr:status_download_new_link", kwargs={"reference": request.reference}),
    )


def request_result(request: Request) -> str:
    """Return what the sources reported doing for a closed request, in the page's language, or ""."""
    if request.status not in (Status.COMPLETED, Status.PARTIALLY_COMPLETED):
        return ""
    outcome = outcome_of(request)
    if outcome is None:
        return ""
    language = "da" if (get_language() or "da").startswith("da") else "en"
    view = outcome_view(outcome, language=language, datamap=datamap_current(), request=request)
    # Plain text (the page escapes it once, as it escapes everything it shows).
    template = engines["django"].engine.get_template(f"dsr/emails/_outcome.{language}.txt")
    return template.render(Context({"request": request, "outcome": view}, autoescape=False)).strip()


def status_view(request: Request, *, today: date | None = None) -> StatusView:
    """Return everything the status page shows about the request."""
    deadline = request_deadline(request, today=today)
    fee = fee_awaited(request) if request.status == Status.AWAITING_SUBJECT else None
    return StatusView(
        request=request,
        deadline=deadline,
        steps=request_steps(request, deadline),
        progress=request_progress(request, deadline),
        public_status=request_public_status(request),
        download=request_download(request),
        is_open=request.status not in CLOSED_STATUSES,
        result=request_result(request),
        fee=fee,
        fee_amount=fee_amount_text(fee) if fee is not None else "",
        question=question_open(request),
        answer=_answer_open(request),
        last_answer=SubjectAnswer.objects.filter(request=request).order_by("-received_at", "-id").first(),
        right_label=request_right_label(request),
    )


def request_by_reference(reference: str) -> Request | None:
    """Return the request with this public reference, or None."""
    reference = (reference or "").strip().upper()
    if not reference or len(reference) > 32:
        return None
    return Request.objects.filter(reference=reference).first()


def request_by_reference_and_email(reference: str, email: str) -> Request | None:
    """Return the request only if both its reference and its email address match."""
    found = request_by_reference(reference)
    if found is None or not hmac.compare_digest(found.email.strip().lower(), (email or "").strip().lower()):
        return None
    return found
