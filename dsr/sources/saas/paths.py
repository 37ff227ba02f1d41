"""The small path and template languages of the `saas` kind (dsr/sources/saas/README.md).

A path picks values out of a JSON answer: ``data[*]`` (every item of the list
``data``), ``exact_matches.members[*]``, ``data[-1].id`` (the last item's id),
``.`` (the answer itself). A template fills ``{name}`` slots from named
values: ``/v1/customers/{subject.id}``, ``email:'{identity}'``,
``{identity|lower|md5}``. A string that is one slot and nothing else
(``"{subject}"``) is replaced by the value itself, so a body can carry an
object.
"""

import hashlib
import re
from typing import Any
from urllib.parse import quote

_SEGMENT = re.compile(r"^([A-Za-z0-9_$@-]*)((?:\[(?:\*|-?\d+)\])*)$")
_INDEX = re.compile(r"\[(\*|-?\d+)\]")
SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)((?:\|[a-z0-9_]+)*)\}")
# A slot, or a doubled brace: {{ and }} stand for one brace (a GraphQL query in a body).
_SLOT_OR_BRACE = re.compile(r"\{\{|\}\}|" + SLOT.pattern)
FILTERS = {
    "lower": lambda value: value.lower(),
    "upper": lambda value: value.upper(),
    "trim": lambda value: value.strip(),
    "md5": lambda value: hashlib.md5(value.encode(), usedforsecurity=False).hexdigest(),
    "sha256": lambda value: hashlib.sha256(value.encode()).hexdigest(),
    "urlencode": lambda value: quote(value, safe=""),
}
# The names a template may start with, and what each holds (README.md, "Templates").
ROOTS = ("identity", "subject", "record", "job", "secrets", "settings", "reference", "correct", "value")


class TemplateError(ValueError):
    """A template names a value that is not there."""


def path_errors(path: Any) -> list[str]:
    """Return what is wrong with a path, or nothing."""
    if not isinstance(path, str) or not path:
        return ["must be a path such as data[*] or . (the whole answer)"]
    if path == ".":
        return []
    for segment in path.split("."):
        if not _SEGMENT.match(segment) or segment == "":
            return [f'"{path}" is not a path: use names, dots, [*] and [n] (e.g. data[*].id)']
    return []


def path_values(data: Any, path: str) -> list[Any]:
    """Return every value ``path`` reaches in ``data`` (an empty list where it reaches nothing)."""
    if path == ".":
        return [data]
    values = [data]
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            return []
        name, indexes = match.group(1), _INDEX.findall(match.group(2))
        found = []
        for value in values:
            if name:
                if not isinstance(value, dict) or name not in value:
                    continue
                value = value[name]
            found.append(value)
        for index in indexes:
            expanded = []
            for value in found:
                if not isinstance(value, list):
                    continue
                if index == "*":
                    expanded += value
                elif -len(value) <= int(index) < len(value):
                    expanded.append(value[int(index)])
            found = expanded
        values = found
    return values


def path_value(data: Any, path: str) -> Any:
    """Return the first value ``path`` reaches in ``data``, or None."""
    values = path_values(data, path)
    return values[0] if values else None


def template_errors(template: Any) -> list[str]:
    """Return what is wrong with the slots of a template (a string, or a list or object of them)."""
    errors = []
    for text in _strings(template):
        for name, filters in _slots(text):
            if name.split(".")[0] not in ROOTS:
                errors.append(f"{{{name}}}: unknown value; a slot starts with one of {', '.join(ROOTS)}")
            for filter_name in filters.split("|")[1:]:
                if filter_name not in FILTERS:
                    errors.append(f"{{{name}{filters}}}: unknown filter {filter_name!r}; known: {', '.join(FILTERS)}")
        leftover = _SLOT_OR_BRACE.sub("", text)
        if "{" in leftover and "}" in leftover:
            errors.append(
                f'"{text}" has a slot that is not {{name}}, {{name.field}} or {{name|filter}} '
                "(a brace that is meant as itself is written twice: {{ or }})"
            )
    return errors


def template_names(template: Any) -> set[str]:
    """Return the dotted names a template's slots use."""
    return {name for text in _strings(template) for name, _ in _slots(text)}


def _slots(text: str) -> list[tuple[str, str]]:
    """Return the (name, filters) of the slots in ``text``, leaving doubled braces out."""
    return [(match.group(1), match.group(2)) for match in _SLOT_OR_BRACE.finditer(text) if match.group(1)]


def _strings(template: Any) -> list[str]:
    if isinstance(template, str):
        return [template]
    if isinstance(template, list):
        return [text for item in template for text in _strings(item)]
    if isinstance(template, dict):
        return [text for item in template.values() for text in _strings(item)]
    return []


def _lookup(values: dict, name: str) -> Any:
    value: Any = values
    for part in name.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise TemplateError(f"{{{name}}} has no value here")
    if value is None:
        raise TemplateError(f"{{{name}}} is empty")
    return value


def _filtered(value: Any, filters: str) -> Any:
    for filter_name in filters.split("|")[1:]:
        value = FILTERS[filter_name](str(value))
    return value


def template_fill(template: Any, values: dict, *, quote_path: bool = False) -> Any:
    """Return ``template`` with its slots filled from ``values``; raise TemplateError for a missing value.

    ``quote_path`` percent-encodes each filled value, for a slot in a URL path.
    """
    if isinstance(template, dict):
        return {key: template_fill(item, values) for key, item in template.items()}
    if isinstance(template, list):
        return [template_fill(item, values) for item in template]
    if not isinstance(template, str):
        return template
    whole = SLOT.fullmatch(template)
    if whole and not quote_path:
        return _filtered(_lookup(values, whole.group(1)), whole.group(2))

    def replace(match: re.Match) -> str:
        if not match.group(1):
            return match.group(0)[0]  # {{ or }}: one brace
        value = _filtered(_lookup(values, match.group(1)), match.group(2))
        if isinstance(value, dict | list):
            raise TemplateError(f"{{{match.group(1)}}} is an object and cannot stand inside text")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return quote(text, safe="") if quote_path else text

    return _SLOT_OR_BRACE.sub(replace, template)
