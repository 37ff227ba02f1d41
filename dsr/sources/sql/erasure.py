"""Erasure in a sql source (GDPR Art. 17): planned from the person's rows and the live schema, run in one transaction.

The plan lists rows by primary key, per table and action. Rows kept under a
legal hold are dated one by one: those whose hold has ended are planned with
the table's ``after_hold`` strategy. Rows of linked tables that other people's
rows (or rows of no person) still point at are *shared*: they are left alone
and counted, and with ``shared: unlink`` the person's own references to them
are cleared. Deletes run in the order the database's own foreign keys allow.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from django.utils import timezone
from sqlalchemy.engine import Connection

from dsr.datamap.rules import rule_date_apply
from dsr.sources.base import (
    ANONYMISE,
    DEFAULT_REDACTION,
    DELETE,
    KEEP,
    ErasurePlan,
    ErasureResult,
    Fact,
    Identifiers,
    TablePlan,
    date_iso,
    value_date,
    value_jsonable,
)
from dsr.sources.groups import categories_of
from dsr.sources.sql.anonymise import anonymised_value, hash_sql, hash_sql_fits, method_split
from dsr.sources.sql.checks import live_errors
from dsr.sources.sql.schema import LiveForeignKey, deletion_order

_CASCADING = ("CASCADE", "SET NULL")


def _key(row: Any, width: int) -> Any:
    if width == 1:
        return value_jsonable(row[0])
    return [value_jsonable(value) for value in row[:width]]


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


_PLAIN_KEYS = {int, str}


def _keys(rows: list, width: int) -> list:
    """Return the keys of ``rows`` (their first ``width`` values) as `_key` does, in bulk.

    A batch of a sweep reads hundreds of thousands of keys: whole numbers and texts, most keys, are taken as
    they are after one look at their types.
    """
    if width == 1:
        keys = [row[0] for row in rows]
        return keys if set(map(type, keys)) <= _PLAIN_KEYS else [value_jsonable(key) for key in keys]
    return [_key(row, width) for row in rows]


def _hashables(keys: list) -> set:
    """Return ``keys`` (of one table, so all of one width) as a set, a composite key as a tuple."""
    if keys and isinstance(keys[0], list):
        return {tuple(key) for key in keys}
    return set(keys)


class SqlErasure:
    """The erasure half of `SqlConnector` (its finding and connection helpers are the connector's)."""

    # --- checks ----------------------------------------------------------------

    def _redaction(self) -> str:
        return str(self.config.get("redaction_text", DEFAULT_REDACTION))

    def _live_errors(self, conn: Connection) -> list:
        live, path = self._live(conn), f"sources.{self.key}"
        return live_errors(self.tables, live, path=path, redaction_text=self._redaction())

    def _live_check(self, conn: Connection) -> None:
        """Refuse to go on when the map would break a constraint of the database as it is now.

        While the schema is held (a sweep), the check runs once for all the operations.
        """
        if self._schema_held and self._schema_checked:
            return
        errors = self._live_errors(conn)
        if errors:
            shown = "; ".join(str(error) for error in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise self.error(f"the map does not fit the database: {shown}{more}")
        self._schema_checked = True

    # --- planning --------------------------------------------------------------

    def _hold_end(self, hold_key: str, day: dt.date | None) -> dt.date | None:
        if day is None:
            return None
        rule = self.datamap.legal_holds[hold_key]["period_rule"]
        return rule_date_apply(rule, day, year_end=self.datamap.financial_year_end())

    def _dated_by(self, name: str) -> tuple[str, dict] | None:
        """Return the link (table, columns) that dates a kept table without a date of its own.

        Order lines have no date, their order has: each line's hold runs from its order's date,
        when both are kept under the same hold and the order's rows are deleted after it.
        """
        erasure = self.tables[name]["erasure"]
        for link in self.tables[name]["links"]:
            other = self.tables[link["table"]]["erasure"] or {}
            same_hold = other.get("strategy") == KEEP and other.get("hold") == erasure.get("hold")
            if same_hold and other.get("date_column") and other.get("after_hold") == DELETE:
                return link["table"], link["columns"]
        return None

    def _rows_dated(self, conn: Connection, name: str, identifiers: Identifiers) -> tuple[list, list | None]:
        """Return the keys of the person's rows of ``name`` and, when kept under a hold, the day each hold runs from.

        The days are None for a table whose rows no hold dates (a day itself is None where the row holds none).
        """
        table = self._table(conn, name)
        key_columns = self._primary_key(table)
        erasure = self.tables[name]["erasure"]
        source, date = table, None
        if erasure["strategy"] == KEEP and erasure["date_column"]:
            date = self._column(table, erasure["date_column"])
        elif erasure["strategy"] == KEEP and (dated_by := self._dated_by(name)):
            other_name, columns = dated_by
            other = self._table(conn, other_name).alias("dsr_dated_by")
            on = [self._column(table, own) == other.c[theirs] for own, theirs in columns.items()]
            source = table.outerjoin(other, sa.and_(*on))
            date = other.c[self.tables[other_name]["erasure"]["date_column"]]
        selected = [*key_columns, *([date] if date is not None else [])]
        query = sa.select(*selected).select_from(source).where(self._match(conn, name, identifiers))
        rows = conn.execute(query.order_by(*key_columns)).all()
        keys = _keys(rows, len(key_columns))
        if date is None and erasure["strategy"] != KEEP:
            return keys, None
        return keys, [value_date(row[-1]) if date is not None else None for row in rows]

    def _rows_known(self, conn: Connection, name: str, keys: list) -> None:
        """Let a sweep find the rows linked to ``name``'s rows by these keys (``_match``), on PostgreSQL."""
        if self._roots is None or name in self._roots:
            return
        if self._keys_as_array(self._primary_key(self._table(conn, name)), keys):
            self._roots[name] = keys

    def _referring(self, fk: LiveForeignKey, table: sa.Table, key_columns: list) -> sa.Column | None:
        """Return the referencing column of ``fk`` when it points at ``table``'s one-column key (it holds the key)."""
        if len(key_columns) == 1 and list(fk.referred_columns) == [key_columns[0].name] and len(fk.columns) == 1:
            return fk.columns[0]
        return None

    def _referencing_rows(
        self, conn: Connection, fk: LiveForeignKey, table: sa.Table, key_columns: list, keys: list, alias: str
    ) -> list[tuple[Any, Any]]:
        """Return (key, referencing row's key) for the rows of ``fk.table`` that point at ``table``'s rows ``keys``.

        Where the reference holds the key itself, the referencing table is read alone, by its own (indexed)
        column: a join lets PostgreSQL read the whole referencing table for every batch.
        """
        child = self._table(conn, fk.table).alias(alias)
        child_keys = self._primary_key_of(child, fk.table)
        referring = self._referring(fk, table, key_columns)
        found = []
        for chunk in self._key_chunks(key_columns, keys):
            if referring is not None:
                column = child.c[referring]
                query = sa.select(column, *child_keys).where(self._key_condition([column], chunk))
            else:
                pairs = zip(fk.columns, fk.referred_columns, strict=True)
                on = sa.and_(*(child.c[own] == table.c[theirs] for own, theirs in pairs))
                query = sa.select(*key_columns, *child_keys).select_from(table.join(child, on))
                query = query.where(self._key_condition(key_columns, chunk))
            width = 1 if referring is not None else len(key_columns)
            for row in conn.execute(query):
                found.append((_key(row, width), _key(row[width:], len(child_keys))))
        return found

    def _shared_keys(self, conn: Connection, name: str, keys: list, own: dict[str, set]) -> set:
        """Return the keys among ``keys`` that a row which is not the person's still points at."""
        if self.tables[name]["identifiers"] or not keys:
            return set()  # a table found by the person's identifiers holds their own rows
        table = self._table(conn, name)
        key_columns = self._primary_key(table)
        shared = set()
        for fk in self._live(conn).referencing(name):
            mine = own.get(fk.table, set())
            for parent_key, child_key in self._referencing_rows(conn, fk, table, key_columns, keys, "dsr_referencing"):
                if _hashable(child_key) not in mine:
                    shared.add(_hashable(parent_key))
        return shared

    def erasure_plan(
        self,
        identifiers: Identifiers,
        *,
        reference: str = "",
        tables: list[str] | None = None,
        today: dt.date | None = None,
    ) -> ErasurePlan:
        """Plan the erasure of the person's rows (only in ``tables`` when given: a retention sweep's scope).

        Holds end by ``today`` (a sweep's day; by default the local date).
        """
        today = today or timezone.localdate()
        plans: list[TablePlan] = []
        with self._connect("planning erasure", read_only=True) as conn:
            self._live_check(conn)
            order = [name for name in self._order() if tables is None or name in tables]
            rows = {}
            for name in order:
                rows[name] = self._rows_dated(conn, name, identifiers)
                self._rows_known(conn, name, rows[name][0])
            own = {name: _hashables(keys) for name, (keys, _) in rows.items()}
            for name in order:
                erasure, config = self.tables[name]["erasure"], self.tables[name]
                strategy, fields = erasure["strategy"], erasure["fields"]
                changed_categories = categories_of(config["categories"], None if strategy == DELETE else fields)
                keys, days = rows[name]
                shared = self._shared_keys(conn, name, keys, own) if (strategy != KEEP or fields) else set()
                acting = [key for key in keys if _hashable(key) not in shared] if shared else keys
                if strategy != KEEP:
                    plan = TablePlan(table=name, action=strategy, count=len(keys), keys=acting, fields=dict(fields))
                    plan.categories, plan.shared_keys = changed_categories, sorted(shared, key=repr)
                    plans.append(plan)
                    continue
                # GDPR Art. 17(3)(b): each row is kept only while its own hold runs.
                # Many rows share a day: each day's end is computed once.
                day_ends = {day: self._hold_end(erasure["hold"], day) for day in set(days)}
                ends = {_hashable(key): day_ends[day] for key, day in zip(keys, days, strict=True)}
                after = erasure["after_hold"] or (DELETE if self._dated_by(name) else None)
                ended = [key for key in acting if after and (ends[_hashable(key)] or today) < today]
                gone = _hashables(ended)
                running = [key for key in acting if _hashable(key) not in gone]
                running_ends = [ends[_hashable(key)] for key in running]
                plan = TablePlan(
                    table=name,
                    action=KEEP,
                    count=len(running) + len(shared),
                    keys=running,
                    fields={} if after == ANONYMISE else dict(fields),
                    hold=erasure["hold"],
                    # A row without a date has no end date to state: the hold's rule is said in words instead.
                    hold_until=date_iso(max(running_ends)) if running_ends and None not in running_ends else None,
                )
                plan.categories = categories_of(config["categories"], plan.fields) if plan.fields else []
                plan.shared_keys = sorted(shared, key=repr)
                plans.append(plan)
                if ended:
                    later = TablePlan(
                        table=name,
                        action=after,
                        count=len(ended),
                        keys=ended,
                        fields=dict(fields) if after == ANONYMISE else {},
                        hold=erasure["hold"],
                    )
                    later.categories = categories_of(config["categories"], None if after == DELETE else fields)
                    plans.append(later)
            self._still_needed(conn, plans)
        return ErasurePlan(source=self.key, kind=self.kind, tables=plans)

    def _still_needed(self, conn: Connection, plans: list[TablePlan]) -> None:
        """Keep the rows whose hold has ended that rows still kept point at (an order its running invoice needs).

        Deleting them would break the database's foreign keys; they go with the last row that needs them,
        so no end date is stated for them. A row kept this way may in turn keep the rows it points at.
        """
        moved_any = True
        while moved_any:
            moved_any = False
            running = {plan.table: plan for plan in plans if plan.action == KEEP and plan.keys}
            for later in [plan for plan in plans if plan.action == DELETE and plan.hold and plan.keys]:
                needed = self._needed_by(conn, later, running)
                if not needed:
                    continue
                keep = running.get(later.table)
                if keep is None:
                    keep = TablePlan(table=later.table, action=KEEP, count=0, hold=later.hold)
                    plans.insert(plans.index(later), keep)
                    running[later.table] = keep
                keep.keys += [key for key in later.keys if _hashable(key) in needed]
                keep.count += len(needed)
                keep.hold_until = None
                later.keys = [key for key in later.keys if _hashable(key) not in needed]
                later.count = len(later.keys)
                moved_any = True

    def _needed_by(self, conn: Connection, later: TablePlan, running: dict[str, TablePlan]) -> set:
        """Return the keys among ``later``'s that a row of a running plan points at."""
        table = self._table(conn, later.table)
        key_columns = self._primary_key(table)
        needed = set()
        for fk in self._live(conn).referencing(later.table):
            if fk.table not in running or fk.on_delete in _CASCADING:
                continue
            kept = _hashables(running[fk.table].keys)
            for key, child_key in self._referencing_rows(conn, fk, table, key_columns, later.keys, "dsr_needing"):
                if _hashable(child_key) in kept:
                    needed.add(_hashable(key))
        # Rows dated by a row that stays (the lines of an order its invoice still needs) stay with it.
        if (dated_by := self._dated_by(later.table)) and dated_by[0] in running:
            other_name, columns = dated_by
            kept = _hashables(running[other_name].keys)
            other = self._table(conn, other_name).alias("dsr_dating")
            other_keys = self._primary_key_of(other, other_name)
            on = sa.and_(*(table.c[own] == other.c[theirs] for own, theirs in columns.items()))
            for chunk in self._key_chunks(key_columns, later.keys):
                condition = self._key_condition(key_columns, chunk)
                query = sa.select(*key_columns, *other_keys).select_from(table.join(other, on)).where(condition)
                for row in conn.execute(query):
                    if _hashable(_key(row[len(key_columns) :], len(other_keys))) in kept:
                        needed.add(_hashable(_key(row, len(key_columns))))
        return needed

    # --- executing -------------------------------------------------------------

    def _anonymise(self, conn: Connection, table: sa.Table, key_columns: list, plan: TablePlan) -> set:
        """Anonymise the plan's rows set by set; return the keys of the rows that changed.

        A row whose fields already hold their anonymised values is left alone and not counted. PostgreSQL
        computes each row's keyed hash in the UPDATE itself (whole-number keys, no truncated dates); elsewhere
        the values are computed here.
        """
        if self._anonymise_in_database(key_columns, plan):
            return self._anonymise_set(conn, table, key_columns, plan)
        return self._anonymise_chunks(conn, table, key_columns, plan)

    def _anonymise_in_database(self, key_columns: list, plan: TablePlan) -> bool:
        methods = {method_split(method)[0] for method in plan.fields.values()}
        return (
            self._keys_as_array(key_columns, plan.keys)
            and "truncate" not in methods
            and ("hash" not in methods or hash_sql_fits(key_columns[0]))
        )

    def _anonymise_set(self, conn: Connection, table: sa.Table, key_columns: list, plan: TablePlan) -> set:
        """Anonymise the plan's rows in one UPDATE that computes every value itself and returns the changed keys."""
        live = self._live(conn).tables[table.name]
        key = key_columns[0]
        values = {}
        for i, (column, method) in enumerate(plan.fields.items()):
            if method_split(method)[0] == "hash":
                where = f"{self.key}\x1f{table.name}\x1f{column}"
                values[column] = hash_sql(where, key, live.columns[column].length, name=f"dsr_hash_{i}")
            else:
                value = anonymised_value(
                    method, column=live.columns[column], where="", key=None, redaction=self._redaction()
                )
                values[column] = sa.literal(value, type_=table.c[column].type)
        differs = sa.or_(*(table.c[column].is_distinct_from(value) for column, value in values.items()))
        statement = sa.update(table).where(self._key_condition(key_columns, plan.keys), differs).values(**values)
        return _hashables(_keys(conn.execute(statement.returning(key)).all(), 1))

    def _anonymise_chunks(self, conn: Connection, table: sa.Table, key_columns: list, plan: TablePlan) -> set:
        """Anonymise the plan's rows per chunk of keys: one SELECT of the rows that differ, one UPDATE.

        A value that differs per row (a keyed hash, a truncated date) is computed here and written by a CASE on
        the row's key.
        """
        live = self._live(conn).tables[table.name]
        truncating = [
            column for column, method in plan.fields.items() if isinstance(method, dict) and "truncate" in method
        ]
        width = len(key_columns)
        changed = set()
        for chunk in self._key_chunks(key_columns, plan.keys):
            in_chunk = self._key_condition(key_columns, chunk)
            current: dict[Any, dict] = {}
            if truncating:
                query = sa.select(*key_columns, *(table.c[c] for c in truncating)).where(in_chunk)
                for row in conn.execute(query):
                    current[_hashable(_key(row, width))] = dict(zip(truncating, row[width:], strict=True))
            try:
                rows = [(key, self._values(live, table, plan, key, current.get(_hashable(key), {}))) for key in chunk]
            except ValueError:
                # A column without a declared type held something that is no date: name it, never the value.
                columns = ", ".join(f'"{table.name}.{c}"' for c in truncating)
                raise self.error(f"{columns} holds a value that is not a date, so it cannot be truncated") from None
            if not rows:
                continue
            values = {column: self._per_key(table, key_columns, column, rows) for column in plan.fields}
            differs = sa.or_(*(table.c[column].is_distinct_from(value) for column, value in values.items()))
            found = _keys(conn.execute(sa.select(*key_columns).where(in_chunk, differs)).all(), width)
            if found:
                conn.execute(sa.update(table).where(self._key_condition(key_columns, found)).values(**values))
                changed |= _hashables(found)
        return changed

    def _per_key(self, table: sa.Table, key_columns: list, column: str, rows: list[tuple[Any, dict]]) -> Any:
        """Return the expression of ``column``'s new value: one value for all ``rows``, else a CASE on the key."""
        kind = table.c[column].type
        distinct = {repr(values[column]) for _, values in rows}
        if len(distinct) == 1:
            return sa.literal(rows[0][1][column], type_=kind)
        if len(key_columns) == 1:
            whens = {key: sa.literal(values[column], type_=kind) for key, values in rows}
            return sa.case(whens, value=key_columns[0], else_=table.c[column])
        pairs = [
            (
                sa.and_(*(c == part for c, part in zip(key_columns, key, strict=True))),
                sa.literal(values[column], type_=kind),
            )
            for key, values in rows
        ]
        return sa.case(*pairs, else_=table.c[column])

    def _values(self, live: Any, table: sa.Table, plan: TablePlan, key: Any, current: dict) -> dict:
        """Return the anonymised values of one row's fields."""
        return {
            column: anonymised_value(
                method,
                column=live.columns[column],
                where=f"{self.key}\x1f{table.name}\x1f{column}",
                key=key,
                current=current.get(column),
                redaction=self._redaction(),
            )
            for column, method in plan.fields.items()
        }

    def _references_clear(self, conn: Connection, fk: LiveForeignKey, child_keys: list, parent_keys: list) -> set:
        """Set ``fk``'s columns to NULL in the person's rows ``child_keys`` where they point at ``parent_keys``.

        Return the keys of the rows that changed.
        """
        if not child_keys or not parent_keys:
            return set()
        child, parent = self._table(conn, fk.table), self._table(conn, fk.referred_table)
        child_key_columns, parent_key_columns = self._primary_key(child), self._primary_key(parent)
        referred = [parent.c[column] for column in fk.referred_columns]
        own = [child.c[column] for column in fk.columns]
        target = own[0] if len(own) == 1 else sa.tuple_(*own)
        changed = set()
        for chunk in self._key_chunks(child_key_columns, child_keys):
            targets = sa.select(*referred).where(self._key_condition(parent_key_columns, parent_keys))
            mine = self._key_condition(child_key_columns, chunk)
            found = conn.execute(sa.select(*child_key_columns).where(mine, target.in_(targets))).all()
            keys = _keys(found, len(child_key_columns))
            if keys:
                statement = sa.update(child).where(self._key_condition(child_key_columns, keys))
                conn.execute(statement.values(**dict.fromkeys(fk.columns)))
                changed |= _hashables(keys)
        return changed

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        for table_plan in plan.tables:
            if table_plan.table not in self.tables or self.tables[table_plan.table]["context"]:
                raise self.error(f'the plan names table "{table_plan.table}", which the map no longer has')
        # The rows each plan changed, by key: a row counts once however many of its columns changed.
        changed: dict[int, set] = defaultdict(set)
        # Rows deleted from a table with one plan, counted by the database: nothing else can count them twice.
        deleted: dict[int, int] = defaultdict(int)
        unlinked: dict[int, list[str]] = defaultdict(list)
        by_table: dict[str, list[int]] = defaultdict(list)
        for i, table_plan in enumerate(plan.tables):
            by_table[table_plan.table].append(i)

        # Which plan a row belongs to, for the tables with more than one plan (kept and deleted after the hold).
        split = {name for name, idx in by_table.items() if len(idx) > 1}
        planned = {
            (t.table, key): i for i, t in enumerate(plan.tables) if t.table in split for key in _hashables(t.keys)
        }

        def unlinking(table: str) -> bool:
            return self.tables[table]["shared"] == "unlink"

        def plan_of(table: str, key: Any) -> int:
            return planned.get((table, key), by_table[table][0])

        # One transaction: all of the source's changes, or none of them.
        with self._connect("executing erasure", read_only=False) as conn:
            self._live_check(conn)
            live = self._live(conn)
            for i, table_plan in enumerate(plan.tables):
                if table_plan.fields and table_plan.action != DELETE:
                    table = self._table(conn, table_plan.table)
                    changed[i] |= self._anonymise(conn, table, self._primary_key(table), table_plan)
            own = {name: [key for i in idx for key in plan.tables[i].keys] for name, idx in by_table.items()}
            deleting = {
                name: [key for i in idx if plan.tables[i].action == DELETE for key in plan.tables[i].keys]
                for name, idx in by_table.items()
            }
            deleting = {name: keys for name, keys in deleting.items() if keys}
            ordered, _ = deletion_order(list(deleting), live)
            references = []  # (key, the shared or deleted rows it must no longer point at)
            for table_plan in plan.tables:
                if table_plan.shared_keys and unlinking(table_plan.table):
                    references += [(fk, table_plan.shared_keys) for fk in live.referencing(table_plan.table)]
            for name in ordered:
                # The person's rows that stay (or go later) must not point at rows that go now.
                for fk in live.referencing(name):
                    nullable = all(live.tables[fk.table].columns[column].nullable for column in fk.columns)
                    if fk.on_delete not in _CASCADING and fk.table in own and nullable:
                        references.append((fk, deleting[name]))
            for fk, targets in references:
                gone = _hashables(deleting.get(fk.table, []))
                for key in self._references_clear(conn, fk, own.get(fk.table, []), targets) - gone:
                    i = plan_of(fk.table, key)
                    changed[i].add(key)
                    unlinked[i] += [column for column in fk.columns if column not in unlinked[i]]
            for name in ordered:
                table = self._table(conn, name)
                key_columns = self._primary_key(table)
                keys = deleting[name]
                for chunk in self._key_chunks(key_columns, keys):
                    statement = sa.delete(table).where(self._key_condition(key_columns, chunk))
                    if len(by_table[name]) == 1:
                        # Every row deleted here is the one plan's, and no reference cleared above is one of
                        # them: the count the database reports is the number of rows that went.
                        deleted[by_table[name][0]] += conn.execute(statement).rowcount
                        continue
                    if conn.dialect.delete_returning:
                        present = conn.execute(statement.returning(*key_columns)).all()
                    else:
                        present = conn.execute(sa.select(*key_columns).where(statement.whereclause)).all()
                        conn.execute(statement)
                    for key in _hashables(_keys(present, len(key_columns))):
                        changed[plan_of(name, key)].add(key)
            facts = []
            for i, table_plan in enumerate(plan.tables):
                table = self._table(conn, table_plan.table)
                kept = 0
                if table_plan.action == KEEP:
                    # The planned rows that are still there are the ones kept.
                    kept = self._keys_present(conn, table, self._primary_key(table), table_plan.keys)
                facts.append(
                    Fact(
                        table=table_plan.table,
                        action=table_plan.action,
                        found=table_plan.count,
                        changed=len(changed[i]) + deleted[i],
                        kept=kept,
                        hold=table_plan.hold if table_plan.action == KEEP else "",
                        hold_until=table_plan.hold_until if kept else None,
                        shared=len(table_plan.shared_keys),
                        # The person's own references to them were all cleared above.
                        unlinked=len(table_plan.shared_keys)
                        if self.tables[table_plan.table]["shared"] == "unlink"
                        else 0,
                        columns=[*table_plan.fields, *(c for c in unlinked[i] if c not in table_plan.fields)],
                        categories=list(table_plan.categories) if changed[i] or deleted[i] else [],
                    )
                )
        return ErasureResult(source=self.key, facts=facts)
