"""Message templates in Django admin: every file template, with the privacy admin's override where there is one.

The list shows each kind x language x part that exists as a file under templates/dsr/emails/.
A part's page starts from its current text (the override, else the file's), previews the whole
message with a sample request, saves a checked override, or resets to the file. Each change goes
through dsr.message_templates, which checks and audits it.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from dsr.audit import Actor
from dsr.message_templates import (
    ALLOWED_LIBRARIES,
    EMAILS_DIR,
    TemplateConflict,
    TemplateInvalid,
    message_template_overrides,
    message_template_preview,
    message_template_reset,
    message_template_save,
    message_template_version,
    template_file_name,
    template_file_text,
    template_slot_exists,
    template_slots,
)
from dsr.models import Language, MessageTemplate, MessageTemplatePart
from dsr.views.staff.access import staff_forbidden


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """Overrides are edited per part on their own page, never through Django's generic add/change/delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name=f"{prefix}_changelist"),
            path(
                "<slug:kind>/<slug:language>/<slug:part>/",
                self.admin_site.admin_view(self.part_view),
                name=f"{prefix}_part",
            ),
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """List every file template, and whether an override replaces it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        overrides = message_template_overrides()
        languages = dict(Language.choices)
        parts = dict(MessageTemplatePart.choices)
        rows = [
            {
                "kind": kind,
                "language": languages[language],
                "part": parts[part],
                "override": overrides.get((kind, language, part)),
                "url": reverse("admin:dsr_messagetemplate_part", args=[kind, language, part]),
            }
            for kind, language, part in template_slots()
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Message templates"),
            "rows": rows,
            "overridden": sum(1 for row in rows if row["override"]),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/dsr/messagetemplate/change_list.html", context)

    def part_view(self, request: HttpRequest, kind: str, language: str, part: str) -> HttpResponse:
        """Show, preview, save or reset one part of one message in one language."""
        if not template_slot_exists(kind, language, part):
            raise Http404(_("No such message template."))
        action = request.POST.get("action", "") if request.method == "POST" else ""
        if action == "save" and not self.has_change_permission(request):
            return staff_forbidden(request, action="message_template.change")
        if action == "reset" and not self.has_delete_permission(request):
            return staff_forbidden(request, action="message_template.reset")
        if not self.has_view_permission(request):
            return staff_forbidden(request, action=f"message_template.{action or 'view'}")

        override = MessageTemplate.objects.filter(kind=kind, language=language, part=part).first()
        body = override.body if override else template_file_text(kind, language, part)
        seen = message_template_version(override)
        problems: list[str] = []
        preview = None
        where = {"kind": kind, "language": language, "part": part}
        if action in ("save", "preview", "reset"):
            body = request.POST.get("body", "").replace("\r\n", "\n")
            seen = request.POST.get("seen", "")
        try:
            if action == "save":
                saved = message_template_save(
                    **where, body=body, seen=seen, actor=Actor.staff(request.user), user=request.user
                )
                if saved is None:
                    self.message_user(request, _("This is the default text; there was nothing to save."))
                else:
                    self.message_user(request, _("Saved. Messages sent from now on use this text."), messages.SUCCESS)
                return redirect(request.path)
            if action == "reset":
                if message_template_reset(**where, seen=seen, actor=Actor.staff(request.user)):
                    self.message_user(request, _("Reset: the default text is used again."), messages.SUCCESS)
                else:
                    self.message_user(request, _("The default text was already in use."))
                return redirect(request.path)
            if action == "preview":
                preview = message_template_preview(**where, body=body)
        except TemplateInvalid as exc:
            problems = exc.problems
        except TemplateConflict as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(request.path)
        if problems:
            self.message_user(request, _("Nothing was saved: the template has problems."), messages.ERROR)

        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("%(kind)s: %(part)s (%(language)s)")
            % {"kind": kind, "part": MessageTemplatePart(part).label, "language": Language(language).label},
            "kind": kind,
            "language": language,
            "part": part,
            "file_name": template_file_name(kind, language, part),
            "override": override,
            "body": body,
            "seen": seen,
            "problems": problems,
            "preview": preview,
            "libraries": ", ".join(sorted(ALLOWED_LIBRARIES)),
            "emails_dir": EMAILS_DIR,
            "can_change": self.has_change_permission(request),
            "can_reset": self.has_delete_permission(request) and override is not None,
        }
        return TemplateResponse(request, "admin/dsr/messagetemplate/part.html", context)
