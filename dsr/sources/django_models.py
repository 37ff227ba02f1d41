"""The `django` connector: models of the Django project dsr is installed in.

Models are named ``app_label.ModelName`` with the field(s) that find the person,
or a foreign key to another listed model. The ORM does the quoting and the
parameters; erasure runs in one transaction, children first.
"""

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, models, transaction
from django.db.models import Q
from django.db.models.deletion import Collector

from dsr.datamap.rules import rule_date_apply
from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    ANONYMISE,
    DEFAULT_REDACTION,
    DELETE,
    DISCOVER,
    ERASURE,
    KEEP,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ChangeResult,
    Connector,
    Correction,
    ErasurePlan,
    ErasureResult,
    Fact,
    Identifiers,
    Record,
    TablePlan,
    date_iso,
    value_anonymised,
    value_date,
    value_jsonable,
)
from dsr.sources.resolution import identifier_normalise, phone_variants

MODEL_KEYS = {"lookup", "link", "fields", "categories", "erasure", "rectify", "restriction"}
ANONYMISE_METHODS = ("clear", "redact", "hash")


def _model_get(label: Any) -> type[models.Model] | None:
    try:
        return apps.get_model(label) if isinstance(label, str) and "." in label else None
    except (LookupError, ValueError):
        return None


def _field_exists(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class DjangoConnector(Connector):
    """Models in this project's own database."""

    kind = "django"

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        errors: list[DataMapError] = []

        def error(where: str, message: str) -> None:
            errors.append(DataMapError(where, message))

        for key in config:
            if key != "models":
                error(f"{path}.{key}", "unknown key; expected models")
        entries = config.get("models")
        if not isinstance(entries, dict) or not entries:
            error(f"{path}.models", "is required: app_label.ModelName entries")
            return errors
        for label, entry in entries.items():
            where = f"{path}.models.{label}"
            model = _model_get(label)
            if model is None:
                error(where, f'unknown model "{label}"; write app_label.ModelName of an installed app')
                continue
            if not isinstance(entry, dict):
                error(where, "must be a mapping")
                continue
            for key in entry:
                if key not in MODEL_KEYS:
                    error(f"{where}.{key}", f"unknown key; expected one of {', '.join(sorted(MODEL_KEYS))}")
            named = []
            lookup = entry.get("lookup", {})
            if not isinstance(lookup, dict):
                error(f"{where}.lookup", "must map identifier types to fields, e.g. {email: email}")
                lookup = {}
            named += [(f"{where}.lookup", field) for field in lookup.values()]
            link = entry.get("link")
            if link is not None:
                if not isinstance(link, dict) or link.get("model") not in entries:
                    error(
                        f"{where}.link",
                        f'unknown model "{(link or {}).get("model") if isinstance(link, dict) else link}"',
                    )
                else:
                    named.append((f"{where}.link.field", link.get("field")))
            if not lookup and link is None:
                error(where, "give a lookup (fields to find the person by) or a link to another model")
            fields = entry.get("fields", [])
            named += [(f"{where}.fields", field) for field in (fields if isinstance(fields, list) else [])]
            categories = entry.get("categories", {})
            for field, category in (categories if isinstance(categories, dict) else {}).items():
                named.append((f"{where}.categories", field))
                if category not in datamap.categories:
                    error(f"{where}.categories.{field}", f'unknown category "{category}"')
            erasure = entry.get("erasure")
            if not isinstance(erasure, dict) or erasure.get("strategy") not in (DELETE, ANONYMISE, KEEP):
                error(f"{where}.erasure", "is required: {strategy: delete | anonymise | keep, ...}")
                erasure = {}
            for field, method in (erasure.get("fields") or {}).items():
                named.append((f"{where}.erasure.fields", field))
                if (method or "clear") not in ANONYMISE_METHODS:
                    error(f"{where}.erasure.fields.{field}", "method must be clear, redact or hash")
            if erasure.get("strategy") == KEEP and erasure.get("hold") not in datamap.legal_holds:
                error(f"{where}.erasure.hold", f'unknown legal hold "{erasure.get("hold")}"')
            named += [(f"{where}.rectify", field) for field in (entry.get("rectify") or {}).values()]
            if entry.get("restriction"):
                named.append((f"{where}.restriction.field", (entry["restriction"] or {}).get("field")))
            for where_field, field in named:
                if not isinstance(field, str) or not _field_exists(model, field):
                    error(where_field, f'{label} has no field "{field}"')
        return errors

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        entries = config.get("models")
        return set(entries) if isinstance(entries, dict) else set()

    def capabilities(self) -> frozenset[str]:
        found = {ACCESS, DISCOVER, ERASURE}
        entries = self.config["models"].values()
        if any(entry.get("rectify") for entry in entries):
            found.add(RECTIFICATION)
        if any(entry.get("restriction") for entry in entries):
            found.add(RESTRICTION)
        return frozenset(found)

    @property
    def entries(self) -> dict[str, dict]:
        return self.config["models"]

    def _model(self, label: str) -> type[models.Model]:
        model = _model_get(label)
        if model is None:
            raise self.error(f'model "{label}" is not installed')
        return model

    def _order(self) -> list[str]:
        ordered: list[str] = []

        def visit(label: str) -> None:
            if label in ordered:
                return
            parent = (self.entries[label].get("link") or {}).get("model")
            if parent:
                visit(parent)
            ordered.append(label)

        for label in self.entries:
            visit(label)
        return ordered

    def _matched(self, label: str, identifiers: Identifiers) -> models.QuerySet:
        """Return the person's rows of ``label``, following links to parent models."""
        entry = self.entries[label]
        model = self._model(label)
        condition = Q(pk__in=[])
        for kind, field in (entry.get("lookup") or {}).items():
            values = {v for value in identifiers.get(kind, set()) if (v := identifier_normalise(kind, value))}
            if not values:
                continue
            if kind == "email":
                for value in values:
                    condition |= Q(**{f"{field}__iexact": value})
            elif kind == "phone":
                condition |= Q(**{f"{field}__in": set().union(*(phone_variants(v) for v in values))})
            else:
                condition |= Q(**{f"{field}__in": values})
        link = entry.get("link")
        if link:
            parents = self._matched(link["model"], identifiers).values("pk")
            condition |= Q(**{f"{link['field']}__in": parents})
        return model._default_manager.filter(condition)

    def _fields(self, label: str) -> list[str]:
        entry = self.entries[label]
        if entry.get("fields"):
            return list(entry["fields"])
        return [field.attname for field in self._model(label)._meta.concrete_fields]

    def test_connection(self) -> None:
        try:
            for label in self.entries:
                self._model(label)._default_manager.exists()
        except DatabaseError as exc:
            raise self.error(f"database error: {type(exc).__name__}", permanent=False) from None

    def discover_identifiers(self, identifiers: Identifiers) -> Identifiers:
        found: Identifiers = {}
        for label in self._order():
            lookup = self.entries[label].get("lookup") or {}
            if not lookup:
                continue
            kinds = list(lookup)
            for row in self._matched(label, identifiers).values_list(*(lookup[k] for k in kinds)):
                for kind, value in zip(kinds, row, strict=True):
                    if value and (normal := identifier_normalise(kind, value)):
                        found.setdefault(kind, set()).add(normal)
        return found

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        provided = set(self.source.get("provided_by_subject", []))
        for label in self._order():
            fields = self._fields(label)
            categories = self.entries[label].get("categories", {})
            rows = self._matched(label, identifiers).order_by("pk").values(*fields)
            for row in rows.iterator(chunk_size=1000):
                yield Record(
                    source=self.key,
                    table=label,
                    row={name: value_jsonable(value) for name, value in row.items()},
                    categories={name: category for name, category in categories.items() if name in row},
                    provided=label in provided,
                )

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        plans = []
        for label in self._order():
            erasure = self.entries[label]["erasure"]
            matched = self._matched(label, identifiers).order_by("pk")
            date_field = erasure.get("date_field")
            keys = [value_jsonable(pk) for pk in matched.values_list("pk", flat=True)]
            plan = TablePlan(
                table=label,
                action=erasure["strategy"],
                count=len(keys),
                keys=keys,
                fields={field: method or "clear" for field, method in (erasure.get("fields") or {}).items()},
            )
            if erasure["strategy"] == DELETE and keys:
                # Django cascades deletions; say where, so the plan shows everything that goes.
                collector = Collector(using=matched.db)
                collector.collect(list(matched))
                counts: dict[str, int] = {}
                for model, objs in collector.data.items():
                    counts[model._meta.label] = counts.get(model._meta.label, 0) + len(objs)
                for queryset in collector.fast_deletes:
                    label = queryset.model._meta.label
                    counts[label] = counts.get(label, 0) + queryset.count()
                cascaded = sorted(f"{label}: {n}" for label, n in counts.items() if label not in self.entries and n)
                if cascaded:
                    plan.note = "Also deleted with them: " + ", ".join(cascaded)
            if erasure["strategy"] == KEEP:
                hold = self.datamap.legal_holds[erasure["hold"]]
                plan.hold = erasure["hold"]
                if date_field:
                    dates = [d for v in matched.values_list(date_field, flat=True) if (d := value_date(v))]
                    if dates:
                        until = rule_date_apply(
                            hold["period_rule"], max(dates), year_end=self.datamap.financial_year_end()
                        )
                        plan.hold_until = date_iso(until)
            plans.append(plan)
        return ErasurePlan(source=self.key, kind=self.kind, tables=plans)

    def _new_value(self, model: type[models.Model], field: str, method: str, pk: Any) -> Any:
        model_field = model._meta.get_field(field)
        if method == "clear" and not model_field.null and isinstance(model_field, models.CharField | models.TextField):
            # Django stores "no value" in a text field as the empty string.
            return ""
        return value_anonymised(
            method=method,
            where=f"{self.key}\x1f{model._meta.label}\x1f{field}",
            key=pk,
            max_length=getattr(model._meta.get_field(field), "max_length", None),
            redaction=DEFAULT_REDACTION,
        )

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        results = []
        try:
            with transaction.atomic():
                for table in reversed(plan.tables):
                    model = self._model(table.table)
                    changed = 0
                    if table.action == DELETE:
                        _, per_model = model._default_manager.filter(pk__in=table.keys).delete()
                        changed = per_model.get(model._meta.label, 0)
                    elif table.fields:
                        for pk in table.keys:
                            values = {f: self._new_value(model, f, m, pk) for f, m in table.fields.items()}
                            unchanged = Q()
                            for name, value in values.items():
                                unchanged &= Q(**{name: value}) if value is not None else Q(**{f"{name}__isnull": True})
                            changed += model._default_manager.filter(pk=pk).exclude(unchanged).update(**values)
                    results.append(
                        Fact(
                            table=table.table,
                            action=table.action,
                            found=table.count,
                            changed=changed,
                            hold=table.hold,
                            hold_until=table.hold_until,
                        )
                    )
        except DatabaseError as exc:
            raise self.error(f"erasure failed and was rolled back: {type(exc).__name__}") from None
        return ErasureResult(source=self.key, facts=list(reversed(results)))

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        result = ChangeResult(source=self.key, operation=RECTIFICATION)
        applied = set()
        with transaction.atomic():
            for label in self._order():
                mapping = self.entries[label].get("rectify") or {}
                for correction in corrections:
                    field = mapping.get(correction["field"])
                    if field:
                        rows = self._matched(label, identifiers).update(**{field: correction["correct"]})
                        result.facts.append(
                            Fact(table=label, action=UPDATE, found=rows, changed=rows, item=correction["field"])
                        )
                        applied.add(correction["field"])
        result.not_applicable = [c["field"] for c in corrections if c["field"] not in applied]
        return result

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        if RESTRICTION not in self.capabilities():
            raise self.unsupported("restriction")
        result = ChangeResult(source=self.key, operation=RESTRICTION)
        with transaction.atomic():
            for label in self._order():
                restriction = self.entries[label].get("restriction")
                if restriction:
                    rows = self._matched(label, identifiers).update(**{restriction["field"]: restricted})
                    result.facts.append(
                        Fact(table=label, action=UPDATE, found=rows, changed=rows, item=restriction["field"])
                    )
        return result
