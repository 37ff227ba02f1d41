"""The `django` connector: models of the Django project dsr is installed in.

Models are named ``app_label.ModelName`` with the field(s) that find the person,
or a foreign key to another listed model. The ORM does the quoting and the
parameters; erasure runs in one transaction, children first. Every change is
written only where a value differs, so each operation reports the rows it
really changed and a second run reports none.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, models, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone

from dsr.datamap.rules import rule_date_apply
from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    CONSENT_WITHDRAWAL,
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
from dsr.sources.django_models.config import config_errors, model_get
from dsr.sources.groups import categories_of, group_describe, group_labels
from dsr.sources.resolution import identifier_normalise, phone_variants


class DjangoConnector(Connector):
    """Models in this project's own database."""

    kind = "django"
    reads_in_place = True

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        return config_errors(config, path=path, datamap=datamap)

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        entries = config.get("models")
        return set(entries) if isinstance(entries, dict) else set()

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        return {label: group_describe(entry, identifiers_key="lookup") for label, entry in config["models"].items()}

    @classmethod
    def column_labels(cls, config: dict) -> dict[str, dict]:
        return {label: group_labels(entry) for label, entry in config["models"].items()}

    def capabilities(self) -> frozenset[str]:
        found = {ACCESS, DISCOVER, ERASURE}
        entries = self.config["models"].values()
        if any(entry.get("rectify") for entry in entries):
            found.add(RECTIFICATION)
        if any(entry.get("restriction") for entry in entries):
            found.add(RESTRICTION)
        if any(entry.get("consent") for entry in entries):
            found.add(CONSENT_WITHDRAWAL)
        return frozenset(found)

    @property
    def entries(self) -> dict[str, dict]:
        return self.config["models"]

    def _model(self, label: str) -> type[models.Model]:
        model = model_get(label)
        if model is None:
            raise self.error(f'model "{label}" is not installed')
        return model

    @contextmanager
    def _atomic(self, doing: str) -> Iterator[None]:
        """Run a change in one transaction; a database error rolls it all back and names no value."""
        try:
            with transaction.atomic():
                yield
        except DatabaseError as exc:
            # A locked or unreachable database may answer next time; anything else will fail the same way.
            transient = isinstance(exc, OperationalError)
            raise self.error(
                f"{doing} failed and was rolled back: {type(exc).__name__}", permanent=not transient
            ) from None

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

    def consent_given(self, record: Record) -> str | None:
        consent = self.entries.get(record.table, {}).get("consent")
        if record.source != self.key or not consent:
            return None
        key, state = record.row.get(consent["key_field"]), record.row.get(consent["state_field"])
        # A state that is unknown (NULL, or left out of the export) is no consent given.
        if key is None or state is None or state == consent.get("withdrawn_value", False):
            return None
        return str(key)

    def consents_recorded(self, identifiers: Identifiers) -> set[str]:
        found: set[str] = set()
        for label in self._order():
            consent = self.entries[label].get("consent")
            if not consent:
                continue
            state, withdrawn = consent["state_field"], consent.get("withdrawn_value", False)
            rows = self._matched(label, identifiers)
            # Given at some time: given now, or marked withdrawn since (a row that only records a refusal is not).
            given = Q(**{f"{state}__isnull": False}) & ~Q(**{state: withdrawn})
            if consent.get("withdrawn_at_field"):
                given |= Q(**{f"{consent['withdrawn_at_field']}__isnull": False})
            keys = rows.filter(given).values_list(consent["key_field"], flat=True).distinct()
            found.update(str(key) for key in keys if key is not None)
        return found

    # --- erasure ---------------------------------------------------------------

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        plans = []
        for label in self._order():
            entry = self.entries[label]
            erasure = entry["erasure"]
            strategy = erasure["strategy"]
            matched = self._matched(label, identifiers).order_by("pk")
            date_field = erasure.get("date_field")
            keys = [value_jsonable(pk) for pk in matched.values_list("pk", flat=True)]
            fields = {field: method or "clear" for field, method in (erasure.get("fields") or {}).items()}
            plan = TablePlan(
                table=label,
                action=strategy,
                count=len(keys),
                keys=keys,
                fields=fields,
                # What would change: every category of a deleted row, only the anonymised fields' otherwise.
                categories=categories_of(entry.get("categories"), None if strategy == DELETE else fields),
            )
            if strategy == DELETE and keys:
                # Django cascades deletions; say where, so the plan shows everything that goes.
                collector = Collector(using=matched.db)
                collector.collect(list(matched))
                counts: dict[str, int] = {}
                for model, objs in collector.data.items():
                    counts[model._meta.label] = counts.get(model._meta.label, 0) + len(objs)
                for queryset in collector.fast_deletes:
                    cascaded_label = queryset.model._meta.label
                    counts[cascaded_label] = counts.get(cascaded_label, 0) + queryset.count()
                plan.cascaded = {name: n for name, n in sorted(counts.items()) if name not in self.entries and n}
            if strategy == KEEP:
                hold = self.datamap.legal_holds[erasure["hold"]]
                plan.hold = erasure["hold"]
                if date_field:
                    dates = [d for v in matched.values_list(date_field, flat=True) if (d := value_date(v))]
                    if dates:
                        # The last kept row decides when the whole set may go.
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
            max_length=getattr(model_field, "max_length", None),
            redaction=DEFAULT_REDACTION,
        )

    def _anonymise(self, model: type[models.Model], table: TablePlan) -> int:
        changed = 0
        for pk in table.keys:
            values = {field: self._new_value(model, field, method, pk) for field, method in table.fields.items()}
            unchanged = Q()
            for name, value in values.items():
                unchanged &= Q(**{name: value}) if value is not None else Q(**{f"{name}__isnull": True})
            changed += model._default_manager.filter(pk=pk).exclude(unchanged).update(**values)
        return changed

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        facts = []
        # One transaction, children first: all of the source's changes, or none of them.
        with self._atomic("erasure"):
            for table in reversed(plan.tables):
                if table.table not in self.entries:
                    raise self.error(f'the plan names model "{table.table}", which the map no longer has')
                model = self._model(table.table)
                changed = 0
                if table.action == DELETE:
                    _, per_model = model._default_manager.filter(pk__in=table.keys).delete()
                    changed = per_model.get(model._meta.label, 0)
                elif table.fields:
                    changed = self._anonymise(model, table)
                # GDPR Art. 17(3)(b): the planned rows that are still there are the ones kept.
                kept = model._default_manager.filter(pk__in=table.keys).count() if table.action == KEEP else 0
                facts.append(
                    Fact(
                        table=table.table,
                        action=table.action,
                        found=table.count,
                        changed=changed,
                        kept=kept,
                        hold=table.hold,
                        hold_until=table.hold_until if kept else None,
                        columns=list(table.fields),
                        categories=list(table.categories) if changed else [],
                    )
                )
        return ErasureResult(source=self.key, facts=list(reversed(facts)))

    # --- rectification, restriction, consent -----------------------------------

    def _correct_value(self, label: str, field: str, text: str) -> Any:
        """Return the correct value as the field stores it; the error names the field, never the value."""
        try:
            return self._model(label)._meta.get_field(field).to_python(text)
        except ValidationError:
            raise self.error(f'the correct value for "{label}.{field}" is not valid for that field') from None

    def _corrections_apply(
        self, identifiers: Identifiers, corrections: list[Correction], *, write: bool
    ) -> tuple[list[Fact], list[str]]:
        """Return a Fact per model and correction this source maps, and the corrections it does not map."""
        facts, applied = [], set()
        for label in self._order():
            mapping = self.entries[label].get("rectify") or {}
            for correction in corrections:
                field = mapping.get(correction["field"])
                if field is None:
                    continue
                value = self._correct_value(label, field, correction["correct"])
                matched = self._matched(label, identifiers)
                differing = matched.exclude(**{f"{field}__isnull": True} if value is None else {field: value})
                # Only rows whose value differs are written: a second run changes nothing and says so.
                changed = differing.update(**{field: value}) if write else differing.count()
                category = self.datamap.corrections.get(correction["field"], {}).get("category")
                facts.append(
                    Fact(
                        table=label,
                        action=UPDATE,
                        found=matched.count(),
                        changed=changed,
                        item=correction["field"],
                        columns=[field],
                        categories=[category] if category and changed else [],
                    )
                )
                applied.add(correction["field"])
        return facts, list(dict.fromkeys(c["field"] for c in corrections if c["field"] not in applied))

    def rectification_preview(self, identifiers: Identifiers, corrections: list[Correction]) -> list[Fact]:
        if RECTIFICATION not in self.capabilities():
            raise self.unsupported("rectification")
        facts, _ = self._corrections_apply(identifiers, corrections, write=False)
        return facts

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 16: correct inaccurate data; a field this source does not hold is reported, not guessed.
        if RECTIFICATION not in self.capabilities():
            raise self.unsupported("rectification")
        with self._atomic("rectification"):
            facts, not_applicable = self._corrections_apply(identifiers, corrections, write=True)
        return ChangeResult(source=self.key, operation=RECTIFICATION, facts=facts, not_applicable=not_applicable)

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        # GDPR Art. 18(2): restricted data is only stored; systems read the flag.
        if RESTRICTION not in self.capabilities():
            raise self.unsupported("restriction")
        result = ChangeResult(source=self.key, operation=RESTRICTION)
        with self._atomic("restriction"):
            for label in self._order():
                entry = self.entries[label]
                if not entry.get("restriction"):
                    continue
                field = entry["restriction"]["field"]
                matched = self._matched(label, identifiers)
                found = matched.count()
                changed = matched.exclude(**{field: restricted}).update(**{field: restricted})
                result.facts.append(
                    Fact(
                        table=label,
                        action=UPDATE,
                        found=found,
                        changed=changed,
                        columns=[field],
                        categories=categories_of(entry.get("categories")) if changed else [],
                    )
                )
        return result

    def consent_withdraw(self, identifiers: Identifiers, consents: list[str], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 7(3): withdrawing is as easy as giving; earlier processing stays lawful.
        if CONSENT_WITHDRAWAL not in self.capabilities():
            raise self.unsupported("consent withdrawal")
        result = ChangeResult(source=self.key, operation=CONSENT_WITHDRAWAL)
        now = timezone.now()
        with self._atomic("consent withdrawal"):
            for label in self._order():
                entry = self.entries[label]
                consent = entry.get("consent")
                if not consent:
                    continue
                state, withdrawn = consent["state_field"], consent.get("withdrawn_value", False)
                values: dict[str, Any] = {state: withdrawn}
                if consent.get("withdrawn_at_field"):
                    values[consent["withdrawn_at_field"]] = now
                for key in dict.fromkeys(consents):
                    # found=0: the person never had this consent here; found>0, changed=0: already withdrawn.
                    rows = self._matched(label, identifiers).filter(**{consent["key_field"]: key})
                    found = rows.count()
                    given = rows.exclude(**{f"{state}__isnull": True}).exclude(**{state: withdrawn})
                    changed = given.update(**values)
                    result.facts.append(
                        Fact(
                            table=label,
                            action=UPDATE,
                            found=found,
                            changed=changed,
                            item=key,
                            columns=list(values),
                            categories=categories_of(entry.get("categories")) if changed else [],
                        )
                    )
        return result
