"""Which purposes and recipients apply to the data a source found or changed for one person.

The map links them through record groups (a table, a model, a processor's result group):
recipient <- purpose / source / group / data category. Each group serves its own purposes and
has its own recipients, or its source's (dsr.datamap.parsing normalises this into each source's
``groups``). From that lineage:

- the Art. 15 answer names the purposes, recipients and transfers that apply to the data actually
  found (GDPR Art. 15(1)(a), (c) and 15(2)), not every purpose of a source;
- an Art. 19 notice goes only to the recipients that received the kind of data that changed.

Pure functions over a DataMap: no ORM, no clock. ``found`` is what the sources reported: a list of
``(source_key, group, categories)`` for the groups where the person has records.
"""

from collections.abc import Collection, Iterable

from dsr.datamap.schema import DataMap

# The EU member states and Iceland, Liechtenstein and Norway: no transfer safeguard is needed (GDPR Art. 44).
EEA = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO".split()  # noqa: SIM905
)

# (source key, record group, data categories of the records found or changed there).
Found = tuple[str, str, Collection[str]]


def group_lineage(datamap: DataMap, source_key: str, group: str) -> dict:
    """Return a record group's purposes, recipients and categories (the source's for a group not described).

    An undescribed group has no categories of its own. Raise KeyError for a source the map does not have.
    """
    source = datamap.sources[source_key]
    described = source.get("groups", {}).get(group)
    if described is not None:
        return described
    return {
        "purposes": list(source["purposes"]),
        "purposes_declared": False,
        "recipients": list(source["recipients"]),
        "recipients_declared": False,
        "categories": [],
        "records_consents": False,
    }


def recipients_named(datamap: DataMap) -> set[str]:
    """Return the recipients some source or record group names among its recipients."""
    named: set[str] = set()
    for source in datamap.sources.values():
        named.update(source["recipients"])
        for group in source.get("groups", {}).values():
            named.update(group["recipients"])
    return named


def consents_recorded(datamap: DataMap) -> bool:
    """Return whether some record group of the map holds people's consents (so dsr can tell which were given)."""
    return any(
        group.get("records_consents")
        for source in datamap.sources.values()
        for group in source.get("groups", {}).values()
    )


def _purpose_categories(datamap: DataMap, purpose_key: str, categories: Iterable[str]) -> list[str]:
    """Return the categories among ``categories`` that a purpose covers; a purpose that lists none covers all."""
    covered = datamap.purposes[purpose_key]["categories"]
    return [category for category in categories if not covered or category in covered]


def _consent_allows(
    datamap: DataMap, purpose_key: str, lineage: dict, consents_given: Collection[str] | None, recorded: bool
) -> bool:
    """Return whether a purpose may be named for a group's data as far as consent goes (GDPR Art. 6(1)(a), 7)."""
    consent_key = datamap.purposes[purpose_key]["consent_key"]
    if not consent_key or consents_given is None or consent_key in consents_given:
        return True
    # A group that serves this consent-based purpose alone (a newsletter subscription table) holds data only
    # because of that consent: finding it shows the processing. A consent table's rows outlive withdrawals,
    # so there the consent's state decides.
    if lineage["purposes_declared"] and lineage["purposes"] == [purpose_key] and not lineage["records_consents"]:
        return True
    # Where no group records consents, dsr cannot tell and names the purpose rather than hide it.
    return not recorded


def _purposes_of_group(
    datamap: DataMap, lineage: dict, categories: Collection[str], consents_given: Collection[str] | None, recorded: bool
) -> list[str]:
    """Return the purposes of a group that apply to the records found there."""
    return [
        key
        for key in lineage["purposes"]
        if (not datamap.purposes[key]["categories"] or set(datamap.purposes[key]["categories"]) & set(categories))
        and _consent_allows(datamap, key, lineage, consents_given, recorded)
    ]


