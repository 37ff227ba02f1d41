"""Checking a `django` source's configuration: every problem, each with its path in the map file."""

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import ANONYMISE, DELETE, KEEP
from dsr.sources.groups import corrections_errors, group_lineage_errors, labels_errors

MODEL_KEYS = {
    "lookup",
    "link",
    "fields",
    "categories",
    "erasure",
    "rectify",
    "restriction",
    "consent",
    "purposes",
    "recipients",
    "label",
    "labels",
}
ERASURE_KEYS = {"strategy", "fields", "hold", "date_field"}
CONSENT_KEYS = {"key_field", "state_field", "withdrawn_value", "withdrawn_at_field"}
ANONYMISE_METHODS = ("clear", "redact", "hash")


def model_get(label: Any) -> type[models.Model] | None:
    """Return the installed model ``app_label.ModelName``, or None."""
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


def config_errors(config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
    """Return every problem in a django source's configuration, each with its path."""
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
        model = model_get(label)
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
        errors += group_lineage_errors(entry, path=where, datamap=datamap)
        errors += labels_errors(entry, path=where)
        labels = entry.get("labels")
        named += [(f"{where}.labels.{field}", field) for field in (labels if isinstance(labels, dict) else {})]
        erasure = entry.get("erasure")
        if not isinstance(erasure, dict) or erasure.get("strategy") not in (DELETE, ANONYMISE, KEEP):
            error(f"{where}.erasure", "is required: {strategy: delete | anonymise | keep, ...}")
            erasure = {}
        for key in erasure:
            if key not in ERASURE_KEYS:
                error(f"{where}.erasure.{key}", f"unknown key; expected one of {', '.join(sorted(ERASURE_KEYS))}")
        for field, method in (erasure.get("fields") or {}).items():
            named.append((f"{where}.erasure.fields", field))
            if (method or "clear") not in ANONYMISE_METHODS:
                error(f"{where}.erasure.fields.{field}", "method must be clear, redact or hash")
        if erasure.get("date_field"):
            named.append((f"{where}.erasure.date_field", erasure["date_field"]))
        if erasure.get("strategy") == KEEP and erasure.get("hold") not in datamap.legal_holds:
            error(f"{where}.erasure.hold", f'unknown legal hold "{erasure.get("hold")}"')
        rectify = entry.get("rectify") or {}
        if not isinstance(rectify, dict):
            error(f"{where}.rectify", "must map correction fields to model fields, e.g. {address: street}")
            rectify = {}
        named += [(f"{where}.rectify", field) for field in rectify.values()]
        errors += corrections_errors(rectify, path=f"{where}.rectify", datamap=datamap)
        if entry.get("restriction"):
            named.append((f"{where}.restriction.field", (entry["restriction"] or {}).get("field")))
        consent = entry.get("consent")
        if consent is not None:
            consent = consent if isinstance(consent, dict) else {}
            for key in consent:
                if key not in CONSENT_KEYS:
                    error(f"{where}.consent.{key}", f"unknown key; expected one of {', '.join(sorted(CONSENT_KEYS))}")
            for key in ("key_field", "state_field"):
                if key not in consent:
                    error(f"{where}.consent.{key}", "is required")
            named += [
                (f"{where}.consent.{key}", consent[key])
                for key in ("key_field", "state_field", "withdrawn_at_field")
                if key in consent
            ]
        for where_field, field in named:
            if not isinstance(field, str) or not _field_exists(model, field):
                error(where_field, f'{label} has no field "{field}"')
    return errors
