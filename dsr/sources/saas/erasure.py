"""Erasure in a SaaS system: the plan (each group's records per subject, counted) and running it.

What is reported comes from the system's answers (GDPR Art. 17, 19): a
subject's records are deleted when the system accepted every step for it
(a 2xx, or a ``gone`` status on a re-run); kept when the group is kept under
a legal hold, or when the system refused the deletion and the entry's
``fallback`` ran instead; requested when an asynchronous job was sent, and
confirmed when the system reports it done.
"""

import json
from typing import TYPE_CHECKING

from dsr.sources.base import DELETE, KEEP, REQUEST, ErasurePlan, ErasureResult, Fact, Identifiers, TablePlan
from dsr.sources.saas.paths import path_value

if TYPE_CHECKING:
    from dsr.sources.saas.connector import SaasConnector

ACTIONS = {"delete": DELETE, "keep": KEEP, "request": REQUEST}


def subject_key(subject: dict) -> str:
    """Return one text for a subject, the same for the same keys."""
    return json.dumps(subject, sort_keys=True, separators=(",", ":"))


def erasure_plan_make(connector: "SaasConnector", identifiers: Identifiers, *, reference: str) -> ErasurePlan:
    """Return what erasure would do in the system, per group, changing nothing."""
    spec = connector.spec
    subjects = connector.subjects(identifiers)
    tables = []
    for name, entry in spec["erase"].items():
        group = spec["groups"][name]
        keys = []
        for subject in subjects:
            if entry["action"] == "request":
                # The system does the work itself: the plan counts the subjects it is asked about.
                keys.append({"subject": subject, "count": 1})
                continue
            items = list(connector.group_items(name, subject, reference=reference, operation="erasure_plan"))
            key = {"subject": subject, "count": len(items)}
            if group.get("key"):
                key["records"] = [path_value(item, group["key"]) for item in items]
            keys.append(key)
        action = ACTIONS[entry["action"]]
        tables.append(
            TablePlan(
                table=name,
                action=action,
                count=sum(key["count"] for key in keys),
                keys=keys,
                hold=connector.hold(name) if action == KEEP else "",
                categories=list(dict.fromkeys(connector.categories(name).values())),
            )
        )
    return ErasurePlan(source=connector.key, kind=connector.kind, tables=tables, extra={"version": spec["version"]})


CHANGED, GONE, REFUSED = "changed", "gone", "refused"


def _steps_run(
    connector: "SaasConnector",
    steps: list,
    key: dict,
    *,
    table: str,
    refused: list[int],
    answers: list | None = None,
    values: dict | None = None,
) -> str:
    """Send a subject's steps; return CHANGED if the system accepted one, GONE if all found it gone, or REFUSED.

    GONE is a re-run's answer (an earlier run deleted it): this run changed nothing (docs/adding-a-source.md).
    """
    client = connector.client()
    outcome = GONE
    for step in steps:
        targets = [{"subject": key["subject"]}]
        if step.get("per") == "record":
            targets = [{"subject": key["subject"], "record": {"key": record}} for record in key.get("records", [])]
        for target in targets:
            gone = [*step["request"].get("missing", []), *step.get("gone", [])]
            answer = client.call(
                {**step["request"], "missing": [*gone, *refused]}, {**(values or {}), **target}, what=f"erase {table}"
            )
            if answer.missing and answer.status in refused and answer.status not in gone:
                return REFUSED
            if not answer.missing:
                outcome = CHANGED
                if answers is not None:
                    answers.append(answer.data)
    return outcome


