"""Parse and validate the data map file into one normalised, JSON-ready document (dsr.datamap.schema.DataMap).

Validation collects every error with its path in the file
(``sources.shop.tables.invoice.link: unknown table "invoices"``) so one run
shows the privacy team everything to fix. Each source's own configuration is
checked by its connector kind (dsr.sources.registry), which also describes the
source's record groups (tables, models): each group's purposes, recipients and
categories become the source's ``groups``, the lineage dsr.datamap.lineage reads.
"""

import re
from typing import Any

from dsr.datamap.lineage import recipients_named
from dsr.datamap.rules import rule_errors
from dsr.datamap.schema import DATATILSYNET, DataMap, DataMapError, DataMapInvalid
from dsr.datamap.yamlread import YamlRefused, yaml_read
from dsr.jurisdictions import PROFILES
from dsr.sources.registry import connector_class, connector_kinds

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
LEGAL_BASES = ("a", "b", "c", "d", "e", "f")
RECIPIENT_ROLES = ("processor", "controller")
SOURCE_COMMON_KEYS = {"name", "kind", "purposes", "recipients", "origin", "provided_by_subject", "description"}
TOP_LEVEL_KEYS = ("controller", "categories", "purposes", "recipients", "legal_holds", "corrections", "sources")


class _Reader:
    """Read values from the raw document, recording an error for each bad one."""

    def __init__(self) -> None:
        self.errors: list[DataMapError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(DataMapError(path, message))

    def mapping(self, value: Any, path: str, *, required: bool = True) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.error(path, "must be a mapping" if value is not None else "is required")
            return {}
        return value

    def unknown_keys(self, value: dict, allowed: set[str] | tuple, path: str) -> None:
        for key in value:
            if key not in allowed:
                self.error(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def text(self, value: Any, path: str, *, required: bool = True) -> str:
        if value is None or value == "":
            if required:
                self.error(path, "is required")
            return ""
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.error(path, "must be text")
            return ""
        return str(value).strip()

    def localised(self, value: Any, path: str, *, required: bool = True) -> dict[str, str]:
        """Human-facing text in Danish and English: letters go out in both languages."""
        if value is None and not required:
            return {"da": "", "en": ""}
        if not isinstance(value, dict):
            self.error(path, "must give the text in both languages: {da: ..., en: ...}")
            return {"da": "", "en": ""}
        self.unknown_keys(value, {"da", "en"}, path)
        return {lang: self.text(value.get(lang), f"{path}.{lang}") for lang in ("da", "en")}

    def text_localised(self, value: Any, path: str) -> dict[str, str]:
        """Text a person reads that may be the same in both languages: a plain string stands for both."""
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = self.text(value, path)
            return {"da": text, "en": text}
        if not isinstance(value, dict):
            self.error(
                path,
                "is required" if value is None else "must be text, or the text in both languages: {da: ..., en: ...}",
            )
            return {"da": "", "en": ""}
        return self.localised(value, path)

    def email(self, value: Any, path: str, *, required: bool = True) -> str:
        text = self.text(value, path, required=required)
        if text and not EMAIL_PATTERN.match(text):
            self.error(path, f"{text!r} is not an email address")
        return text

    def boolean(self, value: Any, path: str, *, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(path, "must be true or false")
            return default
        return value

    def keys(self, value: Any, path: str, known: dict | set, what: str, *, required: bool = False) -> list[str]:
        if value is None:
            if required:
                self.error(path, f"is required: a list of {what} keys")
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.error(path, f"must be a list of {what} keys")
            return []
        for item in value:
            if item not in known:
                self.error(path, f'unknown {what} "{item}"')
        if required and not value:
            self.error(path, f"name at least one {what}")
        return list(dict.fromkeys(value))

    def section(self, value: Any, path: str) -> dict[str, dict]:
        """Return a keyed section's entries whose keys are valid."""
        entries = self.mapping(value, path)
        valid = {}
        for key, entry in entries.items():
            if not isinstance(key, str) or not KEY_PATTERN.match(key):
                self.error(f"{path}.{key}", "keys are lower-case letters, digits and _ (at most 64), starting a letter")
                continue
            valid[key] = self.mapping(entry, f"{path}.{key}")
        return valid


def _controller_read(reader: _Reader, raw: Any) -> dict:
    path = "controller"
    raw = reader.mapping(raw, path)
    reader.unknown_keys(
        raw,
        {"name", "address", "cvr", "email", "phone", "dpo_email", "authority", "financial_year_end", "jurisdictions"},
        path,
    )
    controller = {
        "name": reader.text(raw.get("name"), f"{path}.name"),
        "address": reader.text(raw.get("address"), f"{path}.address"),
        "cvr": reader.text(raw.get("cvr"), f"{path}.cvr"),
        "email": reader.email(raw.get("email"), f"{path}.email"),
        "phone": reader.text(raw.get("phone"), f"{path}.phone", required=False),
        "dpo_email": reader.email(raw.get("dpo_email"), f"{path}.dpo_email", required=False),
        "financial_year_end": reader.text(raw.get("financial_year_end", "12-31"), f"{path}.financial_year_end"),
    }
    cvr_digits = controller["cvr"].replace(" ", "")
    if controller["cvr"] and not re.fullmatch(r"\d{8}", cvr_digits):
        reader.error(f"{path}.cvr", "a CVR number has 8 digits")
    if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", controller["financial_year_end"]):
        reader.error(f"{path}.financial_year_end", "write the last day of the financial year as MM-DD, e.g. 12-31")
        controller["financial_year_end"] = "12-31"
    authority_raw = raw.get("authority")
    if authority_raw is None:
        controller["authority"] = dict(DATATILSYNET)
    else:
        authority_raw = reader.mapping(authority_raw, f"{path}.authority")
        reader.unknown_keys(authority_raw, set(DATATILSYNET), f"{path}.authority")
        controller["authority"] = {
            "name": reader.text(authority_raw.get("name"), f"{path}.authority.name"),
            "address": reader.text(authority_raw.get("address"), f"{path}.authority.address"),
            "phone": reader.text(authority_raw.get("phone"), f"{path}.authority.phone"),
            "email": reader.email(authority_raw.get("email"), f"{path}.authority.email"),
            "url": reader.text(authority_raw.get("url"), f"{path}.authority.url"),
        }
    # The jurisdiction profiles the controller answers requests under (dsr/jurisdictions/); none listed: all.
    controller["jurisdictions"] = reader.keys(
        raw.get("jurisdictions"), f"{path}.jurisdictions", PROFILES, "jurisdiction profile"
    )
    return controller


def _categories_read(reader: _Reader, raw: Any) -> dict[str, dict]:
    categories = {}
    for key, entry in reader.section(raw, "categories").items():
        path = f"categories.{key}"
        reader.unknown_keys(entry, {"name", "description"}, path)
        categories[key] = {
            "key": key,
            "name": reader.localised(entry.get("name"), f"{path}.name"),
            "description": reader.localised(entry.get("description"), f"{path}.description", required=False),
        }
    if not categories and isinstance(raw, dict):
        reader.error("categories", "name at least one category")
    return categories


def _purposes_read(reader: _Reader, raw: Any, categories: dict) -> dict[str, dict]:
    purposes = {}
    allowed = {
        "name",
        "legal_basis",
        "legitimate_interest",
        "retention",
        "retention_rule",
        "profiling",
        "profiling_description",
        "categories",
        "consent_key",
        "sensitive_beyond_permitted",
    }
    for key, entry in reader.section(raw, "purposes").items():
        path = f"purposes.{key}"
        reader.unknown_keys(entry, allowed, path)
        bases = entry.get("legal_basis")
        bases = [bases] if isinstance(bases, str) else bases
        if not isinstance(bases, list) or not bases or any(basis not in LEGAL_BASES for basis in bases):
            reader.error(f"{path}.legal_basis", 'give the letter(s) of Art. 6(1): "a" to "f", e.g. [b, f]')
            bases = []
        # GDPR Art. 13(1)(d): the legitimate interests pursued must be stated.
        if "f" in bases and entry.get("legitimate_interest") is None:
            reader.error(f"{path}.legitimate_interest", "is required when the legal basis includes (f)")
        for problem in rule_errors(entry.get("retention_rule")):
            reader.error(f"{path}.retention_rule", problem)
        profiling = reader.boolean(entry.get("profiling"), f"{path}.profiling")
        consent_key = reader.text(entry.get("consent_key"), f"{path}.consent_key", required=False)
        if consent_key and "a" not in bases:
            reader.error(f"{path}.consent_key", "only a purpose based on consent (a) has a consent to withdraw")
        purposes[key] = {
            "key": key,
            "name": reader.localised(entry.get("name"), f"{path}.name"),
            "legal_basis": bases,
            "legitimate_interest": reader.localised(
                entry.get("legitimate_interest"), f"{path}.legitimate_interest", required=False
            ),
            "retention": reader.localised(entry.get("retention"), f"{path}.retention"),
            "retention_rule": entry.get("retention_rule") if isinstance(entry.get("retention_rule"), dict) else {},
            "profiling": profiling,
            # GDPR Art. 15(1)(h): meaningful information about the logic involved.
            "profiling_description": reader.localised(
                entry.get("profiling_description"), f"{path}.profiling_description", required=profiling
            ),
            "categories": reader.keys(entry.get("categories"), f"{path}.categories", categories, "category"),
            "consent_key": consent_key or (key if "a" in bases else ""),
            # Cal. Civ. Code § 1798.121, CCPA regs § 7027(m): the purpose uses sensitive personal information for
            # more than the permitted purposes, so a Californian's request to limit stops it.
            "sensitive_beyond_permitted": reader.boolean(
                entry.get("sensitive_beyond_permitted"), f"{path}.sensitive_beyond_permitted"
            ),
        }
    return purposes


def _recipients_read(reader: _Reader, raw: Any, purposes: dict) -> dict[str, dict]:
    recipients = {}
    allowed = {"name", "role", "country", "countries", "safeguard", "contact_email", "purposes"}
    for key, entry in reader.section(raw, "recipients").items():
        path = f"recipients.{key}"
        reader.unknown_keys(entry, allowed, path)
        role = entry.get("role")
        if role not in RECIPIENT_ROLES:
            reader.error(f"{path}.role", f"must be processor or controller (got {role!r})")
        country = reader.text(entry.get("country"), f"{path}.country")
        countries = entry.get("countries", [country] if country else [])
        if not isinstance(countries, list) or not all(
            isinstance(code, str) and COUNTRY_PATTERN.match(code) for code in [country, *countries] if code
        ):
            reader.error(f"{path}.country", "use ISO 3166-1 alpha-2 country codes such as DK, IE or US")
            countries = []
        recipients[key] = {
            "key": key,
            "name": reader.text(entry.get("name"), f"{path}.name"),
            "role": role if role in RECIPIENT_ROLES else "",
            "country": country,
            "countries": list(dict.fromkeys([country, *countries])) if country else countries,
            # GDPR Art. 15(2), 46: how a transfer outside the EEA is safeguarded.
            "safeguard": reader.localised(entry.get("safeguard"), f"{path}.safeguard"),
            # GDPR Art. 19: recipients are told of rectification, erasure and restriction.
            "contact_email": reader.email(entry.get("contact_email"), f"{path}.contact_email", required=False),
            "purposes": reader.keys(entry.get("purposes"), f"{path}.purposes", purposes, "purpose"),
        }
    return recipients


def _corrections_read(reader: _Reader, raw: Any, categories: dict) -> dict[str, dict]:
    """Read the fields a person may ask to have corrected (GDPR Art. 16): the portal offers them by label."""
    corrections = {}
    for key, entry in reader.section(raw if raw is not None else {}, "corrections").items():
        path = f"corrections.{key}"
        reader.unknown_keys(entry, {"name", "category"}, path)
        category = entry.get("category")
        if category not in categories:
            reader.error(f"{path}.category", f'unknown category "{category}"')
        corrections[key] = {
            "key": key,
            "name": reader.localised(entry.get("name"), f"{path}.name"),
            "category": category if category in categories else "",
        }
    return corrections


def _holds_read(reader: _Reader, raw: Any) -> dict[str, dict]:
    holds = {}
    for key, entry in reader.section(raw if raw is not None else {}, "legal_holds").items():
        path = f"legal_holds.{key}"
        reader.unknown_keys(entry, {"name", "law", "period_rule", "description"}, path)
        for problem in rule_errors(entry.get("period_rule")):
            reader.error(f"{path}.period_rule", problem)
        holds[key] = {
            "key": key,
            "name": reader.localised(entry.get("name"), f"{path}.name"),
            # GDPR Art. 17(3)(b): the legal obligation that requires keeping the data, named in the letter's language.
            "law": reader.text_localised(entry.get("law"), f"{path}.law"),
            "period_rule": entry.get("period_rule") if isinstance(entry.get("period_rule"), dict) else {},
            "description": reader.localised(entry.get("description"), f"{path}.description", required=False),
        }
    return holds


def _sources_read(reader: _Reader, raw: Any, document: dict) -> dict[str, dict]:
    sources = {}
    for key, entry in reader.section(raw, "sources").items():
        path = f"sources.{key}"
        kind = entry.get("kind")
        cls = connector_class(kind) if isinstance(kind, str) else None
        if cls is None:
            reader.error(f"{path}.kind", f"unknown kind {kind!r}; known kinds: {', '.join(connector_kinds())}")
        config = {name: value for name, value in entry.items() if name not in SOURCE_COMMON_KEYS and name != "kind"}
        source = {
            "key": key,
            "name": reader.text_localised(entry.get("name"), f"{path}.name"),
            "kind": kind if cls else "",
            "description": reader.localised(entry.get("description"), f"{path}.description", required=False),
            "purposes": reader.keys(
                entry.get("purposes"), f"{path}.purposes", document["purposes"], "purpose", required=True
            ),
            "recipients": reader.keys(
                entry.get("recipients"), f"{path}.recipients", document["recipients"], "recipient"
            ),
            # GDPR Art. 15(1)(g): where the data came from when not from the person.
            "origin": reader.localised(entry.get("origin"), f"{path}.origin"),
            "provided_by_subject": [],
            "config": config,
        }
        provided = entry.get("provided_by_subject", [])
        if not isinstance(provided, list) or not all(isinstance(item, str) for item in provided):
            reader.error(f"{path}.provided_by_subject", "must be a list of record groups (e.g. table names)")
        else:
            source["provided_by_subject"] = provided
        source["groups"] = {}
        if cls is not None:
            config_errors = cls.config_errors(config, path=path, datamap=DataMap(document))
            reader.errors += config_errors
            record_groups = cls.record_groups(config)
            for item in source["provided_by_subject"]:
                if record_groups is not None and item not in record_groups:
                    reader.error(f"{path}.provided_by_subject", f'unknown record group "{item}"')
            if not config_errors:
                source["groups"] = _groups_read(reader, cls.groups_describe(config), source, document)
        sources[key] = source
    return sources


def _group_path(source: dict, group: str) -> str:
    """Return where a record group stands in the file (sources.shop.tables.customer), to name it in errors."""
    for name, value in source["config"].items():
        if isinstance(value, dict) and group in value:
            return f"sources.{source['key']}.{name}.{group}"
    return f"sources.{source['key']}.groups.{group}"


def _groups_read(reader: _Reader, described: dict, source: dict, document: dict) -> dict[str, dict]:
    """Return each record group's purposes, recipients and categories, the source's where the group names none.

    The lineage (dsr.datamap.lineage) reads these to say which purposes and recipients apply to the data
    found or changed in a group (GDPR Art. 15(1)(a) and (c), Art. 19). The connector validated its own
    configuration; the keys it names are checked here again, in case it did not.
    """
    groups = {}
    for group, entry in described.items():
        path = _group_path(source, group)
        purposes, recipients = entry.get("purposes"), entry.get("recipients")
        groups[group] = {
            "purposes": source["purposes"]
            if purposes is None
            else reader.keys(purposes, f"{path}.purposes", document["purposes"], "purpose"),
            "purposes_declared": purposes is not None,
            "recipients": source["recipients"]
            if recipients is None
            else reader.keys(recipients, f"{path}.recipients", document["recipients"], "recipient"),
            "recipients_declared": recipients is not None,
            "categories": reader.keys(
                entry.get("categories"), f"{path}.categories", document["categories"], "category"
            ),
            # Whether the group holds the person's consents (a consent table): what it holds then says
            # which consent-based purposes apply (GDPR Art. 7(1)).
            "records_consents": entry.get("records_consents") is True,
            # The category of each identifier the group finds the person by ({"email": "contact"}): an
            # Art. 19 notice names the person only by identifiers its recipient received.
            "identifiers": {
                kind: category
                for kind, category in (entry.get("identifiers") or {}).items()
                if category in document["categories"]
            },
            # The legal hold the group's rows are kept under on erasure (GDPR Art. 17(3)(b)), if any.
            "hold": entry.get("hold") if entry.get("hold") in document["legal_holds"] else None,
        }
    return groups


def _recipients_reachable(reader: _Reader, document: dict) -> None:
    """Refuse a recipient nothing leads to: the Art. 15 answer and Art. 19 notices could never name it."""
    named = recipients_named(DataMap(document))
    for key, recipient in document["recipients"].items():
        if key not in named and not recipient["purposes"]:
            reader.error(
                f"recipients.{key}",
                "reachable from no purpose or source; name it under a source's recipients or give it purposes",
            )


def datamap_parse(text: str) -> DataMap:
    """Return the validated map in ``text``; raise DataMapInvalid listing every error."""
    reader = _Reader()
    try:
        raw = yaml_read(text)
    except YamlRefused as exc:
        raise DataMapInvalid([DataMapError(exc.where, exc.problem)]) from None
    if not isinstance(raw, dict):
        raise DataMapInvalid([DataMapError("(top)", "the file must be a mapping with controller, purposes, sources")])
    reader.unknown_keys(raw, TOP_LEVEL_KEYS, "(top)")
    document: dict = {"controller": _controller_read(reader, raw.get("controller"))}
    document["categories"] = _categories_read(reader, raw.get("categories"))
    document["purposes"] = _purposes_read(reader, raw.get("purposes"), document["categories"])
    document["recipients"] = _recipients_read(reader, raw.get("recipients"), document["purposes"])
    document["legal_holds"] = _holds_read(reader, raw.get("legal_holds"))
    document["corrections"] = _corrections_read(reader, raw.get("corrections"), document["categories"])
    document["sources"] = _sources_read(reader, raw.get("sources"), document)
    _recipients_reachable(reader, document)
    if reader.errors:
        raise DataMapInvalid(reader.errors)
    return DataMap(document)
