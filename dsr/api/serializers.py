"""Shapes of the API's requests and responses; semantic validation lives in the services."""

from django.urls import reverse
from rest_framework import serializers

from dsr.emails import absolute_url
from dsr.models import Channel, Language, Request, Right, Status


class RequestCreateSerializer(serializers.Serializer):
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
    right_label = serializers.CharField(source="get_right_display")
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
            from dsr.selectors import request_deadline

            cache[obj.pk] = request_deadline(obj)
        return cache[obj.pk]

    def get_clock_stopped(self, obj: Request) -> bool:
        return self._deadline(obj).clock_stopped

    def get_days_left(self, obj: Request) -> int | None:
        return self._deadline(obj).days_left if obj.is_open else None

    def get_effective_due_date(self, obj: Request) -> str:
        return self._deadline(obj).effective_due.isoformat()

    def get_status_page(self, obj: Request) -> str:
        return absolute_url(reverse("dsr:status", kwargs={"reference": obj.reference}))
