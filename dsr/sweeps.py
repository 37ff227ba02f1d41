"""Retention sweeps (docs/retention.md): the map's retention rules applied to everyone past their period.

A sweep runs one rule: a purpose's ``retention_rule`` (``purpose:newsletter``)
or a legal hold's ``period_rule`` (``hold:bookkeeping``, for rows kept under a
hold whose hold has ended). ``sweep_plan`` makes the dry run the privacy admin
reads; ``sweep_approve`` lets a worker run it; ``sweep_run`` works through each
sql source in batches of people, recording each batch before the source changes
and what the source reported after, so a run stopped at any point resumes
without doing anything twice. People in the restriction register (GDPR Art. 18)
are skipped. Sources that are not sql are listed as not swept, with what to do.
The audit trail gets one event per sweep, with counts only.
"""

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dsr.audit import Actor, audit_record
from dsr.datamap.rules import rule_describe
from dsr.datamap.schema import DataMap
from dsr.datamap.selectors import datamap_active
from dsr.keys import RESTRICTION
from dsr.models import AuditAction, Restriction, RetentionSweep, SweepBatch, SweepRuleSetting, SweepStatus
from dsr.sources.base import DELETE, KEEP, ErasurePlan, ErasureResult, SourceError
from dsr.sources.registry import connector_for
from dsr.sources.sql.sweep import HOLD, PURPOSE, SweepRule, SweepTarget
from dsr.suppression import identifiers_digests

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
# A dry run keeps the ids of the register's active entries up to this many; beyond it the run checks everyone again.
REGISTER_SEEN_MAX = 1000
UNFINISHED = (SweepStatus.PLANNED, SweepStatus.APPROVED, SweepStatus.RUNNING)

_sweep_starter: Callable[[int], Any] | None = None


class SweepRefused(Exception):
    """A sweep cannot be made or run as asked; str() says why."""


class SweepBusy(Exception):
    """Another worker runs the same sweep; this one stops and leaves it to them."""


def sweep_starter_set(starter: Callable[[int], Any]) -> None:
    """Register what starts an approved sweep in a worker (dsr/apps.py: the Celery task)."""
    global _sweep_starter
    _sweep_starter = starter


def _batch_size() -> int:
    return int(getattr(settings, "DSR_SWEEP_BATCH_SIZE", DEFAULT_BATCH_SIZE))


# --- the rules ----------------------------------------------------------------------


def sweep_rules(datamap: DataMap) -> dict[str, SweepRule]:
    """Return every rule a sweep can run, by key: each purpose's retention rule, then each hold's period."""
    rules = {}
    for key, purpose in datamap.purposes.items():
        if purpose.get("retention_rule"):
            rules[f"{PURPOSE}:{key}"] = SweepRule(PURPOSE, key, purpose["retention_rule"])
    for key, hold in datamap.legal_holds.items():
        if hold.get("period_rule"):
            rules[f"{HOLD}:{key}"] = SweepRule(HOLD, key, hold["period_rule"])
    return rules


def _rule(datamap: DataMap | None, key: str) -> tuple[DataMap, SweepRule]:
    if datamap is None:
        raise SweepRefused("no data map has been loaded")
    rules = sweep_rules(datamap)
    if key not in rules:
        known = ", ".join(rules) or "none"
        raise SweepRefused(f'the data map has no retention rule "{key}" (rules: {known})')
    return datamap, rules[key]


def _serves(datamap: DataMap, source: dict, rule: SweepRule) -> bool:
    """Return whether ``rule`` concerns any of the source's data."""
    groups = source.get("groups") or {}
    if rule.kind == PURPOSE:
        return rule.key in source["purposes"] or any(rule.key in g.get("purposes", []) for g in groups.values())
    return any(group.get("hold") == rule.key for group in groups.values())


# --- the restriction register -----------------------------------------------------------


def _restricted(people: list[tuple[Any, dict[str, set[str]]]], purposes: set[str]) -> set:
    """Return the keys of the people the register restricts for any of ``purposes`` (or for every purpose).

    Callers skip it while the register holds no active entry for the purposes: then nobody's digests are needed.
    """
    digests: dict[str, list] = {}
    for key, identifiers in people:
        # Under every key of the register, newest first: an entry made under an older key still restricts.
        for _, under_keys in identifiers_digests(identifiers, keys=RESTRICTION):
            for digest in under_keys:
                digests.setdefault(digest, []).append(key)
    if not digests:
        return set()
    found = _register_active(purposes).filter(digest__in=list(digests)).values_list("digest", flat=True)
    return {key for digest in found for key in digests[digest]}


