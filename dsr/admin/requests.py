"""Admin pages for requests, messages and the audit trail: for looking, not for changing state.

State changes go through the services (dashboard and API), so that each is
checked against the transition table and audited; here everything is read-only.
"""

from django.contrib import admin

from dsr.models import AuditEvent, Message, Request, Suspension, VerificationChallenge


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SuspensionInline(admin.TabularInline):
    model = Suspension
    extra = 0
    can_delete = False
    fields = ["reason", "note", "started_at", "ended_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["kind", "language", "status", "attempts", "last_error", "created_at", "sent_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Request)
class RequestAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "right",
        "status",
        "channel",
        "jurisdiction",
        "received_at",
        "due_date",
        "extended_due_date",
    ]
    list_filter = ["right", "status", "channel", "language", "jurisdiction"]
    search_fields = ["reference", "email"]
    date_hierarchy = "received_at"
    inlines = [SuspensionInline, MessageInline]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["kind", "language", "request", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status", "language"]
    exclude = ["sealed_context"]
    show_full_result_count = False


@admin.register(VerificationChallenge)
class VerificationChallengeAdmin(ReadOnlyAdmin):
    list_display = ["request", "created_at", "expires_at", "attempts", "used_at", "revoked_at"]
    exclude = ["code_hash", "link_token_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_type", "actor_id", "action", "request"]
    list_filter = ["action", "actor_type"]
    search_fields = ["request__reference", "action"]
    ordering = ["-seq"]
    show_full_result_count = False
