"""The data map in Django admin: read-only, because the version-controlled file is the source of truth."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from dsr.datamap.rules import rule_describe
from dsr.models import DataCategory, DataMapVersion, LegalHold, ManualTask, Purpose, Recipient, Source
from dsr.sources.base import SourceError
from dsr.sources.registry import connector_for


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
    fields = ["key", "name_en", "law"]


class SourceInline(ReadOnlyInline):
    model = Source
    fields = ["key", "name", "kind", "purposes", "recipients"]


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


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    list_display = ["key", "name_en", "law", "period"]
    list_filter = [ActiveVersionFilter]

    @admin.display(description=_("Period"))
    def period(self, obj: LegalHold) -> str:
        return rule_describe(obj.period_rule)


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "kind", "purposes", "recipients"]
    list_filter = [ActiveVersionFilter, "kind"]
    readonly_fields = ["configuration"]
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