def _register_active(purposes: set[str]) -> Any:
    return Restriction.objects.filter(lifted_at__isnull=True, purpose__in=["", *purposes])


def _register_seen(purposes: set[str]) -> list[int] | None:
    """Return the ids of the register's active entries now (None when there are too many to keep in a report)."""
    seen = list(_register_active(purposes).order_by("pk").values_list("pk", flat=True)[: REGISTER_SEEN_MAX + 1])
    return None if len(seen) > REGISTER_SEEN_MAX else seen


def _page_keys_digest(page: list[tuple[Any, dict]]) -> str:
    """Return a digest of the page's people: their keys and identifiers (a changed e-mail is another check)."""
    people = [[key, {kind: sorted(values) for kind, values in sorted(found.items())}] for key, found in page]
    return hashlib.sha256(json.dumps(people).encode()).hexdigest()


def _page_checked(page: list[tuple[Any, dict]], restricted: set) -> dict:
    """Return what the dry run found of a page of people: who they were (a digest of their keys), who is restricted."""
    return {"last": page[-1][0], "keys": _page_keys_digest(page), "restricted": sorted(restricted, key=repr)}


def _restricted_again(
    page: list[tuple[Any, dict]], purposes: set[str], *, checked: dict | None, seen: list[int] | None
) -> set:
    """Return the keys of the page's people the register restricts now, reusing the dry run's check where it holds.

    The dry run checked the same people (the same keys and identifiers) against every entry active when it
    began (``seen``): unless an entry was added since, only those it found restricted are checked again (a lift
    frees them). Otherwise every person's digests are computed again.
    """
    same_people = checked is not None and seen is not None and checked["keys"] == _page_keys_digest(page)
    if not same_people or _register_active(purposes).exclude(pk__in=seen).exists():
        return _restricted(page, purposes)
    before = set(checked["restricted"])
    return _restricted([person for person in page if person[0] in before], purposes)


def _scope_purposes(connector: Any, target: SweepTarget) -> set[str]:
    return {purpose for name in target.scope for purpose in connector._purposes(name)}


# --- the dry run ----------------------------------------------------------------------


def _not_swept(source: dict, reason: str) -> dict:
    instructions = (source["config"].get("instructions") or {}).get("erasure")
    return {
        "source": source["key"],
        "kind": source["kind"],
        "not_swept": reason,
        "owner": source["config"].get("owner", ""),
        "instructions": instructions if isinstance(instructions, dict) else {},
    }


def _source_survey(datamap: DataMap, source: dict, rule: SweepRule, today: dt.date) -> dict:
    if source["kind"] != "sql":
        # A processor or a person holds this data: the sweep cannot date or change it, and says so.
        return _not_swept(source, "manual" if source["kind"] == "manual" else "processor")
    connector = connector_for(source["key"], datamap)
    targets = connector.sweep_targets(rule)
    if not targets:
        return _not_swept(source, "undated")
    surveys = []
    with connector.schema_held():
        for target in targets:
            purposes = _scope_purposes(connector, target)
            # GDPR Art. 18: each person's digests are computed here once; the run reuses what this found.
            excluded, pages, seen = [], [], _register_seen(purposes)
            after = None
            # With the register empty there is no one to check, nor anything to keep for the run (it checks again).
            while seen != [] and (page := connector.sweep_roots(rule, target, today, after=after, limit=_batch_size())):
                restricted = _restricted(page, purposes)
                excluded += sorted(restricted, key=repr)
                pages.append(_page_checked(page, restricted))
                after = page[-1][0]
            survey = connector.sweep_survey(rule, target, today, excluded=excluded)
            survey["restricted_in_register"] = len(excluded)
            survey["register"] = {"seen": seen, "pages": pages}
            surveys.append(survey)
    return {"source": source["key"], "kind": source["kind"], "targets": surveys}