def recipients_received(
    datamap: DataMap,
    source_key: str,
    group: str,
    categories: Collection[str],
    *,
    purposes: Collection[str] | None = None,
    consents_given: Collection[str] | None = None,
) -> dict[str, list[str]]:
    """Return, for each recipient that received data from a group, the categories among ``categories`` it received.

    A recipient is linked to the group when the group (or, failing that, its source) names it, or when no
    source or group names it anywhere and it serves one of the group's purposes (an independent controller
    attached to a purpose, GDPR Art. 4(9)). It received the categories of the purposes it shares with the
    group, or of all the group's purposes if it lists none. ``purposes`` limits the group's purposes to those
    (e.g. the ones that apply to the person); ``consents_given``, unless None, leaves out consent-based
    purposes whose consent is not in it. Only recipients that received something are returned, in map order.
    """
    lineage = group_lineage(datamap, source_key, group)
    group_purposes = [
        key
        for key in lineage["purposes"]
        if (purposes is None or key in purposes)
        and (
            consents_given is None
            or not datamap.purposes[key]["consent_key"]
            or datamap.purposes[key]["consent_key"] in consents_given
        )
    ]
    wanted = list(dict.fromkeys(categories))
    named = recipients_named(datamap)
    received: dict[str, list[str]] = {}
    for key, recipient in datamap.recipients.items():
        shared = [purpose for purpose in group_purposes if purpose in recipient["purposes"]]
        if key in lineage["recipients"]:
            via = shared if recipient["purposes"] else group_purposes
        elif key not in named:
            via = shared
        else:
            continue
        covered = {category for purpose in via for category in _purpose_categories(datamap, purpose, wanted)}
        if covered:
            received[key] = [category for category in wanted if category in covered]
    return received


def purposes_applying(datamap: DataMap, found: Iterable[Found], consents_given: Collection[str] | None) -> list[str]:
    """Return the purposes that apply to the data found for a person, in map order (GDPR Art. 15(1)(a)).

    A purpose applies when a group with records serves it and it covers a category found there (or lists
    none). A consent-based purpose applies only where the consent is among ``consents_given``, where the
    group serves that purpose alone and records no consents (its rows exist only because of the consent),
    or where no group in the map records consents. ``consents_given`` None means unknown: no consent check.
    """
    recorded = consents_recorded(datamap)
    applying: set[str] = set()
    for source_key, group, categories in found:
        lineage = group_lineage(datamap, source_key, group)
        applying.update(_purposes_of_group(datamap, lineage, categories, consents_given, recorded))
    return [key for key in datamap.purposes if key in applying]


def recipients_applying(
    datamap: DataMap, found: Iterable[Found], purposes: Collection[str], consents_given: Collection[str] | None
) -> list[str]:
    """Return the recipients of the data found for a person, in map order (GDPR Art. 15(1)(c)).

    A recipient is named when it received, from a group with records, a category found there through one
    of ``purposes`` that applies to that group's data as purposes_applying decides.
    """
    recorded = consents_recorded(datamap)
    applying: set[str] = set()
    for source_key, group, categories in found:
        lineage = group_lineage(datamap, source_key, group)
        here = [
            key for key in _purposes_of_group(datamap, lineage, categories, consents_given, recorded) if key in purposes
        ]
        applying.update(recipients_received(datamap, source_key, group, categories, purposes=here))
    return [key for key in datamap.recipients if key in applying]


def recipient_lineage(datamap: DataMap, recipient_key: str) -> list[dict]:
    """Return every record group a recipient receives data from, with the categories (GDPR Art. 30(1)(d)).

    ``[{"source": key, "group": name, "categories": [...]}]`` in map order, over the categories each group
    holds (every category where it does not say); ``group`` is "" for a source whose connector describes no
    groups (the source as a whole).
    """
    every = list(datamap.categories)
    lineage = []
    for source_key, source in datamap.sources.items():
        for group, described in (source.get("groups") or {"": {}}).items():
            held = described.get("categories") or every
            received = recipients_received(datamap, source_key, group, held).get(recipient_key)
            if received:
                lineage.append({"source": source_key, "group": group, "categories": received})
    return lineage


def transfers(datamap: DataMap, recipient_keys: Iterable[str]) -> list[dict]:
    """Return the recipients among ``recipient_keys`` that process data outside the EEA, with the safeguard.

    GDPR Art. 15(2) and 44-46: ``[{"recipient": key, "name": ..., "countries": [outside the EEA],
    "safeguard": {"da": ..., "en": ...}}]``, in the order given.
    """
    found = []
    for key in dict.fromkeys(recipient_keys):
        recipient = datamap.recipients[key]
        outside = [country for country in recipient["countries"] if country not in EEA]
        if outside:
            found.append(
                {"recipient": key, "name": recipient["name"], "countries": outside, "safeguard": recipient["safeguard"]}
            )
    return found
