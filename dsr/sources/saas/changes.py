"""Rectification (GDPR Art. 16), restriction (Art. 18) and consent withdrawal (Art. 7(3)) in a SaaS system.

Each reports what the system answered: a record counts as changed only when
its value differed and the system accepted every request that sets it; a
record whose value is already the one asked for is found, not changed, and
is sent nothing (a second run changes nothing and says so).
"""

from typing import TYPE_CHECKING, Any

from dsr.sources.base import (
    CONSENT_WITHDRAWAL,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ChangeResult,
    Correction,
    Fact,
    Identifiers,
)
from dsr.sources.saas.erasure import CHANGED, _steps_run
from dsr.sources.saas.paths import path_value

if TYPE_CHECKING:
    from dsr.sources.saas.connector import SaasConnector


def _differs(current: Any, correct: str) -> bool:
    """Return whether a record's value differs from the correct one (compared as text, as the person wrote it)."""
    return current is None or str(current).strip() != correct.strip()


def corrections_apply(
    connector: "SaasConnector",
    identifiers: Identifiers,
    corrections: list[Correction],
    *,
    write: bool,
    reference: str = "",
) -> tuple[list[Fact], list[str]]:
    """Return a Fact per group and correction the description maps, and the corrections it does not map."""
    spec = connector.spec
    rectify = spec.get("rectify") or {}
    wanted = [
        (name, correction, fields[correction["field"]])
        for name, fields in rectify.items()
        for correction in corrections
        if correction["field"] in fields
    ]
    applied = {correction["field"] for _, correction, _ in wanted}
    not_applicable = list(dict.fromkeys(c["field"] for c in corrections if c["field"] not in applied))
    if not wanted:
        return [], not_applicable
    subjects = connector.subjects(identifiers)
    facts = []
    for name, correction, entry in wanted:
        group = spec["groups"][name]
        found = changed = 0
        for subject in subjects:
            items = list(connector.group_items(name, subject, reference=reference, operation=RECTIFICATION))
            found += len(items)
            differing = [
                path_value(item, group["key"])
                for item in items
                if _differs(path_value(item, entry["field"]), correction["correct"])
            ]
            if not write:
                changed += len(differing)
                continue
            for record in differing:
                key = {"subject": subject, "records": [record]}
                outcome = _steps_run(
                    connector,
                    entry["steps"],
                    key,
                    table=name,
                    refused=[],
                    values={"correct": correction["correct"]},
                )
                changed += outcome == CHANGED
        category = connector.datamap.corrections.get(correction["field"], {}).get("category")
        facts.append(
            Fact(
                table=name,
                action=UPDATE,
                found=found,
                changed=changed,
                item=correction["field"],
                columns=[entry["field"]],
                categories=[category] if category and changed else [],
            )
        )
    return facts, not_applicable


def rectify(
    connector: "SaasConnector", identifiers: Identifiers, corrections: list[Correction], *, reference: str = ""
) -> ChangeResult:
    facts, not_applicable = corrections_apply(connector, identifiers, corrections, write=True, reference=reference)
    return ChangeResult(source=connector.key, operation=RECTIFICATION, facts=facts, not_applicable=not_applicable)


def _marked(current: Any, wanted: str) -> bool:
    """Return whether a record's restriction mark already reads ``wanted`` ("" meaning no value at all)."""
    if current is None or current == "":
        return wanted == ""
    return str(current).strip().lower() == wanted.strip().lower()


def restrict(
    connector: "SaasConnector", identifiers: Identifiers, *, restricted: bool, reference: str = ""
) -> ChangeResult:
    """Mark (or unmark) the person's records restricted in each group the description says (GDPR Art. 18(2)).

    The system keeps the data and the company's own integrations read the mark before they use it. Per group:
    ``found`` the person's records there, ``changed`` those whose mark differed and whose request the system
    accepted; a record already marked as asked is sent nothing.
    """
    result = ChangeResult(source=connector.key, operation=RESTRICTION)
    entries = connector.spec.get("restrict") or {}
    if not entries:
        return result
    subjects = connector.subjects(identifiers)
    for name, entry in entries.items():
        wanted = entry["restricted"] if restricted else entry.get("lifted", "")
        key = connector.spec["groups"][name]["key"]
        found = changed = 0
        for subject in subjects:
            items = list(connector.group_items(name, subject, reference=reference, operation=RESTRICTION))
            found += len(items)
            for item in items:
                if _marked(path_value(item, entry["field"]), wanted):
                    continue
                outcome = _steps_run(
                    connector,
                    entry["steps"],
                    {"subject": subject, "records": [path_value(item, key)]},
                    table=name,
                    refused=[],
                    values={"value": wanted},
                )
                changed += outcome == CHANGED
        categories = sorted(set(connector.categories(name).values())) if changed else []
        result.facts.append(
            Fact(
                table=name, action=UPDATE, found=found, changed=changed, columns=[entry["field"]], categories=categories
            )
        )
    return result


def consent_withdraw(
    connector: "SaasConnector", identifiers: Identifiers, consents: list[str], *, reference: str = ""
) -> ChangeResult:
    """Withdraw the consents the source's purposes rest on, in each group the description says (GDPR Art. 7(3)).

    Per consent key and group: ``found`` the records of the person there, ``changed`` those whose state was
    given and whose withdrawal the system accepted; a record already withdrawn is sent nothing.
    """
    result = ChangeResult(source=connector.key, operation=CONSENT_WITHDRAWAL)
    withdraw = connector.spec.get("withdraw") or {}
    wanted = {name: connector.consent_keys(name) & set(consents) for name in withdraw}
    if not any(wanted.values()):
        return result
    subjects = connector.subjects(identifiers)
    for name, entry in withdraw.items():
        for key in sorted(wanted[name]):
            found = changed = 0
            for subject in subjects:
                # Read again per key: a state the first key's request changed is already withdrawn for the next.
                items = list(connector.group_items(name, subject, reference=reference, operation=CONSENT_WITHDRAWAL))
                found += len(items)
                given = [item for item in items if path_value(item, entry["field"]) not in entry["withdrawn"]]
                if not given:
                    continue
                records = [path_value(item, connector.spec["groups"][name]["key"]) for item in given]
                outcome = _steps_run(
                    connector, entry["steps"], {"subject": subject, "records": records}, table=name, refused=[]
                )
                changed += len(given) if outcome == CHANGED else 0
            category = connector.categories(name).get(entry["field"])
            result.facts.append(
                Fact(
                    table=name,
                    action=UPDATE,
                    found=found,
                    changed=changed,
                    item=key,
                    columns=[entry["field"]],
                    categories=[category] if category and changed else [],
                )
            )
    return result