def sweep_plan(rule_key: str, *, user=None, scheduled: bool = False, today: dt.date | None = None) -> RetentionSweep:
    """Make the dry run of ``rule_key``: per source, root table and table, what the sweep would do."""
    datamap, rule = _rule(datamap_active(), rule_key)
    today = today or timezone.localdate()
    sources = [
        _source_survey(datamap, source, rule, today)
        for source in datamap.sources.values()
        if _serves(datamap, source, rule)
    ]
    report = {
        "rule": rule_key,
        "kind": rule.kind,
        "key": rule.key,
        "period": rule_describe(rule.rule),
        "as_of": today.isoformat(),
        "sources": sources,
    }
    return RetentionSweep.objects.create(
        rule=rule_key, as_of=today, report=report, scheduled=scheduled, created_by=user
    )


def report_totals(report: dict) -> dict:
    """Return the dry run's totals: people, rows to change, rows kept under running holds, sources not swept."""
    totals = {"people": 0, "change": 0, "running": 0, "not_swept": 0, "restricted": 0}
    for source in report.get("sources", []):
        if "not_swept" in source:
            totals["not_swept"] += 1
            continue
        for target in source["targets"]:
            totals["people"] += target["people"]
            totals["restricted"] += target["restricted_in_register"] + target["restricted_in_source"]
            for table in target["tables"]:
                if table["action"] == KEEP:
                    totals["change"] += table["ended"]
                    totals["running"] += table["running"]
                else:
                    totals["change"] += table["rows"]
    return totals


# --- approving and running --------------------------------------------------------------


def sweep_approve(sweep: RetentionSweep, *, user=None, actor: Actor | None = None, start: bool = True) -> None:
    """Approve a dry run; a worker then runs it (``start=False``: the caller runs it). Only a dry run, once."""
    with transaction.atomic():
        locked = RetentionSweep.objects.select_for_update().get(pk=sweep.pk)
        if locked.status != SweepStatus.PLANNED:
            raise SweepRefused(
                f"sweep {locked.pk} is {locked.status}; only a dry run waiting for approval can be approved"
            )
        locked.status, locked.approved_at, locked.approved_by = SweepStatus.APPROVED, timezone.now(), user
        locked.save(update_fields=["status", "approved_at", "approved_by"])
        audit_record(
            actor=actor or (Actor.staff(user) if user else Actor.system()),
            action=AuditAction.SWEEP_APPROVED,
            data={"sweep": locked.pk, "rule": locked.rule, **report_totals(locked.report)},
        )
        if start and _sweep_starter is not None:
            # The "go" is recorded in this transaction (dsr/signals.py) and reaches a worker after commit.
            _sweep_starter(locked.pk)
    sweep.refresh_from_db()


def _plan_summary(plan: ErasurePlan) -> dict:
    summary: dict[str, dict] = {}
    for table_plan in plan.tables:
        entry = summary.setdefault(table_plan.table, {})
        key = {DELETE: "deleted"}.get(table_plan.action, "kept" if table_plan.action == KEEP else "anonymised")
        entry[key] = entry.get(key, 0) + len(table_plan.keys)
        entry["shared"] = entry.get("shared", 0) + len(table_plan.shared_keys)
    return summary


def _result_summary(result: ErasureResult) -> dict:
    summary: dict[str, dict] = {}
    for fact in result.facts:
        entry = summary.setdefault(fact.table, {})
        if fact.action == KEEP:
            entry["kept"] = entry.get("kept", 0) + fact.kept
            if fact.hold_until and fact.hold_until > entry.get("hold_until", ""):
                entry["hold_until"] = fact.hold_until
        else:
            key = "deleted" if fact.action == DELETE else "anonymised"
            entry[key] = entry.get(key, 0) + fact.changed
        entry["shared"] = entry.get("shared", 0) + fact.shared
    return summary


def _changes(summary: dict) -> int:
    return sum(entry.get("deleted", 0) + entry.get("anonymised", 0) for entry in summary.values())


def _counts_add(counts: dict, source: str, batch: SweepBatch) -> None:
    entry = counts.setdefault(source, {"people": 0, "skipped_restricted": 0, "batches": 0, "tables": {}})
    entry["people"] += batch.people
    entry["skipped_restricted"] += batch.skipped_restricted
    entry["batches"] += 1
    for table, numbers in batch.counts.items():
        total = entry["tables"].setdefault(table, {})
        for name, value in numbers.items():
            if name == "hold_until":
                total[name] = max(total.get(name, ""), value)
            else:
                total[name] = total.get(name, 0) + value


