"""The status steps the work in the sources asks for (dsr/engine/, dsr/rights/): staff approval, failures."""

from django.db import transaction

from dsr.audit import Actor, audit_record
from dsr.models import (
    AuditAction,
    Request,
    Status,
)
from dsr.workflow.base import (
    _lock,
    _transition_apply,
    transition_allowed,
)

# --- Steps of the work in the sources (dsr/engine/, dsr/rights/) ----------------------


def _step(request: Request, *, transition: str, action: str, actor: Actor, data: dict) -> Request:
    with transaction.atomic():
        request = _lock(request)
        fields = _transition_apply(request, transition)
        request.save(update_fields=fields)
        audit_record(actor=actor, action=action, request=request, data=data)
    return request


def request_await_staff(*, request: Request, actor: Actor, stage: str) -> Request:
    """Hand the request to the privacy team: a plan to approve or a balancing decision to make."""
    return _step(
        request, transition="plan_await", action=AuditAction.REQUEST_AWAITING_STAFF, actor=actor, data={"stage": stage}
    )


def request_approve(*, request: Request, actor: Actor) -> Request:
    """Record that the privacy team approved the plan waiting for them; the work goes on."""
    return _step(request, transition="plan_approve", action=AuditAction.REQUEST_APPROVED, actor=actor, data={})


def request_objection_decided(*, request: Request, upheld: bool, actor: Actor) -> Request:
    """Record the balancing decision on an objection (GDPR Art. 21(1)); the request is then closed by its right."""
    return _step(
        request,
        transition="objection_decide",
        action=AuditAction.OBJECTION_DECIDED,
        actor=actor,
        data={"upheld": upheld},
    )


def request_bundle_review(*, request: Request, bundle_id: int, actor: Actor) -> Request:
    """Hold the built export for the privacy team to preview and release (DSR_BUNDLE_REVIEW)."""
    return _step(
        request,
        transition="bundle_review",
        action=AuditAction.BUNDLE_AWAITING_REVIEW,
        actor=actor,
        data={"bundle": bundle_id},
    )


def request_bundle_released(*, request: Request, actor: Actor) -> Request:
    """Move a request whose reviewed export staff released back to work, so it can be completed."""
    with transaction.atomic():
        request = _lock(request)
        if request.status == Status.AWAITING_APPROVAL:
            request.save(update_fields=_transition_apply(request, "bundle_release"))
    return request


def request_job_failed(*, request: Request, job_id: int, actor: Actor) -> Request:
    """Put the request in "needs attention": a source failed for good (retry it, or close the request partly done)."""
    with transaction.atomic():
        request = _lock(request)
        if transition_allowed(request, "job_fail"):
            request.save(update_fields=_transition_apply(request, "job_fail"))
            audit_record(actor=actor, action=AuditAction.REQUEST_NEEDS_ATTENTION, request=request, data={"job": job_id})
    return request


def request_job_retried(*, request: Request, job_id: int, actor: Actor) -> Request:
    """Put a request that needed attention back to work once nothing has failed any more."""
    with transaction.atomic():
        request = _lock(request)
        if transition_allowed(request, "job_retry"):
            request.save(update_fields=_transition_apply(request, "job_retry"))
            audit_record(
                actor=actor, action=AuditAction.REQUEST_BACK_IN_PROGRESS, request=request, data={"job": job_id}
            )
    return request
