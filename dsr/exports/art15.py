"""The GDPR Art. 15(1)(a)-(h) and 15(2) information, built from the data map for the data actually found.

Only what applies to this person is named: the purposes of the tables that
hold their data (consent-based ones only where they gave the consent), the
categories of the fields found, the recipients that received data of those
kinds, named (CJEU C-154/21, Österreichische Post), whether attached to a
source or to a purpose, retention, origin, profiling, and the transfers those
recipients make. The map's lineage decides (dsr.datamap.lineage). When
nothing was found the answer says so and still gives the rights and the
supervisory authority.
"""

from dataclasses import dataclass, field

from dsr.datamap.lineage import purposes_applying, recipients_applying
from dsr.datamap.lineage import transfers as lineage_transfers
from dsr.datamap.schema import DATATILSYNET, DataMap, localised

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


def _holds_of(datamap: DataMap, source: dict, table: str) -> str | None:
    """Return the legal hold a source's table is kept under on erasure, if the map names one."""
    hold = ((source.get("groups") or {}).get(table) or {}).get("hold")
    return hold if hold in datamap.legal_holds else None


def art15_information(
    datamap: DataMap,
    *,
    tables: list[FoundTable],
    files: list[FoundFile],
    searched: list[str],
    language: str,
    consents: set[str] | None = None,
) -> dict:
    """Return the Art. 15 information for the data found, as plain values for the templates.

    Purposes, recipients and transfers are those the map's lineage (dsr.datamap.lineage) says apply to the
    data actually found and the consents the person actually gave (``consents``; None: unknown).
    """
    holding = sorted(
        {t.source for t in tables if t.records} | {f.source for f in files}, key=list(datamap.sources).index
    )
    found: list[tuple[str, str, list[str]]] = [
        (t.source, t.table, sorted(set(t.categories.values()))) for t in tables if t.records
    ]
    for key in sorted({f.source for f in files}):
        # A file an owner uploaded for a source worked by hand holds what that source holds.
        for group, described in (datamap.sources[key].get("groups") or {"": {}}).items():
            found.append((key, group, list(described.get("categories") or [])))
    found_categories: set[str] = {category for _s, _g, categories in found for category in categories}
    purpose_keys = purposes_applying(datamap, found, consents)
    recipient_keys = recipients_applying(datamap, found, purpose_keys, consents)

    sources = []
    holds: dict[str, set[str]] = {}
    for key in holding:
        source = datamap.sources[key]
        source_tables = [t for t in tables if t.source == key and t.records]
        for table in source_tables:
            hold = _holds_of(datamap, source, table.table)
            if hold:
                holds.setdefault(hold, set()).add(table.table)
        here = purposes_applying(datamap, [entry for entry in found if entry[0] == key], consents)
        receivers = recipients_applying(datamap, [entry for entry in found if entry[0] == key], here, consents)
        sources.append(
            {
                "key": key,
                "name": localised(source["name"], language),
                "description": localised(source.get("description"), language),
                "origin": localised(source["origin"], language),
                "provided": bool(source["provided_by_subject"]),
                "tables": [
                    {
                        "name": t.table,
                        "records": t.records,
                        "files": t.files,
                        "categories": sorted(
                            {localised(datamap.categories[c]["name"], language) for c in t.categories.values()}
                        ),
                    }
                    for t in source_tables
                ],
                "files": [f for f in files if f.source == key],
                "purposes": [localised(datamap.purposes[p]["name"], language) for p in here],
                "recipients": [datamap.recipients[r]["name"] for r in receivers],
            }
        )

    purposes = []
    for key in purpose_keys:
        purpose = datamap.purposes[key]
        purposes.append(
            {
                "name": localised(purpose["name"], language),
                "legal_bases": [LEGAL_BASES[b][language] for b in purpose["legal_basis"]],
                "legitimate_interest": localised(purpose["legitimate_interest"], language),
                "retention": localised(purpose["retention"], language),
                "categories": [
                    localised(datamap.categories[c]["name"], language)
                    for c in purpose["categories"]
                    if c in found_categories
                ],
                "profiling": purpose["profiling"],
                "profiling_description": localised(purpose["profiling_description"], language),
            }
        )

    outside = {entry["recipient"]: entry for entry in lineage_transfers(datamap, recipient_keys)}
    recipients = []
    for key in recipient_keys:
        recipient = datamap.recipients[key]
        transfer = outside.get(key)
        recipients.append(
            {
                "name": recipient["name"],
                "role": ROLES.get(recipient["role"], {}).get(language, recipient["role"]),
                "countries": recipient["countries"],
                "outside_eea": transfer["countries"] if transfer else [],
                "safeguard": localised(transfer["safeguard"], language) if transfer else "",
                "purposes": [
                    localised(datamap.purposes[p]["name"], language) for p in recipient["purposes"] if p in purpose_keys
                ],
            }
        )

    categories = [
        {"name": localised(c["name"], language), "description": localised(c["description"], language)}
        for key, c in datamap.categories.items()
        if key in found_categories
    ]
    legal_holds = [
        {
            "name": localised(datamap.legal_holds[key]["name"], language),
            "law": localised(datamap.legal_holds[key]["law"], language),
            "description": localised(datamap.legal_holds[key]["description"], language),
            "tables": sorted(names),
        }
        for key, names in holds.items()
    ]
    controller = datamap.controller
    return {
        "found": bool(holding),
        "controller": controller,
        "authority": controller.get("authority") or DATATILSYNET,
        "searched": [localised(datamap.sources[key]["name"], language) for key in searched if key in datamap.sources],
        "sources": sources,
        "purposes": purposes,
        "categories": categories,
        "recipients": recipients,
        "transfers": [r for r in recipients if r["outside_eea"]],
        "profiling": [p for p in purposes if p["profiling"]],
        "legal_holds": legal_holds,
        "records": sum(t.records for t in tables),
    }