def erasure_run(connector: "SaasConnector", plan: ErasurePlan) -> ErasureResult:
    """Carry out exactly ``plan`` and report, per group, what the system answered."""
    erase = connector.spec["erase"]
    facts: dict[str, list[Fact]] = {}
    erased: dict[str, set[str]] = {}  # the subjects whose deletion the system accepted, by group
    refused: dict[str, set[str]] = {}  # the subjects the system refused to delete (the fallback kept them)
    already: dict[str, set[str]] = {}  # the subjects an earlier run had already deleted
    complete, reference = True, ""
    for table in plan.tables:
        entry = erase.get(table.table)
        if entry is None or ACTIONS[entry["action"]] != table.action:
            raise connector.error(f"the plan's {table.table} no longer matches the description; plan again")
    for table in plan.tables:
        entry = erase[table.table]
        if table.action == KEEP:
            # GDPR Art. 17(3)(b): left as they are, under the legal obligation the map names.
            facts[table.table] = [
                Fact(
                    table=table.table,
                    action=KEEP,
                    found=table.count,
                    kept=table.count,
                    hold=table.hold,
                    categories=table.categories,
                )
            ]
        elif table.action == REQUEST and "steps" in entry:
            facts[table.table] = [_requested(connector, entry, table)]
        elif table.action == REQUEST:
            done = 0
            for key in table.keys:
                state_key = f"erasure:{table.table}:{subject_key(key['subject'])}"
                answer = connector.job_run(
                    entry["job"], {"subject": key["subject"]}, state_key=state_key, what=table.table
                )
                reference = reference or str((connector.state.get(state_key) or {}).get("id", ""))
                done += answer is not None
            finished = done == len(table.keys)
            complete = complete and finished
            facts[table.table] = [
                Fact(
                    table=table.table,
                    action=REQUEST,
                    found=None,
                    changed=len(table.keys),
                    categories=table.categories,
                    confirmed=True if finished else None,
                    reference=reference,
                )
            ]
        elif "steps" in entry:
            fallback = entry.get("fallback") or {}
            changed = kept = 0
            accepted = erased.setdefault(table.table, set())
            kept_subjects = refused.setdefault(table.table, set())
            gone = already.setdefault(table.table, set())
            for key in table.keys:
                outcome = _steps_run(
                    connector, entry["steps"], key, table=table.table, refused=fallback.get("when", [])
                )
                if outcome == CHANGED:
                    accepted.add(subject_key(key["subject"]))
                    changed += key["count"]
                elif outcome == GONE:
                    gone.add(subject_key(key["subject"]))
                else:
                    # The system refused to delete: the entry's fallback (Mailchimp's archive) keeps the data.
                    _steps_run(connector, fallback["steps"], key, table=table.table, refused=[])
                    kept_subjects.add(subject_key(key["subject"]))
                    kept += key["count"]
            facts[table.table] = [
                _deleted(
                    table, changed, already=sum(k["count"] for k in table.keys if subject_key(k["subject"]) in gone)
                )
            ]
            if kept:
                hold = connector.hold(table.table)
                facts[table.table].append(
                    Fact(table=table.table, action=KEEP, found=kept, kept=kept, hold=hold, categories=table.categories)
                )
    for table in plan.tables:
        owner = erase[table.table].get("with")
        if owner:
            done = erased.get(owner, set())
            changed = sum(key["count"] for key in table.keys if subject_key(key["subject"]) in done)
            earlier = sum(
                key["count"] for key in table.keys if subject_key(key["subject"]) in already.get(owner, set())
            )
            facts[table.table] = [_deleted(table, changed, already=earlier)]
            kept = sum(key["count"] for key in table.keys if subject_key(key["subject"]) in refused.get(owner, set()))
            if kept:
                # Kept with the record they belong to, under the same hold.
                hold = connector.hold(owner)
                facts[table.table].append(
                    Fact(table=table.table, action=KEEP, found=kept, kept=kept, hold=hold, categories=table.categories)
                )
    ordered = [fact for table in plan.tables for fact in facts[table.table]]
    return ErasureResult(source=connector.key, facts=ordered, complete=complete, reference=reference)


def _deleted(table: TablePlan, changed: int, *, already: int = 0) -> Fact:
    """Return the fact of a group deleted: ``changed`` by this run, ``already`` by an earlier one (found, unchanged)."""
    return Fact(
        table=table.table,
        action=DELETE,
        found=changed + already,
        changed=changed,
        categories=table.categories if changed else [],
    )


def _requested(connector: "SaasConnector", entry: dict, table: TablePlan) -> Fact:
    """Send a request the system carries out later, with no status to ask for (Shopify's erasure request).

    What is reported is what the system answered: it accepted the request for so many subjects (never that the
    data is gone; ``confirmed`` stays None). A subject the system no longer knows (a ``missing`` answer) was not
    asked. The acceptance is kept in the job's state, so a worker stopped half-way does not ask twice.
    """
    accepted, references = 0, []
    for key in table.keys:
        state_key = f"erasure:{table.table}:{subject_key(key['subject'])}"
        kept = connector.state.get(state_key)
        if kept is None:
            answers: list = []
            outcome = _steps_run(connector, entry["steps"], key, table=table.table, refused=[], answers=answers)
            if outcome != CHANGED:
                continue
            reference = path_value(answers[-1], entry["reference"]) if entry.get("reference") else None
            if reference in (None, "", [], {}):
                # Without a reference in the answer, the request is known by the system's own keys it was about.
                reference = ",".join(str(value) for value in key["subject"].values())
            kept = {"accepted": str(reference)}
            connector.state.set(state_key, kept)
        accepted += 1
        references.append(kept["accepted"])
    return Fact(
        table=table.table,
        action=REQUEST,
        found=None,
        changed=accepted,
        categories=table.categories if accepted else [],
        confirmed=None,
        reference=", ".join(references),
    )