def _batch_execute(connector: Any, target: SweepTarget, batch: SweepBatch, plan: ErasurePlan | None = None) -> None:
    """Change the source for one batch (one transaction there), then record what it reported.

    ``plan`` is the batch's plan when it was made just before the batch was recorded (with its summary).
    """
    result_summary: dict = {}
    if batch.keys:
        if plan is None:
            plan = connector.sweep_plan(target, batch.keys, today=batch.sweep.as_of)
            if not batch.resumed or not batch.planned:
                batch.planned = _plan_summary(plan)
                batch.save(update_fields=["planned"])
        result_summary = _result_summary(connector.erasure_execute(plan))
    if batch.resumed and batch.planned and _changes(result_summary) == 0 and _changes(batch.planned) > 0:
        # The source committed this batch before the interruption and the record of it was lost: its rows
        # are gone or anonymised now, as planned; they are counted once, from the plan recorded before.
        result_summary = {**batch.planned, "_applied_before_interruption": {"batches": 1}}
    with transaction.atomic():
        sweep = RetentionSweep.objects.select_for_update().get(pk=batch.sweep_id)
        if SweepBatch.objects.filter(pk=batch.pk, done=True).exists():
            return  # another runner of the same sweep recorded it first: count it once
        batch.counts, batch.done, batch.keys = result_summary, True, []
        batch.save(update_fields=["counts", "done", "keys"])
        _counts_add(sweep.counts, batch.source, batch)
        sweep.save(update_fields=["counts"])


def _target_run(sweep: RetentionSweep, rule: SweepRule, connector: Any, target: SweepTarget, planned: dict) -> None:
    batches = SweepBatch.objects.filter(sweep=sweep, source=connector.key, root=target.root)
    # A batch recorded but not finished was interrupted: run it again with the same keys.
    for batch in batches.filter(done=False).order_by("number"):
        batch.resumed = True
        batch.save(update_fields=["resumed"])
        _batch_execute(connector, target, batch)
    last = batches.order_by("-number").first()
    after, number = (last.last_key, last.number) if last else (None, 0)
    purposes = _scope_purposes(connector, target)
    register = planned.get("register") or {}
    checked = {json.dumps(page["last"]): page for page in register.get("pages", [])}
    while True:
        # The people's identifiers are read only while the register holds an entry to check them against.
        register_used = _register_active(purposes).exists()
        page = connector.sweep_roots(
            rule, target, sweep.as_of, after=after, limit=_batch_size(), identifiers=register_used
        )
        if not page:
            break
        page_checked = checked.get(json.dumps(page[-1][0]))
        restricted = (
            _restricted_again(page, purposes, checked=page_checked, seen=register.get("seen"))
            if register_used
            else set()
        )
        keys = [key for key, _ in page if key not in restricted]
        number += 1
        # Planned first (it only reads), so the batch is recorded with its plan in one commit before any change.
        plan = connector.sweep_plan(target, keys, today=sweep.as_of) if keys else None
        try:
            with transaction.atomic():
                batch = SweepBatch.objects.create(
                    sweep=sweep,
                    source=connector.key,
                    root=target.root,
                    number=number,
                    keys=keys,
                    last_key=page[-1][0],
                    people=len(keys),
                    skipped_restricted=len(restricted),
                    planned=_plan_summary(plan) if plan else {},
                )
        except IntegrityError:
            raise SweepBusy(f"sweep {sweep.pk} is being run by another worker") from None
        _batch_execute(connector, target, batch, plan)
        after = page[-1][0]


