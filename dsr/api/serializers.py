"""Shapes of the API's requests and responses; semantic validation lives in the services."""

import copy
from datetime import date

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dsr.emails import absolute_url
from dsr.forms_staff import RECEIVED_RANGE
from dsr.models import JOB_FINISHED, Channel, JobStatus, Language, Request, Right, Status
from dsr.selectors import request_deadline, request_right_label


class FieldsCopiedOnce:
    """A serializer whose fields are copied from one set made per class, not deep-copied for every instance.

    DRF deep-copies every declared field, choices and all, each time a serializer is made: for the intake,
    which makes one per filing, that was more than half of its validation. A flat serializer's fields keep
    no state of their own while validating, so a shallow copy of each (bound anew to its serializer) does.
    """

    def get_fields(self):
        made = type(self).__dict__.get("_fields_made")
        if made is None:
            made = super().get_fields()
            type(self)._fields_made = made
        return {name: copy.copy(field) for name, field in made.items()}


class RequestCreateSerializer(FieldsCopiedOnce, serializers.Serializer):
    right = serializers.ChoiceField(choices=Right.choices)
    email = serializers.CharField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    customer_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.DA)
    details = serializers.DictField(
        required=False,
        default=dict,
        help_text="What the right needs: see docs/api.md (corrections, scope, grounds, ground, consents, description).",
    )
    jurisdiction = serializers.CharField(
        max_length=8,
        required=False,
        allow_blank=True,
        default="",
        help_text="The profile of the person's country of residence (dk, se, no, fi, de, uk, us-ca, br; "
        "docs/jurisdictions.md); empty: the deployment's own.",
    )


class RequestCreatedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_token = serializers.CharField(help_text="Secret for reading the status; send it as X-Status-Token.")
    verification_required = serializers.BooleanField()
    due_date = serializers.DateField(help_text="Provisional while the email is not confirmed: the clock is stopped.")


class VerifySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, help_text="The six digits from the email.")


class RequestStatusSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    right_label = serializers.SerializerMethodField(
        help_text="The right as the request's law names it (CCPA: \"Right to know ...\"), else dsr's own label."
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    clock_stopped = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    effective_due_date = serializers.SerializerMethodField()
    status_page = serializers.SerializerMethodField()

    class Meta:
        model = Request
        fields = [
            "reference",
            "right",
            "right_label",
            "status",
            "status_label",
            "channel",
            "jurisdiction",
            "received_at",
            "verified_at",
            "due_date",
            "extended_due_date",
            "effective_due_date",
            "days_left",
            "clock_stopped",
            "closed_at",
            "outcome_reasons",
            "status_page",
        ]
        read_only_fields = fields

    def _deadline(self, obj: Request):
        cache = self.context.setdefault("_deadlines", {})
        if obj.pk not in cache:
            cache[obj.pk] = request_deadline(obj)
        return cache[obj.pk]

    def get_right_label(self, request: Request) -> str:
        return request_right_label(request)

    def get_clock_stopped(self, obj: Request) -> bool:
        return self._deadline(obj).clock_stopped

    def get_days_left(self, obj: Request) -> int | None:
        return self._deadline(obj).days_left if obj.is_open else None

    def get_effective_due_date(self, obj: Request) -> str:
        return self._deadline(obj).effective_due.isoformat()

    def get_status_page(self, obj: Request) -> str:
        return absolute_url(reverse("dsr:status", kwargs={"reference": obj.reference}))


class JobsSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    running = serializers.IntegerField(help_text="Queued, running, or waiting for a processor or a person.")
    failed = serializers.IntegerField()


class ResultSerializer(serializers.Serializer):
    """What the sources reported doing for the request (dsr.rights.outcome): counts, never the person's data."""

    found = serializers.BooleanField(help_text="Some source held data about the person.")
    changed = serializers.BooleanField(help_text="Some source reported deleting, anonymising or changing rows.")
    sources = serializers.DictField(
        child=serializers.CharField(),
        help_text="Per source key: done, nothing_found, asked (a processor was sent the request), pending or failed.",
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Rows per kind of line: deleted, anonymised, kept, changed, unchanged, found, processor, by_hand.",
    )
    recipients_notified = serializers.IntegerField(
        help_text="Recipients told under GDPR Art. 19 through their API or by email when the result was recorded."
    )
    recipients_to_tell_by_hand = serializers.IntegerField(
        help_text="Recipients the privacy team tells by hand (GDPR Art. 19); the request's notifications say when."
    )


class FeeSerializer(serializers.Serializer):
    """The latest fee asked of the requester (GDPR Art. 12(5)(a), 15(3)): never the reasons written to them."""

    ground = serializers.CharField(help_text="manifestly_unfounded, excessive or further_copies.")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField(help_text="awaiting_payment, paid, waived, withdrawn, or unpaid (request closed).")
    requested_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)


