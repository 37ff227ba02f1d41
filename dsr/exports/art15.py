"""The GDPR Art. 15(1)(a)-(h) and 15(2) information, built from the data map for the data actually found.

Only sources that hold data about this person contribute: their purposes,
the categories of the fields found, their recipients by name (CJEU C-154/21,
Österreichische Post), retention, origin, profiling and transfers. When
nothing was found the answer says so and still gives the rights and the
supervisory authority.
"""

from dataclasses import dataclass, field

from dsr.datamap.schema import DATATILSYNET, DataMap

# GDPR Art. 6(1)(a)-(f), in the words a person understands.
LEGAL_BASES = {
    "a": {"da": "samtykke (artikel 6, stk. 1, litra a)", "en": "consent (Art. 6(1)(a))"},
    "b": {
        "da": "opfyldelse af en kontrakt med dig (artikel 6, stk. 1, litra b)",
        "en": "performance of a contract with you (Art. 6(1)(b))",
    },
    "c": {"da": "en retlig forpligtelse (artikel 6, stk. 1, litra c)", "en": "a legal obligation (Art. 6(1)(c))"},
    "d": {"da": "vitale interesser (artikel 6, stk. 1, litra d)", "en": "vital interests (Art. 6(1)(d))"},
    "e": {
        "da": "en opgave i samfundets interesse (artikel 6, stk. 1, litra e)",
        "en": "a task in the public interest (Art. 6(1)(e))",
    },
    "f": {"da": "legitime interesser (artikel 6, stk. 1, litra f)", "en": "legitimate interests (Art. 6(1)(f))"},
}
ROLES = {
    "processor": {"da": "databehandler", "en": "processor"},
    "controller": {"da": "selvstændig dataansvarlig", "en": "independent controller"},
}
# The EU member states and Iceland, Liechtenstein and Norway: no transfer safeguard is needed (GDPR Art. 44).
EEA = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO".split()  # noqa: SIM905
)


def _text(value: dict | str | None, language: str) -> str:
    if isinstance(value, dict):
        return value.get(language) or value.get("en") or value.get("da") or ""
    return value or ""


@dataclass
class FoundTable:
    """What the bundle holds from one table: its files and the categories of the fields found."""

    source: str
    table: str
    records: int
    categories: dict[str, str]  # column -> category key
    files: list[str] = field(default_factory=list)


@dataclass
class FoundFile:
    """A file a person in the privacy team uploaded for a manual source (e.g. exported chats)."""

    source: str
    path: str
    size: int


def art15_information(
    datamap: DataMap, *, tables: list[FoundTable], files: list[FoundFile], searched: list[str], language: str
) -> dict:
    """Return the Art. 15 information for the data found, as plain values for the templates."""
    holding = sorted(
        {t.source for t in tables if t.records} | {f.source for f in files}, key=list(datamap.sources).index
    )
    found_categories: set[str] = set()
    for table in tables:
        found_categories.update(table.categories.values())
    for key in holding:
        # Manual and http sources state their categories as a list (or per record group) in their config.
        config_categories = datamap.sources[key]["config"].get("categories", [])
        if isinstance(config_categories, list) and any(f.source == key for f in files):
            found_categories.update(config_categories)

    sources = []
    purpose_keys: list[str] = []
    recipient_keys: list[str] = []
    holds: dict[str, set[str]] = {}
    for key in holding:
        source = datamap.sources[key]
        source_tables = [t for t in tables if t.source == key and t.records]
        for table in source_tables:
            hold = source["config"].get("tables", {}).get(table.table, {}).get("erasure", {}).get("hold")
            if hold and hold in datamap.legal_holds:
                holds.setdefault(hold, set()).add(table.table)
        purpose_keys += [p for p in source["purposes"] if p not in purpose_keys]
        recipient_keys += [r for r in source["recipients"] if r not in recipient_keys]
        sources.append(
            {
                "key": key,
                "name": source["name"],
                "description": _text(source.get("description"), language),
                "origin": _text(source["origin"], language),
                "provided": bool(source["provided_by_subject"]),
                "tables": [
                    {
                        "name": t.table,
                        "records": t.records,
                        "files": t.files,
                        "categories": sorted(
                            {_text(datamap.categories[c]["name"], language) for c in t.categories.values()}
                        ),
                    }
                    for t in source_tables
                ],
                "files": [f for f in files if f.source == key],
                "purposes": [_text(datamap.purposes[p]["name"], language) for p in source["purposes"]],
                "recipients": [datamap.recipients[r]["name"] for r in source["recipients"]],
            }
        )

    purposes = []
    for key in purpose_keys:
        purpose = datamap.purposes[key]
        purposes.append(
            {
                "name": _text(purpose["name"], language),
                "legal_bases": [LEGAL_BASES[b][language] for b in purpose["legal_basis"]],
                "legitimate_interest": _text(purpose["legitimate_interest"], language),
                "retention": _text(purpose["retention"], language),
                "categories": [
                    _text(datamap.categories[c]["name"], language)
                    for c in purpose["categories"]
                    if c in found_categories
                ],
                "profiling": purpose["profiling"],
                "profiling_description": _text(purpose["profiling_description"], language),
            }
        )

    recipients = []
    for key in recipient_keys:
        recipient = datamap.recipients[key]
        outside = [country for country in recipient["countries"] if country not in EEA]
        recipients.append(
            {
                "name": recipient["name"],
                "role": ROLES.get(recipient["role"], {}).get(language, recipient["role"]),
                "countries": recipient["countries"],
                "outside_eea": outside,
                "safeguard": _text(recipient["safeguard"], language) if outside else "",
                "purposes": [
                    _text(datamap.purposes[p]["name"], language) for p in recipient["purposes"] if p in purpose_keys
                ],
            }
        )

    categories = [
        {"name": _text(c["name"], language), "description": _text(c["description"], language)}
        for key, c in datamap.categories.items()
        if key in found_categories
    ]
    legal_holds = [
        {
            "name": _text(datamap.legal_holds[key]["name"], language),
            "law": datamap.legal_holds[key]["law"],
            "description": _text(datamap.legal_holds[key]["description"], language),
            "tables": sorted(names),
        }
        for key, names in holds.items()
    ]
    controller = datamap.controller
    return {
        "found": bool(holding),
        "controller": controller,
        "authority": controller.get("authority") or DATATILSYNET,
        "searched": [datamap.sources[key]["name"] for key in searched if key in datamap.sources],
        "sources": sources,
        "purposes": purposes,
        "categories": categories,
        "recipients": recipients,
        "transfers": [r for r in recipients if r["outside_eea"]],
        "profiling": [p for p in purposes if p["profiling"]],
        "legal_holds": legal_holds,
        "records": sum(t.records for t in tables),
    }
