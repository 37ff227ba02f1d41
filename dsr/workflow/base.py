"""The transition table and what every service of the request state machine shares.

The status changes only through ``_transition_apply`` (the transition's target); the work in the
sources registers its hooks here (dsr.apps).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dsr import deadlines, emails
from dsr.jurisdictions import Profile, profile_get
from dsr.models import (
    OPEN_STATUSES,
    AgentFiling,
    Fee,
    FeeStatus,
    Request,
    Status,
    Suspension,
)
from dsr.requests import RequestInvalid
from dsr.selectors import request_for_update
from dsr.transactions import request_locked, transaction_note


class TransitionError(Exception):
    """Raised when an action is not allowed in the request's current state; nothing is changed."""


@dataclass(frozen=True)
class Transition:
    name: str
    label: str  # what the action is called in "Cannot <label> request ...", translated
    sources: tuple[str, ...]
    target: str | None  # None: the status does not change


_ALL_OPEN = tuple(OPEN_STATUSES)
# Verified and open: the deadline runs (or stands still, awaiting the subject) and staff may decide.
_WORKING = (Status.IN_PROGRESS, Status.AWAITING_SUBJECT, Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("verify", gettext_lazy("confirm"), (Status.PENDING_VERIFICATION,), Status.IN_PROGRESS),
        # Staff asked for more than the email before it was confirmed: the clock stays stopped.
        Transition(
            "verify_awaiting_identity", gettext_lazy("confirm"), (Status.PENDING_VERIFICATION,), Status.AWAITING_SUBJECT
        ),
        Transition("identity_check", gettext_lazy("record an identity check for"), _ALL_OPEN, None),
        Transition(
            "identity_check_start",
            gettext_lazy("record an identity check for"),
            (Status.PENDING_VERIFICATION, Status.AWAITING_SUBJECT),
            Status.IN_PROGRESS,
        ),
        Transition("suspend", gettext_lazy("stop the clock of"), (Status.IN_PROGRESS,), Status.AWAITING_SUBJECT),
        Transition("resume", gettext_lazy("restart the clock of"), (Status.AWAITING_SUBJECT,), Status.IN_PROGRESS),
        Transition("extend", gettext_lazy("extend"), _WORKING, None),
        # GDPR Art. 12(5)(a), Art. 15(3): a fee stops the clock until it is paid or waived; withdrawing cancels
        # (dsr/workflow/fees.py, docs/decisions/0015-fees.md).
        Transition("fee_request", gettext_lazy("ask a fee for"), (Status.IN_PROGRESS,), Status.AWAITING_SUBJECT),
        Transition("fee_settle", gettext_lazy("settle the fee of"), (Status.AWAITING_SUBJECT,), Status.IN_PROGRESS),
        Transition("refuse", gettext_lazy("refuse"), _WORKING, Status.REFUSED),
        Transition("complete", gettext_lazy("complete"), (Status.IN_PROGRESS,), Status.COMPLETED),
        # Staff may close with the parts not done when a job failed for good (dsr/engine/jobs.py).
        Transition(
            "complete_partially",
            gettext_lazy("partially complete"),
            (Status.IN_PROGRESS, Status.NEEDS_ATTENTION),
            Status.PARTIALLY_COMPLETED,
        ),
        # The work on the sources (dsr/engine/, dsr/rights/, docs/decisions/0008-jobs.md).
        Transition("plan_await", gettext_lazy("ask staff to approve"), (Status.IN_PROGRESS,), Status.AWAITING_APPROVAL),
        Transition(
            "plan_approve", gettext_lazy("approve the plan of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS
        ),
        Transition(
            "objection_decide", gettext_lazy("decide the objection of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS
        ),
        # Access and portability with DSR_BUNDLE_REVIEW: staff release the export (dsr/exports/delivery.py).
        Transition(
            "bundle_review",
            gettext_lazy("hold the export for review of"),
            (Status.IN_PROGRESS,),
            Status.AWAITING_APPROVAL,
        ),
        Transition(
            "bundle_release", gettext_lazy("release the export of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS
        ),
        Transition(
            "job_fail", gettext_lazy("mark as needing attention"), (Status.IN_PROGRESS,), Status.NEEDS_ATTENTION
        ),
        Transition(
            "job_retry", gettext_lazy("retry the failed work of"), (Status.NEEDS_ATTENTION,), Status.IN_PROGRESS
        ),
        # CCPA regs § 7063 (dsr/workflow/agents.py): once the agent confirmed their address the privacy team reviews
        # the proof of authority; the work starts when it is accepted and the consumer confirmed (or a power of
        # attorney, § 7063(c)). Refusing it is the "refuse" transition.
        Transition(
            "agent_review",
            gettext_lazy("send to the privacy team for review"),
            (Status.PENDING_VERIFICATION,),
            Status.AWAITING_APPROVAL,
        ),
        Transition("agent_proceed", gettext_lazy("start the work of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS),
        Transition("cancel", gettext_lazy("cancel"), _ALL_OPEN, Status.CANCELLED),
        Transition("expire", gettext_lazy("expire"), (Status.PENDING_VERIFICATION,), Status.EXPIRED),
        Transition(
            "status_link_reissue",
            gettext_lazy("send a new status link for"),
            (*_ALL_OPEN, Status.COMPLETED, Status.PARTIALLY_COMPLETED, Status.REFUSED),
            None,
        ),
    )
}


def transition_allowed(request: Request, name: str) -> bool:
    """Return whether the transition `name` may happen from the request's current status."""
    return request.status in TRANSITIONS[name].sources


def transition_require(request: Request, name: str) -> Transition:
    """Return the transition ``name``; raise TransitionError if the request's status does not allow it."""
    return _transition_check(request, name)


def _transition_check(request: Request, name: str) -> Transition:
    transition = TRANSITIONS[name]
    if request.status not in transition.sources:
        raise TransitionError(
            _("Cannot %(action)s request %(reference)s: it is %(status)s.")
            % {
                "action": transition.label,
                "reference": request.reference,
                "status": request.get_status_display().lower(),
            }
        )
    return transition


def _transition_apply(request: Request, name: str) -> list[str]:
    """Check the transition and move the request to its target; return the fields to save."""
    transition = _transition_check(request, name)
    if transition.target is None:
        return ["updated_at"]
    request.status = transition.target
    return ["status", "updated_at"]


# The work in the sources lives above this module: it registers how to start a request's work and what to
# do when a request closes (dsr.apps). Each is called in the caller's transaction.
_work_starter: Callable[[Request], None] | None = None
_closing_hook: Callable[[Request], None] | None = None


def work_starter_set(starter: Callable[[Request], None] | None) -> None:
    """Register the function that starts (or resumes) a request's work in the sources after commit."""
    global _work_starter
    _work_starter = starter


def closing_hook_set(hook: Callable[[Request], None] | None) -> None:
    """Register the function a closing request is handed to before its letter is queued (its outcome)."""
    global _closing_hook
    _closing_hook = hook


def _lock(request: Request) -> Request:
    locked = request_for_update(request.pk)
    if locked is None:
        raise Request.DoesNotExist(f"request {request.pk}")
    # The audit events of this transaction need not take the row again (dsr.audit).
    transaction_note(request_locked(request.pk))
    return locked


def _now() -> datetime:
    return timezone.now()


def _today() -> date:
    return deadlines.local_date(_now(), settings.TIME_ZONE)


def _received_date(request: Request) -> date:
    return deadlines.local_date(request.received_at, settings.TIME_ZONE)


def _profile(request: Request) -> Profile:
    """Return the jurisdiction profile the request is answered under."""
    return profile_get(request.jurisdiction)


def _suspension_periods(request: Request) -> list[tuple[date, date | None]]:
    tz = settings.TIME_ZONE
    return [
        (deadlines.local_date(s.started_at, tz), deadlines.local_date(s.ended_at, tz) if s.ended_at else None)
        for s in request.suspensions.all()
    ]


def _deadline_recompute(request: Request) -> list[str]:
    """Set due dates from the closed suspensions; return the changed field names."""
    # GDPR Art. 12(3) with the clock stopped while waiting for the subject (PRODUCT.md, Deadlines).
    periods = [p for p in _suspension_periods(request) if p[1] is not None]
    request.suspended_days = deadlines.days_suspended(periods, today=_today())
    received = _received_date(request)
    profile = _profile(request)
    request.due_date = profile.due_date(received, right=request.right, suspended_days=request.suspended_days)
    fields = ["suspended_days", "due_date"]
    if request.extended_due_date:
        request.extended_due_date = profile.extended_due_date(
            received, right=request.right, suspended_days=request.suspended_days
        )
        fields.append("extended_due_date")
    return fields


def _suspension_close(request: Request, *, now: datetime) -> Suspension | None:
    open_suspension = request.suspensions.filter(ended_at__isnull=True).first()
    if open_suspension is None:
        return None
    open_suspension.ended_at = max(now, open_suspension.started_at)
    open_suspension.save(update_fields=["ended_at"])
    return open_suspension


def _close(request: Request, *, transition: str, reasons: str, now: datetime) -> list[str]:
    fields = ["closed_at", "outcome_reasons", *_transition_apply(request, transition)]
    if _suspension_close(request, now=now):
        fields += _deadline_recompute(request)
    request.closed_at = now
    request.outcome_reasons = reasons
    # A fee still awaited when the request closes (refused, cancelled) was never paid.
    Fee.objects.filter(request=request, status=FeeStatus.AWAITING_PAYMENT).update(
        status=FeeStatus.UNPAID, settled_at=now
    )
    agent_language = (
        AgentFiling.objects.filter(request=request, agent_confirmed_at__isnull=False)
        .values_list("agent_language", flat=True)
        .first()
    )
    if agent_language:
        # CCPA regs § 7063: the agent who filed hears that it closed and how; the answer itself goes to the consumer.
        emails.email_agent_notice(request, event="closed", language=agent_language)
    return fields


def _closing(request: Request) -> None:
    """Hand the closing request to the work in the sources, which records what was done (its outcome)."""
    if _closing_hook is not None:
        _closing_hook(request)


def _required_text(value: str, *, field: str, message: str, limit: int = 5000) -> str:
    value = (value or "").strip()
    if not value:
        raise RequestInvalid({field: [message]})
    if len(value) > limit:
        raise RequestInvalid({field: [_("Must be at most %(limit)d characters.") % {"limit": limit}]})
    return value


def _work_start(request: Request) -> None:
    """Start (or resume) the request's work in the sources once the transaction commits (dsr/engine/)."""
    if _work_starter is not None:
        _work_starter(request)
