"""The privacy team's actions on one request, for staff sessions and keys with `requests:act`.

One endpoint per action, each calling the same service as the dashboard
(dsr.workflow, dsr.rights, dsr.engine), which locks the row, checks the transition
table and writes the audit event. A refused action is a 409 and changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dsr import workflow
from dsr.api.auth import AUTHENTICATION, ScopeRequired, api_actor
from dsr.api.serializers import RequestDetailSerializer
from dsr.api.views import ERROR_RESPONSE, STATUS_EXAMPLE, _invalid, request_by_reference
from dsr.audit import Actor
from dsr.engine.jobs import job_retry
from dsr.models import (
    ApiKey,
    ApiScope,
    FeeGround,
    Job,
    PaymentMethod,
    RefusalGround,
    Request,
    SuspensionReason,
    VerificationMethod,
)
from dsr.requests import RequestInvalid
from dsr.restrictions import RestrictionError, restriction_lift_schedule
from dsr.rights.base import request_plan_approve
from dsr.rights.objection import objection_decide
from dsr.roles import team_members
from dsr.views.staff.queue import queue_counts_forget

_REASONS = {"max_length": 5000}


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        allow_null=True, min_value=1, help_text="A team member's user id; null to unassign."
    )


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000, help_text="For colleagues only; the audit records that, not what.")


class IdentitySerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[VerificationMethod.STAFF_CHECK, VerificationMethod.ATTRIBUTE_MATCH],
        help_text="staff_check: checked by staff (no ID image is kept); attribute_match: a second attribute matched.",
    )


class SuspendSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in (SuspensionReason.IDENTITY, SuspensionReason.CLARIFICATION)]
    )
    note = serializers.CharField(max_length=5000, help_text="What the requester must send; they receive this text.")


class ReasonsSerializer(serializers.Serializer):
    reasons = serializers.CharField(max_length=5000, help_text="Sent to the requester.")


class RefuseSerializer(serializers.Serializer):
    ground = serializers.ChoiceField(choices=RefusalGround.choices)
    reasons = serializers.CharField(max_length=5000, help_text="Sent to the requester with the right to complain.")


class CompleteSerializer(serializers.Serializer):
    partial = serializers.BooleanField(default=False, help_text="Only partly done: say which parts and why.")
    reasons = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Sent to the requester. Required when partial, and when no source reported doing anything.",
    )


class CancelSerializer(serializers.Serializer):
    reasons = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[("upheld", "upheld"), ("rejected", "rejected")], help_text="The balancing of GDPR Art. 21(1)."
    )
    reasons = serializers.CharField(max_length=5000, help_text="Sent to the requester.")


class JobRetrySerializer(serializers.Serializer):
    job = serializers.IntegerField(min_value=1, help_text="The id of a failed job of this request.")


class EmptySerializer(serializers.Serializer):
    pass


# --- Fees (GDPR Art. 12(5)(a), Art. 15(3); dsr/workflow/fees.py) ------------------------------------


class FeeAskSerializer(serializers.Serializer):
    ground = serializers.ChoiceField(choices=FeeGround.choices)
    amount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="In the configured currency (DSR_FEE_CURRENCY), at most DSR_FEE_MAX_AMOUNT.",
    )
    reasons = serializers.CharField(
        max_length=5000, help_text="Why, and how the amount was set; sent to the requester with how to pay."
    )


class FeePaidSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), help_text="What was received: the full fee."
    )
    paid_on = serializers.DateField(help_text="The day the payment was received; not in the future.")
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class FeeWaiveSerializer(serializers.Serializer):
    reasons = serializers.CharField(max_length=5000, help_text="For the team; not sent to the requester.")


def _author(author):
    return author if getattr(author, "is_authenticated", False) else None


def _fee_ask(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_fee_ask(
        request=request,
        ground=data["ground"],
        amount=data["amount"],
        reasons=data["reasons"],
        actor=actor,
        user=_author(author),
    )


def _fee_paid(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_fee_paid(
        request=request,
        amount=data["amount"],
        paid_on=data["paid_on"],
        method=data["method"],
        reference=data["reference"],
        actor=actor,
        user=_author(author),
    )


def _fee_waive(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_fee_waive(request=request, reasons=data["reasons"], actor=actor, user=_author(author))


def _fee_withdrawn(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_fee_withdraw(request=request, actor=actor, user=_author(author))


class LiftSerializer(serializers.Serializer):
    reasons = serializers.CharField(max_length=5000, help_text="Why the restriction ends; sent to the requester.")
    lift_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The first day the lift may take effect; by default as soon as the requester has been told.",
    )

    def validate_lift_date(self, value):
        if value is not None and value < timezone.localdate():
            raise serializers.ValidationError(_("The lift date cannot be in the past."))
        return value


def _assign(request: Request, data: dict, actor: Actor, author) -> None:
    assignee = None
    if data["assignee"] is not None:
        assignee = team_members().filter(pk=data["assignee"]).first()
        if assignee is None:
            raise RequestInvalid({"assignee": [_("Assign to an active member of the team who handles requests.")]})
    workflow.request_assign(request=request, assignee=assignee, actor=actor)


def _note(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_note_add(request=request, text=data["text"], actor=actor, author=author)


def _identity(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_identity_check(request=request, method=data["method"], actor=actor)


def _suspend(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_suspend(request=request, reason=data["reason"], note=data["note"], actor=actor)


def _resume(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_resume(request=request, actor=actor)


def _approve(request: Request, data: dict, actor: Actor, author) -> None:
    request_plan_approve(request=request, actor=actor)


def _extend(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_extend(request=request, reasons=data["reasons"], actor=actor)


def _refuse(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_refuse(request=request, ground=data["ground"], reasons=data["reasons"], actor=actor)


def _complete(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_complete(request=request, actor=actor, reasons=data["reasons"], partial=data["partial"])


def _cancel(request: Request, data: dict, actor: Actor, author) -> None:
    workflow.request_cancel(request=request, actor=actor, reasons=data["reasons"])


def _decide(request: Request, data: dict, actor: Actor, author) -> None:
    objection_decide(request=request, upheld=data["decision"] == "upheld", reasons=data["reasons"], actor=actor)


def _job_retry(request: Request, data: dict, actor: Actor, author) -> None:
    job = Job.objects.filter(pk=data["job"], request=request).first()
    if job is None:
        raise RequestInvalid({"job": [_("That job does not belong to this request.")]})
    job_retry(job=job, actor=actor)


def _lift(request: Request, data: dict, actor: Actor, author) -> None:
    # GDPR Art. 18(3): this only announces the lift; it takes effect once the notice has been sent.
    try:
        restriction_lift_schedule(request=request, actor=actor, reasons=data["reasons"], lift_date=data["lift_date"])
    except RestrictionError as exc:
        raise workflow.TransitionError(str(exc)) from exc


@dataclass(frozen=True)
class Action:
    name: str
    summary: str
    serializer: type[serializers.Serializer]
    handler: Callable[[Request, dict, Actor, object], None]
    example: dict | None = None


ACTIONS = [
    Action("assign", "Assign to a team member (or to no one)", AssignSerializer, _assign, {"assignee": 3}),
    Action("note", "Add an internal note", NoteSerializer, _note, {"text": "Called back; customer confirmed."}),
    Action(
        "verify-identity",
        "Record a staff identity check (restarts a clock stopped for identity)",
        IdentitySerializer,
        _identity,
        {"method": "staff_check"},
    ),
    Action(
        "suspend",
        "Ask the requester for information and stop the clock",
        SuspendSerializer,
        _suspend,
        {"reason": "clarification", "note": "Which orders does your request concern?"},
    ),
    Action("resume", "Restart the clock", EmptySerializer, _resume),
    Action("approve-plan", "Approve the erasure plan or the corrections", EmptySerializer, _approve),
    Action(
        "extend",
        "Extend the deadline by two months (GDPR Art. 12(3), within the first month)",
        ReasonsSerializer,
        _extend,
        {"reasons": "Your request covers twelve systems; we need more time."},
    ),
    Action(
        "refuse",
        "Refuse the request (GDPR Art. 12(4), 12(5))",
        RefuseSerializer,
        _refuse,
        {"ground": "manifestly_unfounded", "reasons": "The same request was answered last week."},
    ),
    Action("complete", "Close as done, or partly done with reasons", CompleteSerializer, _complete, {"partial": False}),
    Action("cancel", "Cancel (withdrawn by the requester, or a duplicate)", CancelSerializer, _cancel),
    Action(
        "decide-objection",
        "Record the balancing of an objection (GDPR Art. 21(1))",
        DecideSerializer,
        _decide,
        {"decision": "upheld", "reasons": "No compelling legitimate grounds override your interests."},
    ),
    Action("retry-job", "Run a failed job again", JobRetrySerializer, _job_retry, {"job": 42}),
    Action(
        "ask-fee",
        "Ask a reasonable fee and stop the clock until it is paid (GDPR Art. 12(5)(a), 15(3))",
        FeeAskSerializer,
        _fee_ask,
        {
            "ground": "excessive",
            "amount": "250.00",
            "reasons": "You have asked for the same copy four times this year; the fee covers our costs.",
        },
    ),
    Action(
        "record-fee-payment",
        "Record that the fee was paid in full; the clock runs again",
        FeePaidSerializer,
        _fee_paid,
        {"amount": "250.00", "paid_on": "2026-03-12", "method": "bank_transfer", "reference": "DSR-7K2M"},
    ),
    Action(
        "waive-fee",
        "Waive the awaited fee; the clock runs again",
        FeeWaiveSerializer,
        _fee_waive,
        {"reasons": "The requester lost the copy in a burglary; no fee this time."},
    ),
    Action(
        "record-fee-withdrawal",
        "Record that the requester withdrew rather than pay; the request is cancelled",
        EmptySerializer,
        _fee_withdrawn,
    ),
    Action(
        "lift-restriction",
        "Tell the requester, then lift the restriction once the notice is sent (GDPR Art. 18(3))",
        LiftSerializer,
        _lift,
        {"reasons": "The accuracy of your data has been verified.", "lift_date": None},
    ),
]


class ActionView(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [ScopeRequired]
    required_scope = ApiScope.REQUESTS_ACT
    action: Action

    def post(self, request, reference: str):
        found = request_by_reference(reference)
        serializer = self.action.serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        author = None if isinstance(request.auth, ApiKey) else request.user
        try:
            self.action.handler(found, serializer.validated_data, api_actor(request), author)
        except RequestInvalid as exc:
            raise _invalid(exc) from exc
        queue_counts_forget()
        found.refresh_from_db()
        return Response(RequestDetailSerializer(found).data)


def action_view(action: Action) -> Callable:
    """Return the view of one action, with its own schema."""
    examples = [OpenApiExample(action.name, value=action.example or {}, request_only=True), STATUS_EXAMPLE]

    def post(self, request, reference: str):
        return ActionView.post(self, request, reference)

    post = extend_schema(
        operation_id=f"requests_{action.name.replace('-', '_')}",
        summary=action.summary,
        description="Needs `requests:act` (staff: privacy agent or admin). Answers with the request as it is now.",
        request=action.serializer,
        responses={
            200: RequestDetailSerializer,
            400: ERROR_RESPONSE,
            401: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            413: ERROR_RESPONSE,
        },
        examples=examples,
        tags=["actions"],
    )(post)
    view_class = type(
        f"{action.name.title().replace('-', '')}ActionView",
        (ActionView,),
        {"action": action, "audit_action": f"api:{action.name}", "post": post},
    )
    return view_class.as_view()