def sweep_run(sweep_id: int) -> RetentionSweep:
    """Run an approved sweep (or resume one that was interrupted or failed) to the end."""
    with transaction.atomic():
        sweep = RetentionSweep.objects.select_for_update().get(pk=sweep_id)
        if sweep.status not in (SweepStatus.APPROVED, SweepStatus.RUNNING, SweepStatus.FAILED):
            raise SweepRefused(f"sweep {sweep.pk} is {sweep.status}; only an approved sweep runs")
        sweep.status, sweep.error = SweepStatus.RUNNING, ""
        sweep.started_at = sweep.started_at or timezone.now()
        sweep.save(update_fields=["status", "error", "started_at"])
    try:
        datamap, rule = _rule(datamap_active(), sweep.rule)
        for source in sweep.report.get("sources", []):
            if "not_swept" in source:
                continue
            connector = connector_for(source["source"], datamap)
            targets = {target.root: target for target in connector.sweep_targets(rule)}
            # The schema is read and checked once per source and run, not again for each batch.
            with connector.schema_held():
                for planned in source["targets"]:
                    target = targets.get(planned["root"])
                    if target is None:
                        where = f"{source['source']}.{planned['root']}"
                        raise SweepRefused(
                            f'the data map changed since the dry run: "{where}" no longer dates the rule; plan again'
                        )
                    _target_run(sweep, rule, connector, target, planned)
    except SweepBusy as exc:
        log.info("%s", exc)
        return RetentionSweep.objects.get(pk=sweep.pk)
    except (SourceError, SweepRefused) as exc:
        return _sweep_fail(sweep, str(exc))
    with transaction.atomic():
        sweep = RetentionSweep.objects.select_for_update().get(pk=sweep.pk)
        sweep.status, sweep.finished_at = SweepStatus.DONE, timezone.now()
        # The sample named rows by key for the admin to check; once done it has served.
        sweep.report = _sample_drop(sweep.report)
        sweep.save(update_fields=["status", "finished_at", "report"])
        audit_record(
            actor=Actor.system(),
            action=AuditAction.SWEEP_DONE,
            data={"sweep": sweep.pk, "rule": sweep.rule, **counts_totals(sweep.counts)},
        )
    return sweep


def _sweep_fail(sweep: RetentionSweep, error: str) -> RetentionSweep:
    log.warning("retention sweep %s failed: %s", sweep.pk, error)
    with transaction.atomic():
        sweep = RetentionSweep.objects.select_for_update().get(pk=sweep.pk)
        sweep.status, sweep.error, sweep.finished_at = SweepStatus.FAILED, error, timezone.now()
        sweep.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            actor=Actor.system(),
            action=AuditAction.SWEEP_FAILED,
            data={"sweep": sweep.pk, "rule": sweep.rule, **counts_totals(sweep.counts)},
        )
    return sweep


def _sample_drop(report: dict) -> dict:
    for source in report.get("sources", []):
        for target in source.get("targets", []):
            target["sample"] = []
            target.pop("register", None)
    return report


def counts_totals(counts: dict) -> dict:
    """Return the totals of what the sources reported: people, rows deleted, anonymised and kept."""
    totals = {"people": 0, "skipped_restricted": 0, "deleted": 0, "anonymised": 0, "kept": 0, "shared": 0}
    for entry in counts.values():
        totals["people"] += entry["people"]
        totals["skipped_restricted"] += entry["skipped_restricted"]
        for name, numbers in entry["tables"].items():
            if name.startswith("_"):
                continue
            for field_name in ("deleted", "anonymised", "kept", "shared"):
                totals[field_name] += numbers.get(field_name, 0)
    return totals


# --- the schedule -------------------------------------------------------------------------


def sweep_schedule_set(rule_key: str, *, enabled: bool, user=None) -> SweepRuleSetting:
    """Turn the scheduled sweep of a rule on or off (audited)."""
    _rule(datamap_active(), rule_key)
    with transaction.atomic():
        setting, _ = SweepRuleSetting.objects.select_for_update().get_or_create(rule=rule_key)
        setting.enabled, setting.updated_by = enabled, user
        setting.save()
        audit_record(
            actor=Actor.staff(user) if user else Actor.system(),
            action=AuditAction.SWEEP_SCHEDULE_CHANGED,
            data={"rule": rule_key, "enabled": enabled},
        )
    return setting


def sweeps_scheduled(*, today: dt.date | None = None) -> list[int]:
    """Plan and run the sweep of every rule the admin turned on, unless one of it is still unfinished.

    Turning a rule on is the admin's standing approval: each run still leaves its dry run and report.
    """
    datamap = datamap_active()
    started = []
    if datamap is None:
        return started
    rules = sweep_rules(datamap)
    for setting in SweepRuleSetting.objects.filter(enabled=True):
        if (
            setting.rule not in rules
            or RetentionSweep.objects.filter(rule=setting.rule, status__in=UNFINISHED).exists()
        ):
            continue
        sweep = sweep_plan(setting.rule, scheduled=True, today=today)
        sweep_approve(sweep, user=setting.updated_by, actor=Actor.system())
        started.append(sweep.pk)
    return started
