"""API keys in Django admin: privacy admins create them (the token is shown once) and revoke them."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from dsr.apikeys import apikey_create, apikey_revoke
from dsr.audit import Actor
from dsr.models import ApiKey, ApiScope


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, label=_("Scopes"))

    class Meta:
        model = ApiKey
        fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "token_start", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["name", "token_start", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]

    @admin.display(description=_("Token starts with"))
    def token_start(self, obj: ApiKey) -> str:
        return f"dsr_{obj.prefix}_…"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "scopes"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        # Revoked keys stay, so the audit trail's "apikey:<prefix>" keeps a name.
        return False

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            return
        # The form has checked the name and the scopes as the service does.
        created = apikey_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            actor=Actor.staff(request.user),
            created_by=request.user,
        )
        obj.__dict__.update({f.attname: getattr(created.key, f.attname) for f in ApiKey._meta.concrete_fields})
        obj._state.adding = False
        request.dsr_new_token = created.token

    def response_add(self, request, obj: ApiKey, post_url_continue=None):
        """Show the token once; it is not stored and cannot be shown again."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "token": request.dsr_new_token,
            "title": _("API key created"),
        }
        return TemplateResponse(request, "admin/dsr/apikey/created.html", context)

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            apikey_revoke(key=key, actor=Actor.staff(request.user))
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", count) % {"count": count},
            messages.SUCCESS,
        )
