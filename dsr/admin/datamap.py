"""The data map in Django admin: read-only, because the version-controlled file is the source of truth.

A privacy admin can load a new version of that file here (as dsr_load_datamap does), never edit rows.
"""

import json

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from dsr.audit import Actor
from dsr.datamap.lineage import recipient_lineage
from dsr.datamap.loading import datamap_upload
from dsr.datamap.parsing import datamap_parse
from dsr.datamap.rules import rule_describe
from dsr.datamap.schema import DataMap, DataMapInvalid
from dsr.models import DataCategory, DataMapVersion, LegalHold, ManualTask, Purpose, Recipient, Source
from dsr.sources.base import SourceError
from dsr.sources.registry import connector_for, datamap_live_errors
from dsr.views.staff.access import staff_forbidden

# A data map is a few hundred lines of YAML; anything far larger is not one.
DATAMAP_UPLOAD_MAX_BYTES = 1024 * 1024


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows, never edits: change the map file and load it with dsr_load_datamap."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PurposeInline(ReadOnlyInline):
    model = Purpose
    fields = ["key", "name_en", "legal_basis", "retention_en", "profiling"]


class RecipientInline(ReadOnlyInline):
    model = Recipient
    fields = ["key", "name", "role", "country", "safeguard_en", "contact_email"]


class LegalHoldInline(ReadOnlyInline):
    model = LegalHold
    fields = ["key", "name_en", "law_da", "law_en"]


class SourceInline(ReadOnlyInline):
    model = Source
    fields = ["key", "name_da", "name_en", "kind", "purposes", "recipients"]


class CategoryInline(ReadOnlyInline):
    model = DataCategory
    fields = ["key", "name_da", "name_en"]


@admin.register(DataMapVersion)
class DataMapVersionAdmin(ReadOnlyAdmin):
    list_display = ["loaded_at", "loaded_by", "short_sha", "active", "source_path"]
    list_filter = ["active"]
    readonly_fields = ["loaded_at", "loaded_by", "sha256", "active", "source_path", "yaml"]
    fields = readonly_fields
    inlines = [CategoryInline, PurposeInline, RecipientInline, LegalHoldInline, SourceInline]

    change_list_template = "admin/dsr/datamapversion/change_list.html"

    def get_urls(self):
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="dsr_datamapversion_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Validate an uploaded data map file and, unless only checking, make it the active map."""
        if not request.user.has_perm("dsr.add_datamapversion"):
            return staff_forbidden(request, action="datamap.load")
        errors: list[str] = []
        if request.method == "POST":
            upload = request.FILES.get("file")
            text = None
            if upload is None:
                errors = [gettext("Choose the data map file (YAML) to load.")]
            elif upload.size > DATAMAP_UPLOAD_MAX_BYTES:
                errors = [gettext("The file is larger than 1 MB; a data map is far smaller.")]
            else:
                try:
                    text = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    errors = [gettext("The file is not UTF-8 text.")]
            if text is not None:
                try:
                    datamap = datamap_parse(text)
                    live, unchecked = datamap_live_errors(datamap)
                    for note in unchecked:
                        self.message_user(request, note, messages.WARNING)
                    if live:
                        raise DataMapInvalid(live)
                    if request.POST.get("check_only"):
                        self.message_user(
                            request,
                            ngettext(
                                "%(name)s is valid: %(sources)d source; nothing was loaded.",
                                "%(name)s is valid: %(sources)d sources; nothing was loaded.",
                                len(datamap.sources),
                            )
                            % {"name": upload.name, "sources": len(datamap.sources)},
                            messages.SUCCESS,
                        )
                        return redirect(request.path)
                    version, new = datamap_upload(
                        text=text,
                        loaded_by=request.user.get_username(),
                        file_name=upload.name,
                        actor=Actor.staff(request.user),
                    )
                except DataMapInvalid as exc:
                    errors = [str(error) for error in exc.errors]
                else:
                    if new:
                        message = gettext("Loaded %(name)s: it is now the active data map (SHA-256 %(sha)s).")
                    else:
                        message = gettext("%(name)s is already the active data map (SHA-256 %(sha)s); nothing changed.")
                    self.message_user(request, message % {"name": upload.name, "sha": version.sha256[:12]})
                    return redirect("admin:dsr_datamapversion_changelist")
            self.message_user(request, gettext("Nothing was loaded."), messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Load a data map file"),
            "errors": errors,
        }
        return TemplateResponse(request, "admin/dsr/datamapversion/upload.html", context)

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_upload": request.user.has_perm("dsr.add_datamapversion")}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("SHA-256"))
    def short_sha(self, obj: DataMapVersion) -> str:
        return obj.sha256[:12]

    @admin.display(description=_("File as loaded"))
    def yaml(self, obj: DataMapVersion) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.yaml_text)


