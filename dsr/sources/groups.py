"""What the table-shaped kinds (sql tables, django models) share about their record groups.

A group may name its own ``purposes`` and ``recipients`` (None: the source's),
maps its columns to data categories, and maps correction fields to columns;
these helpers check that configuration against the map and describe it for
the map's lineage (``Connector.groups_describe``) and for the facts.
"""

from collections.abc import Iterable
from typing import Any

from dsr.datamap.schema import DataMap, DataMapError

LINEAGE_KEYS = ("purposes", "recipients")


def group_lineage_errors(group: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
    """Return the problems of a group's own ``purposes`` and ``recipients`` lists, each with its path."""
    errors = []
    for key, known, what in (
        ("purposes", datamap.purposes, "purpose"),
        ("recipients", datamap.recipients, "recipient"),
    ):
        if key not in group:
            continue
        value = group[key]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            errors.append(DataMapError(f"{path}.{key}", f"must be a list of {what} keys"))
            continue
        errors += [DataMapError(f"{path}.{key}", f'unknown {what} "{item}"') for item in value if item not in known]
    return errors


def corrections_errors(rectify: Any, *, path: str, datamap: DataMap) -> list[DataMapError]:
    """Return the correction fields of a ``rectify`` mapping that the map's ``corrections`` section lacks."""
    if not isinstance(rectify, dict):
        return []
    # GDPR Art. 16: the portal offers the fields by their labels, and letters name their category.
    return [
        DataMapError(
            f"{path}.{field}",
            f'unknown correction field "{field}"; declare it under corrections with its labels and category '
            f"({field}: {{name: {{da: ..., en: ...}}, category: ...}})",
        )
        for field in rectify
        if field not in datamap.corrections
    ]


def categories_of(mapping: dict[str, str] | None, columns: Iterable[str] | None = None) -> list[str]:
    """Return the data categories ``mapping`` (column -> category) gives ``columns`` (None: every column), once each.

    The order is the mapping's; a column without a category contributes nothing.
    """
    mapping = mapping or {}
    wanted = None if columns is None else set(columns)
    return list(dict.fromkeys(category for column, category in mapping.items() if wanted is None or column in wanted))


def group_describe(group: dict, *, identifiers_key: str) -> dict:
    """Return what ``Connector.groups_describe`` says of one table or model.

    Its purposes and recipients (None: the source's), the categories it holds, whether it records
    consents, the category of each identifier it finds the person by, and the hold its rows are kept
    under on erasure. ``identifiers_key`` names the kind's identifier mapping (sql: identifiers, django: lookup).
    """
    categories = group.get("categories") or {}
    erasure = group.get("erasure") or {}
    return {
        "purposes": list(group["purposes"]) if group.get("purposes") is not None else None,
        "recipients": list(group["recipients"]) if group.get("recipients") is not None else None,
        "categories": categories_of(categories),
        "records_consents": bool(group.get("consent")),
        "identifiers": {
            kind: categories[found[0]]
            for kind, columns in (group.get(identifiers_key) or {}).items()
            if (found := [c for c in ([columns] if isinstance(columns, str) else columns) if c in categories])
        },
        "hold": erasure.get("hold") if erasure.get("strategy") == "keep" else None,
    }


LABEL_LANGUAGES = ("da", "en")


def _label_problem(value: Any) -> str | None:
    """Return what is wrong with one label as the map gives it ({da: ..., en: ...}), or None."""
    if not isinstance(value, dict) or set(value) != set(LABEL_LANGUAGES):
        return "must give the label in both languages: {da: ..., en: ...}"
    if not all(isinstance(text, str) and text.strip() for text in value.values()):
        return "must give the label in both languages as text, neither empty"
    return None


def labels_errors(group: dict, *, path: str) -> list[DataMapError]:
    """Return the problems of a group's ``label`` (its own name) and ``labels`` (its columns' names), with paths."""
    errors = []
    if "label" in group and (problem := _label_problem(group["label"])):
        errors.append(DataMapError(f"{path}.label", problem))
    if "labels" not in group:
        return errors
    labels = group["labels"]
    if not isinstance(labels, dict) or not labels:
        return [
            *errors,
            DataMapError(f"{path}.labels", "must map columns to labels, e.g. {customer_no: {da: ..., en: ...}}"),
        ]
    for column, label in labels.items():
        if problem := _label_problem(label):
            errors.append(DataMapError(f"{path}.labels.{column}", problem))
    return errors


def group_labels(group: dict) -> dict:
    """Return the names a person reads for a group and its columns: ``{"label": {da, en} | None, "columns": {...}}``.

    Called on a configuration that ``labels_errors`` found valid; the export bundle humanises what has no label.
    """
    return {
        "label": {lang: group["label"][lang].strip() for lang in LABEL_LANGUAGES} if group.get("label") else None,
        "columns": {
            str(column): {lang: label[lang].strip() for lang in LABEL_LANGUAGES}
            for column, label in (group.get("labels") or {}).items()
        },
    }
