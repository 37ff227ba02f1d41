"""Webhook endpoints and their deliveries in Django admin.

An endpoint's secret is shown once, on the page that follows its creation or a
rotation, and kept sealed; deliveries are a read-only log with a re-send action.
Every change goes through the services in dsr/webhooks.py, which audit it.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from dsr.audit import Actor
from dsr.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from dsr.webhooks import (
    WebhookError,
    webhook_delivery_resend,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
    webhook_test_send,
)

SHOWN_ONCE_TEMPLATE = "admin/dsr/webhookendpoint/secret.html"
_SUBSCRIBABLE = [(value, label) for value, label in WebhookEvent.choices if value != WebhookEvent.TEST]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=_SUBSCRIBABLE,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "active"]


def _secret_page(request, endpoints_and_secrets: list[tuple[WebhookEndpoint, str]]) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": _("Signing secret"),
        "shown": endpoints_and_secrets,
        "opts": WebhookEndpoint._meta,
    }
    return TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "created_at"]
    list_filter = ["active"]
    actions = ["send_test_event", "rotate_secret"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # The deliveries are the log of what was sent: switch an endpoint off instead.
        return False

    def save_model(self, request, obj, form, change) -> None:
        actor = Actor.staff(request.user)
        data = form.cleaned_data
        if change:
            webhook_endpoint_update(
                endpoint=obj,
                name=data["name"],
                url=data["url"],
                events=data["events"],
                active=data["active"],
                actor=actor,
            )
            return
        endpoint, secret = webhook_endpoint_create(
            name=data["name"], url=data["url"], events=data["events"], actor=actor
        )
        if not data["active"]:
            webhook_endpoint_update(
                endpoint=endpoint,
                name=endpoint.name,
                url=endpoint.url,
                events=endpoint.events,
                active=False,
                actor=actor,
            )
        obj.pk, obj.sealed_secret, obj.created_at = endpoint.pk, endpoint.sealed_secret, endpoint.created_at
        request._webhook_secret_shown = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_webhook_secret_shown", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(request, [(obj, secret)])

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_event(self, request, queryset) -> None:
        for endpoint in queryset:
            try:
                webhook_test_send(endpoint=endpoint, actor=Actor.staff(request.user))
            except WebhookError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, _("Test event queued for %(name)s.") % {"name": endpoint.name})

    @admin.action(description=_("Rotate the signing secret (shown once)"), permissions=["change"])
    def rotate_secret(self, request, queryset) -> TemplateResponse:
        actor = Actor.staff(request.user)
        return _secret_page(
            request,
            [(endpoint, webhook_endpoint_rotate_secret(endpoint=endpoint, actor=actor)) for endpoint in queryset],
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "endpoint", "status", "attempts", "last_response_code", "created_at", "delivered_at"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["event_id"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "last_response_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "resent_from",
        "created_at",
    ]
    actions = ["resend"]
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("dsr.change_webhookendpoint")

    @admin.action(description=_("Re-send (a new series of attempts)"), permissions=["resend"])
    def resend(self, request, queryset) -> None:
        for delivery in queryset:
            try:
                webhook_delivery_resend(delivery=delivery, actor=Actor.staff(request.user))
            except WebhookError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, _("Delivery %(id)s queued again.") % {"id": delivery.pk})