class RequestDetailSerializer(RequestStatusSerializer):
    """The status, with what staff and integrations need: the outcome's ground, the work and its result."""

    refusal_ground = serializers.CharField(help_text="Set when refused (GDPR Art. 12(4)); empty otherwise.")
    jobs = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()

    class Meta(RequestStatusSerializer.Meta):
        fields = [*RequestStatusSerializer.Meta.fields, "refusal_ground", "assignee", "jobs", "result", "fee"]
        read_only_fields = fields

    @extend_schema_field(FeeSerializer(allow_null=True))
    def get_fee(self, obj: Request) -> dict | None:
        """Return the latest fee asked, or None when none was."""
        fee = obj.fees.order_by("-requested_at", "-id").first()
        return FeeSerializer(fee).data if fee is not None else None

    @extend_schema_field(ResultSerializer(allow_null=True))
    def get_result(self, obj: Request) -> dict | None:
        """Return the recorded result's summary, or None before the right finished."""
        plan = getattr(obj, "plan", None)
        outcome = plan.outcome if plan is not None else {}
        return outcome.get("summary") if outcome else None

    def to_representation(self, obj: Request) -> dict:
        data = super().to_representation(obj)
        if self.context.get("public"):
            data["assignee"] = None  # who in the team handles it is internal
        return data

    @extend_schema_field(JobsSummarySerializer)
    def get_jobs(self, obj: Request) -> dict:
        counts: dict[str, int] = {}
        for job_status in obj.jobs.values_list("status", flat=True):
            counts[job_status] = counts.get(job_status, 0) + 1
        done = counts.get(JobStatus.DONE, 0)
        failed = counts.get(JobStatus.FAILED, 0)
        total = sum(counts.values())
        finished = sum(count for key, count in counts.items() if key in JOB_FINISHED)
        return {"total": total, "done": done, "failed": failed, "running": total - finished}


class RequestSummarySerializer(serializers.Serializer):
    """One row of the list: no requester details, no per-row queries."""

    reference = serializers.CharField(source="request.reference")
    right = serializers.ChoiceField(choices=Right.choices, source="request.right")
    status = serializers.ChoiceField(choices=Status.choices, source="request.status")
    channel = serializers.ChoiceField(choices=Channel.choices, source="request.channel")
    received_at = serializers.DateTimeField(source="request.received_at")
    due_date = serializers.DateField(source="request.due_date")
    extended_due_date = serializers.DateField(source="request.extended_due_date", allow_null=True)
    days_left = serializers.IntegerField(help_text="Negative when overdue; counted from the stored due date.")
    clock_stopped = serializers.SerializerMethodField()
    assignee = serializers.IntegerField(source="request.assignee_id", allow_null=True)
    closed_at = serializers.DateTimeField(source="request.closed_at", allow_null=True)

    def get_clock_stopped(self, row) -> bool:
        return row.urgency == "stopped"


class RequestPageSerializer(serializers.Serializer):
    results = RequestSummarySerializer(many=True)
    next_cursor = serializers.CharField(help_text="Pass as `cursor` for the next page; empty on the last page.")
    total = serializers.IntegerField(
        allow_null=True, help_text="Open requests matching (at most 1000); null for lists of closed requests."
    )


def received_date_check(value: date) -> date:
    """Return the date if the queue can turn it into a local midnight (year 2000 to 9998)."""
    if not RECEIVED_RANGE[0] <= value <= RECEIVED_RANGE[1]:
        raise serializers.ValidationError(
            f"Give a date from {RECEIVED_RANGE[0].isoformat()} to {RECEIVED_RANGE[1].isoformat()}."
        )
    return value


def cursor_check(value: str) -> str:
    """Return the keyset cursor if its date part is a real date; raise a ValidationError otherwise."""
    if "_" in value:
        try:
            date.fromisoformat(value.split("_", 1)[0])
        except ValueError as exc:
            raise serializers.ValidationError("Not a cursor this list gave out.") from exc
    return value


class RequestListQuerySerializer(serializers.Serializer):
    right = serializers.ChoiceField(choices=Right.choices, required=False)
    status = serializers.ChoiceField(
        choices=[("open", "open"), *Status.choices],
        required=False,
        help_text="`open` (default): every open request, most urgent first. A closed status: newest first.",
    )
    assignee = serializers.RegexField(
        r"^(none|\d{1,18})$", required=False, help_text="A staff user's id, or `none` for unassigned."
    )
    overdue = serializers.BooleanField(required=False, default=False)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)

    def validate_received_from(self, value: date) -> date:
        return received_date_check(value)

    def validate_received_to(self, value: date) -> date:
        return received_date_check(value)

    reference = serializers.RegexField(r"^[A-Za-z0-9-]{4,32}$", required=False)
    cursor = serializers.RegexField(r"^(\d{4}-\d{2}-\d{2}_)?\d{1,18}$", required=False)

    def validate_cursor(self, value: str) -> str:
        return cursor_check(value)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("received_from"), attrs.get("received_to")
        if start and end and start > end:
            raise serializers.ValidationError({"received_to": ["The end of the period is before its start."]})
        return attrs


class ConsentWithdrawSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    consents = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=50,
        help_text="The data map's keys of the consents withdrawn, e.g. newsletter.",
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    customer_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.DA)