class ActiveVersionFilter(admin.SimpleListFilter):
    title = _("version")
    parameter_name = "version"

    def lookups(self, request, model_admin):
        return [("active", _("Active map")), ("all", _("All versions"))]

    def queryset(self, request, queryset):
        if self.value() in (None, "active"):
            return queryset.filter(version__active=True)
        return queryset

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            selected = self.value() == lookup or (self.value() is None and lookup == "active")
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.register(Purpose)
class PurposeAdmin(ReadOnlyAdmin):
    list_display = ["key", "name_en", "legal_basis_display", "retention_en", "retention_rule_display", "profiling"]
    list_filter = [ActiveVersionFilter, "profiling"]

    @admin.display(description=_("Legal basis (Art. 6(1))"))
    def legal_basis_display(self, obj: Purpose) -> str:
        return ", ".join(f"({letter})" for letter in obj.legal_basis)

    @admin.display(description=_("Retention rule"))
    def retention_rule_display(self, obj: Purpose) -> str:
        return rule_describe(obj.retention_rule)


@admin.register(Recipient)
class RecipientAdmin(ReadOnlyAdmin):
    list_display = ["name", "role", "country", "safeguard_en", "contact_email"]
    list_filter = [ActiveVersionFilter, "role", "country"]
    readonly_fields = ["receives"]

    @admin.display(description=_("Receives (source, record group: data categories)"))
    def receives(self, obj: Recipient) -> str:
        """Show where the recipient's data comes from, as the Art. 15 answer and Art. 19 notices see it."""
        lineage = recipient_lineage(DataMap(obj.version.snapshot), obj.key)
        if not lineage:
            return gettext("Nothing: no source or record group links to this recipient.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}{}: {}</li>",
                (
                    (entry["source"], f".{entry['group']}" if entry["group"] else "", ", ".join(entry["categories"]))
                    for entry in lineage
                ),
            ),
        )


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    list_display = ["key", "name_en", "law_da", "law_en", "period"]
    list_filter = [ActiveVersionFilter]

    @admin.display(description=_("Period"))
    def period(self, obj: LegalHold) -> str:
        return rule_describe(obj.period_rule)


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    list_display = ["key", "name_da", "name_en", "kind", "purposes", "recipients"]
    list_filter = [ActiveVersionFilter, "kind"]
    exclude = ["groups"]
    readonly_fields = ["record_groups", "configuration"]
    actions = ["connection_test"]

    @admin.action(description=_("Test the connection of the selected sources"), permissions=["view"])
    def connection_test(self, request, queryset) -> None:
        """Test each selected source as the active data map configures it, as dsr_check_sources does."""
        for key in sorted(set(queryset.values_list("key", flat=True))):
            try:
                connector_for(key).test_connection()
            except SourceError as exc:
                retry = _("permanent") if exc.permanent else _("transient, worth retrying")
                self.message_user(request, f"{key}: {exc.problem} ({retry})", messages.ERROR)
            else:
                self.message_user(request, _("%(key)s: connection OK") % {"key": key}, messages.SUCCESS)

    @admin.display(description=_("Record groups"))
    def record_groups(self, obj: Source) -> str:
        """Show each group's purposes and recipients, marking those it takes from the source."""
        if not obj.groups:
            return gettext("The connector describes no record groups: the source's purposes and recipients apply.")
        inherited = gettext("(the source's)")
        rows = (
            (
                group,
                ", ".join(entry["purposes"]) or "-",
                "" if entry["purposes_declared"] else inherited,
                ", ".join(entry["recipients"]) or "-",
                "" if entry["recipients_declared"] else inherited,
                ", ".join(entry["categories"]) or "-",
                gettext("yes") if entry.get("records_consents") else "",
            )
            for group, entry in obj.groups.items()
        )
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("Group"),
            gettext("Purposes"),
            gettext("Recipients"),
            gettext("Categories"),
            gettext("Records consents"),
        )
        body = format_html_join("", "<tr><td>{}</td><td>{} {}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table>{}{}</table>", header, body)

    @admin.display(description=_("Connector configuration"))
    def configuration(self, obj: Source) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.config, indent=2, ensure_ascii=False))


@admin.register(DataCategory)
class DataCategoryAdmin(ReadOnlyAdmin):
    list_display = ["key", "name_da", "name_en"]
    list_filter = [ActiveVersionFilter]


@admin.register(ManualTask)
class ManualTaskAdmin(ReadOnlyAdmin):
    list_display = ["request", "source_key", "operation", "owner", "status", "created_at", "completed_at"]
    list_filter = ["status", "operation", "source_key"]
