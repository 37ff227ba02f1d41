"""Retention sweeps in a sql source: the people and rows past a rule's period, found and erased set by set.

A sweep runs one retention rule of the map (a purpose's ``retention_rule`` or a
legal hold's ``period_rule``). Its *roots* are the tables whose ``events`` name
the column dating the rule's event (``customer.deactivated_at`` dates
``account_deactivated``); its *scope* is the tables reached from a root by
links that serve the purpose (or, for a hold, that are kept under it). A root
row is past its period when every dated rule of every purpose in scope has
ended: one purpose ending early never erases what another still needs.

The rows are read and changed in batches of root keys: each batch is planned
by the same erasure planner as a request (holds per row, shared rows, foreign-key
order) and executed in one transaction, so a batch is done entirely or not at all.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dsr.datamap.rules import rule_date_apply, rule_describe
from dsr.sources.base import ANONYMISE, DELETE, KEEP, ErasurePlan, date_iso, value_date, value_jsonable
from dsr.sources.sql.anonymise import method_split

PURPOSE, HOLD = "purpose", "hold"
SAMPLE_SIZE = 10


def rule_last_expired_day(rule: dict, today: dt.date, *, year_end: tuple[int, int] = (12, 31)) -> dt.date:
    """Return the last event day whose period has ended before ``today`` (the period end is monotone in the day)."""
    low, high = (today - dt.timedelta(days=365 * 200)).toordinal(), today.toordinal()
    while low < high:
        middle = (low + high + 1) // 2
        if rule_date_apply(rule, dt.date.fromordinal(middle), year_end=year_end) < today:
            low = middle
        else:
            high = middle - 1
    return dt.date.fromordinal(low)


@dataclass(frozen=True)
class SweepRule:
    """One rule to sweep: ``kind`` is purpose or hold, ``key`` the purpose's or hold's key in the map."""

    kind: str
    key: str
    rule: dict


@dataclass
class SweepTarget:
    """One root table of a source and the tables a sweep changes from it."""

    root: str
    scope: list[str]
    # Each dated rule the root rows must be past: (purpose or hold key, event column, rule).
    dated: list[tuple[str, str, dict]]
    # Purposes in scope whose event no column of the root dates: their periods are not checked here.
    undated: list[str] = field(default_factory=list)


class SqlSweep:
    """The retention-sweep half of `SqlConnector` (its finding and erasure helpers are the connector's)."""

    # --- what a rule reaches ---------------------------------------------------

    def _reaching(self, root: str) -> list[str]:
        """Return the mapped tables whose links lead to ``root`` (itself first), in the order rows are found."""
        reached = [root]
        for name in self._order():
            if name in reached:
                continue
            if any(link["table"] in reached for link in self.tables[name]["links"]):
                reached.append(name)
        return reached

    def _purposes(self, name: str) -> list[str]:
        group = self.datamap.sources[self.key]["groups"].get(name) or {}
        return list(group.get("purposes") or [])

    def _held_under(self, name: str, hold: str) -> bool:
        erasure = self.tables[name]["erasure"] or {}
        return erasure.get("strategy") == KEEP and erasure.get("hold") == hold

    def sweep_targets(self, rule: SweepRule) -> list[SweepTarget]:
        """Return the root tables that date ``rule`` and what each reaches; none when no column dates it."""
        targets = []
        for root, config in self.tables.items():
            if config["context"] or not config["events"]:
                continue
            reached = self._reaching(root)
            if rule.kind == PURPOSE:
                if rule.rule.get("after") not in config["events"]:
                    continue
                scope = [name for name in reached if rule.key in self._purposes(name)]
            else:
                scope = [name for name in reached if self._held_under(name, rule.key)]
            if not scope:
                continue
            purposes = list(dict.fromkeys(p for name in scope for p in self._purposes(name)))
            if rule.kind == PURPOSE and rule.key not in purposes:
                purposes.insert(0, rule.key)
            dated, undated = [], []
            for purpose in purposes:
                purpose_rule = self.datamap.purposes[purpose].get("retention_rule") or {}
                column = config["events"].get(purpose_rule.get("after"))
                if column:
                    dated.append((purpose, column, purpose_rule))
                elif not any(self._purpose_is_hold(name, purpose) for name in scope if purpose in self._purposes(name)):
                    undated.append(purpose)
            # A hold's rows may also end for people already erased, when their rows tell (anonymised fields).
            if dated or (rule.kind == HOLD and self._swept_tellable(root)):
                targets.append(SweepTarget(root=root, scope=scope, dated=dated, undated=undated))
        return targets

    def _purpose_is_hold(self, name: str, purpose: str) -> bool:
        """Return whether ``purpose`` is served by ``name`` only through the legal hold its rows are kept under."""
        erasure = self.tables[name]["erasure"] or {}
        if erasure.get("strategy") != KEEP or not erasure.get("hold"):
            return False
        hold_rule = self.datamap.legal_holds[erasure["hold"]]["period_rule"]
        return (self.datamap.purposes[purpose].get("retention_rule") or {}) == hold_rule

    # --- conditions --------------------------------------------------------------

    def _before(self, column: sa.Column, day: dt.date) -> sa.ColumnElement[bool]:
        """Return ``column`` < the start of ``day``, compared as the column stores dates."""
        if isinstance(column.type, sa.DateTime):
            bound: Any = dt.datetime.combine(day, dt.time())
        elif isinstance(column.type, sa.Date):
            bound = day
        else:
            bound = day.isoformat()  # ISO text sorts as the dates it holds
        return sa.and_(column.is_not(None), column < bound)

    def _expired(self, table: sa.Table, target: SweepTarget, today: dt.date) -> sa.ColumnElement[bool]:
        if not target.dated:
            return sa.false()  # nothing dates these rows: never past a period by date
        year_end = self.datamap.financial_year_end()
        return sa.and_(
            *(
                self._before(
                    self._column(table, column), rule_last_expired_day(rule, today, year_end=year_end) + dt.timedelta(1)
                )
                for _, column, rule in target.dated
            )
        )

    def _swept(self, table: sa.Table, name: str) -> sa.ColumnElement[bool] | None:
        """Return the condition of a row already anonymised by erasure or a sweep, if its fields can tell."""
        erasure = self.tables[name]["erasure"] or {}
        if erasure.get("strategy") != ANONYMISE:
            return None
        conditions = []
        for column, method in erasure["fields"].items():
            kind, argument = method_split(method)
            if kind == "clear":
                conditions.append(self._column(table, column).is_(None))
            elif kind == "redact":
                # Never NULL: a row with an empty field is not taken for one already swept.
                conditions.append(self._column(table, column).is_not_distinct_from(self._redaction()))
            elif kind == "set" and argument is not None:
                conditions.append(self._column(table, column).is_not_distinct_from(argument))
        return sa.and_(*conditions) if conditions else None

    def _swept_tellable(self, name: str) -> bool:
        erasure = self.tables[name]["erasure"] or {}
        methods = [method_split(method) for method in erasure.get("fields", {}).values()]
        return erasure.get("strategy") == ANONYMISE and any(
            kind in ("clear", "redact") or (kind == "set" and argument is not None) for kind, argument in methods
        )

    def _restricted(self, table: sa.Table, name: str) -> sa.ColumnElement[bool] | None:
        restriction = self.tables[name]["restriction"]
        if not restriction:
            return None
        column = self._column(table, restriction["column"])
        return sa.and_(column.is_not(None), column == sa.true())

    def _root_condition(
        self, conn: Connection, rule: SweepRule, target: SweepTarget, today: dt.date
    ) -> sa.ColumnElement[bool]:
        """Return the condition of the root rows this sweep acts on (never those marked restricted in the source)."""
        table = self._table(conn, target.root)
        expired = self._expired(table, target, today)
        swept = self._swept(table, target.root)
        if rule.kind == HOLD and not target.dated:
            condition = swept if swept is not None else sa.false()
        elif rule.kind == HOLD:
            # A hold ends for the rows of people past their purposes' periods or already erased.
            condition = expired if swept is None else sa.or_(expired, swept)
        elif swept is not None and target.root in target.scope:
            condition = sa.and_(expired, sa.not_(swept))
        else:
            condition = expired
        restricted = self._restricted(table, target.root)
        return condition if restricted is None else sa.and_(condition, sa.not_(restricted))

    # --- reading -----------------------------------------------------------------

    def sweep_roots(
        self,
        rule: SweepRule,
        target: SweepTarget,
        today: dt.date,
        *,
        after: Any = None,
        limit: int = 1000,
        identifiers: bool = True,
    ) -> list[tuple[Any, dict[str, set[str]]]]:
        """Return the next ``limit`` root rows past their period, by key after ``after``, with their identifiers.

        The identifiers are for checking the restriction register; they stay in memory. Without ``identifiers``
        (the register is empty) each row comes with none.
        """
        with self._connect("finding rows past their retention", read_only=True) as conn:
            if after is None:
                self._live_check(conn)  # once, before the first page: the map must fit the database
            table = self._table(conn, target.root)
            key_columns = self._primary_key(table)
            if len(key_columns) != 1:
                raise self.error(f'table "{target.root}" has a composite key; a sweep starts from a one-column key')
            key = key_columns[0]
            kinds = self.tables[target.root]["identifiers"] if identifiers else {}
            columns = [(kind, column) for kind, names in kinds.items() for column in names]
            query = sa.select(key, *(self._column(table, column) for _, column in columns))
            query = query.where(self._root_condition(conn, rule, target, today))
            if after is not None:
                query = query.where(key > after)
            rows = conn.execute(query.order_by(key).limit(limit)).all()
            if not columns:
                return [(value_jsonable(row[0]), {}) for row in rows]
            found = []
            for row in rows:
                values: dict[str, set[str]] = {}
                for (kind, _), value in zip(columns, row[1:], strict=True):
                    if value is not None and str(value).strip():
                        values.setdefault(kind, set()).add(str(value))
                found.append((value_jsonable(row[0]), values))
            return found

    def sweep_survey(
        self, rule: SweepRule, target: SweepTarget, today: dt.date, *, excluded: list | None = None
    ) -> dict:
        """Return the dry run of one target: people, rows per table and action, running holds, a sample of keys."""
        excluded = excluded or []
        year_end = self.datamap.financial_year_end()
        with self._connect("surveying rows past their retention", read_only=True) as conn:
            self._live_check(conn)
            root = self._table(conn, target.root)
            key = self._primary_key(root)[0]
            condition = self._root_condition(conn, rule, target, today)
            if excluded:
                condition = sa.and_(condition, key.not_in(excluded))
            people = conn.execute(sa.select(sa.func.count()).select_from(root).where(condition)).scalar_one()
            restricted_column = self._restricted(root, target.root)
            marked = 0
            if restricted_column is not None:
                expired = self._expired(root, target, today)
                query = sa.select(sa.func.count()).select_from(root).where(expired, restricted_column)
                marked = conn.execute(query).scalar_one()
            event_columns = dict.fromkeys(column for _, column, _ in target.dated)
            sample_columns = [key, *(self._column(root, column) for column in event_columns)]
            sample = [
                [value_jsonable(value) for value in row]
                for row in conn.execute(sa.select(*sample_columns).where(condition).order_by(key).limit(SAMPLE_SIZE))
            ]
            root_keys = sa.select(key).where(condition)
            tables = []
            for name in target.scope:
                tables.append(self._table_survey(conn, name, target.root, root_keys, today, year_end))
        return {
            "root": target.root,
            "events": {purpose: column for purpose, column, _ in target.dated},
            "periods": {purpose: rule_describe(rule) for purpose, _, rule in target.dated},
            "people": people,
            "restricted_in_source": marked,
            "sample": sample,
            "sample_columns": [column.name for column in sample_columns],
            "tables": tables,
            "undated": target.undated,
        }

    def _rows_of(self, conn: Connection, name: str, root: str, root_keys: sa.Select) -> sa.ColumnElement[bool]:
        """Return the condition selecting ``name``'s rows that belong to the root rows ``root_keys`` selects."""
        table = self._table(conn, name)
        if name == root:
            return self._primary_key(table)[0].in_(root_keys)
        conditions = []
        for link in self.tables[name]["links"]:
            if link["table"] != root and root not in self._reaching_from(link["table"]):
                continue
            other = self._table(conn, link["table"])
            own = [self._column(table, column) for column in link["columns"]]
            theirs = [self._column(other, column) for column in link["columns"].values()]
            other_rows = sa.select(*theirs).where(self._rows_of(conn, link["table"], root, root_keys))
            conditions.append(own[0].in_(other_rows) if len(own) == 1 else sa.tuple_(*own).in_(other_rows))
        return sa.or_(*conditions) if conditions else sa.false()

    def _reaching_from(self, name: str) -> set[str]:
        """Return the tables ``name``'s links lead to, directly or through others."""
        found, stack = set(), [name]
        while stack:
            for link in self.tables[stack.pop()]["links"]:
                if link["table"] not in found:
                    found.add(link["table"])
                    stack.append(link["table"])
        return found

    def _table_survey(
        self, conn: Connection, name: str, root: str, root_keys: sa.Select, today: dt.date, year_end: tuple
    ) -> dict:
        table = self._table(conn, name)
        mine = self._rows_of(conn, name, root, root_keys)
        erasure = self.tables[name]["erasure"] or {}
        strategy = erasure.get("strategy")
        count = conn.execute(sa.select(sa.func.count()).select_from(table).where(mine)).scalar_one()
        entry = {"table": name, "action": strategy, "rows": count, "ended": 0, "running": 0}
        if strategy != KEEP:
            return entry
        entry["hold"] = erasure.get("hold")
        after = erasure.get("after_hold") or (DELETE if self._dated_by(name) else None)
        entry["after_hold"] = after
        date_source, date = table, None
        if erasure.get("date_column"):
            date = self._column(table, erasure["date_column"])
        elif dated_by := self._dated_by(name):
            other_name, columns = dated_by
            other = self._table(conn, other_name).alias("dsr_dated_by")
            on = [self._column(table, own) == other.c[theirs] for own, theirs in columns.items()]
            date_source = table.outerjoin(other, sa.and_(*on))
            date = other.c[self.tables[other_name]["erasure"]["date_column"]]
        if date is None or not after:
            entry["running"] = count  # kept under the hold with no date to end it: said in words, never swept
            return entry
        hold_rule = self.datamap.legal_holds[erasure["hold"]]["period_rule"]
        ended = self._before(date, rule_last_expired_day(hold_rule, today, year_end=year_end) + dt.timedelta(1))
        query = sa.select(sa.func.count(), sa.func.min(date), sa.func.max(date)).select_from(date_source).where(mine)
        entry["ended"] = conn.execute(query.where(ended)).one()[0]
        running, first, last = conn.execute(query.where(sa.not_(ended))).one()
        entry["running"] = running
        if running:
            # The dates the running holds end: the earliest and the latest of these rows.
            first_day, last_day = value_date(first), value_date(last)
            entry["running_from"] = (
                date_iso(rule_date_apply(hold_rule, first_day, year_end=year_end)) if first_day else None
            )
            entry["running_until"] = (
                date_iso(rule_date_apply(hold_rule, last_day, year_end=year_end)) if last_day else None
            )
        return entry

    # --- changing ------------------------------------------------------------------

    def sweep_plan(self, target: SweepTarget, keys: list, *, today: dt.date) -> ErasurePlan:
        """Plan erasing the root rows ``keys`` in the target's scope: holds, shared rows, order as for a request."""
        self._roots = {target.root: list(keys)}
        try:
            return self.erasure_plan({}, tables=target.scope, today=today)
        finally:
            self._roots = None
