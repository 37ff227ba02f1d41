"""The sql connector's consent records as the preference centre reads and writes them (dsr/preferences.py).

A table the map declares with ``consent: {key_column, state_column, ...}`` holds
one row per consent the person gave (or refused). Reading reports, per consent
key, whether a row shows it given now or only withdrawn. Giving writes a new
row, dated and with its channel, beside the older ones: the rows are the
evidence of consent (GDPR Art. 7(1)), so an earlier withdrawal is kept. A new
row needs the one row it belongs to (the person's customer row, through the
table's single link); where the person has none, or several, nothing is written
and the result says so.
"""

from typing import Any

import sqlalchemy as sa
from django.utils import timezone
from sqlalchemy.engine import Connection

from dsr.sources.base import CONSENT_GIVE, CONSENT_READ, UPDATE, ChangeResult, Fact, Identifiers
from dsr.sources.groups import categories_of
from dsr.sources.sql.config import GIVE_NOW

GIVEN, WITHDRAWN = "given", "withdrawn"


def consent_give_supported(table: dict) -> bool:
    """Return whether a normalised table's configuration lets a consent be recorded in it (a dated new row)."""
    consent = table.get("consent") or {}
    if not consent.get("given_at_column") or len(table.get("links") or []) != 1:
        return False
    # A given consent's state is the opposite of a boolean "withdrawn" value; another kind of state is not guessed.
    return isinstance(consent.get("withdrawn_value", False), bool)


class SqlConsents:
    """Reading the person's consent rows and recording a consent they give; mixed into SqlConnector."""

    def consent_capabilities(self) -> set[str]:
        consent_tables = [table for table in self.tables.values() if table.get("consent")]
        found = {CONSENT_READ} if consent_tables else set()
        if any(consent_give_supported(table) for table in consent_tables):
            found.add(CONSENT_GIVE)
        return found

    def consents_read(self, identifiers: Identifiers) -> dict[str, str]:
        if CONSENT_READ not in self.capabilities():
            raise self.unsupported("reading consents")
        states: dict[str, str] = {}
        with self._connect("reading consents", read_only=True) as conn:
            for name in self._order():
                consent = self.tables_config[name].get("consent")
                if not consent:
                    continue
                table = self._table(conn, name)
                key = self._column(table, consent["key_column"])
                given = self._consent_given_condition(table, consent)
                query = sa.select(key, given).where(self._match(conn, name, identifiers))
                for value, is_given in conn.execute(query):
                    if value is None:
                        continue
                    # Given in any row (a table, a source) outweighs a withdrawn one.
                    if is_given:
                        states[str(value)] = GIVEN
                    else:
                        states.setdefault(str(value), WITHDRAWN)
        return states

    def consent_give(self, identifiers: Identifiers, consent: str, *, channel: str) -> ChangeResult:
        # GDPR Art. 7(1): the controller must be able to show the consent was given: when and how.
        if CONSENT_GIVE not in self.capabilities():
            raise self.unsupported("recording a consent")
        result = ChangeResult(source=self.key, operation=CONSENT_GIVE)
        now = timezone.now()
        with self._connect("recording a consent", read_only=False) as conn:
            for name in self._order():
                config = self.tables[name]
                if not config.get("consent") or not consent_give_supported(config):
                    continue
                result.facts.append(self._consent_row_write(conn, name, identifiers, consent, channel, now))
            for name in self._order():
                give = (self.tables[name].get("withdrawal") or {}).get("give")
                if give is not None and consent in self.tables[name]["withdrawal"]["consents"]:
                    result.facts.append(self._consent_regive(conn, name, identifiers, consent, give, now))
        return result

    def _consent_regive(
        self, conn: Connection, name: str, identifiers: Identifiers, consent: str, give: dict, now: Any
    ) -> Fact:
        """Write the row a withdrawal deleted (a newsletter subscription) when its consent is given again.

        Only where the person has no row there yet, and only with the one row of theirs it belongs to: the
        link's columns from that row, each identifier column from what the person confirmed, and the map's
        ``give`` values.
        """
        config = self.tables[name]
        table = self._table(conn, name)
        found = self._count(conn, name, identifiers)
        fact = Fact(table=name, action=UPDATE, found=found, changed=0, item=consent)
        link = config["links"][0]
        parent = self._table(conn, link["table"])
        theirs = [self._column(parent, column) for column in link["columns"].values()]
        owners = conn.execute(sa.select(*theirs).where(self._match(conn, link["table"], identifiers)).limit(2)).all()
        if found or len(owners) != 1:
            return fact
        values: dict[str, Any] = dict(zip(link["columns"], owners[0], strict=True))
        for kind, columns in config["identifiers"].items():
            if identifiers.get(kind):
                values.setdefault(columns[0], sorted(identifiers[kind])[0])
        for column, value in give.items():
            values[column] = now if value == GIVE_NOW else value
        for column in values:
            self._column(table, column)
        conn.execute(sa.insert(table).values(**values))
        fact.changed = 1
        fact.columns = list(values)
        fact.categories = categories_of(config.get("categories"))
        return fact

    def _consent_row_write(
        self, conn: Connection, name: str, identifiers: Identifiers, consent: str, channel: str, now: Any
    ) -> Fact:
        config = self.tables[name]
        settings_ = config["consent"]
        table = self._table(conn, name)
        key_column = self._column(table, settings_["key_column"])
        found = self._count(conn, name, identifiers, key_column == consent)
        given_now = self._count(
            conn, name, identifiers, key_column == consent, self._consent_given_condition(table, settings_)
        )
        link = config["links"][0]
        parent = self._table(conn, link["table"])
        theirs = [self._column(parent, column) for column in link["columns"].values()]
        owners = conn.execute(sa.select(*theirs).where(self._match(conn, link["table"], identifiers)).limit(2)).all()
        fact = Fact(table=name, action=UPDATE, found=found, changed=0, item=consent)
        # Already given here, or no single row to attach it to: nothing is written, and the fact says so.
        if given_now or len(owners) != 1:
            return fact
        withdrawn = settings_.get("withdrawn_value", False)
        values: dict[str, Any] = {
            settings_["key_column"]: consent,
            settings_["state_column"]: not withdrawn,
            settings_["given_at_column"]: now,
        }
        if settings_.get("channel_column"):
            values[settings_["channel_column"]] = channel
        for own, value in zip(link["columns"], owners[0], strict=True):
            values[own] = value
        for column in values:
            self._column(table, column)
        conn.execute(sa.insert(table).values(**values))
        fact.changed = 1
        fact.columns = list(values)
        fact.categories = categories_of(config.get("categories"))
        return fact
