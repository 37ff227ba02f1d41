"""Draft a whole data map from a live database: introspect, walk the foreign keys, write a commented YAML file.

The walk and the choices are dsr.sources.sql.draft's; this command renders them
as a map that loads as it is, each human decision marked ``# DECIDE:``.
No sampled value reaches the file or the terminal.
"""

import re
import textwrap
from pathlib import Path

import sqlalchemy as sa
import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from sqlalchemy.engine import make_url

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid
from dsr.sources.base import ANONYMISE, KEEP
from dsr.sources.registry import datamap_live_errors
from dsr.sources.sql.classify import CATEGORIES
from dsr.sources.sql.connection import error_describe, transaction_open
from dsr.sources.sql.draft import CONTEXT, HOLD, IDENTITY, OWN, REFERENCED, Draft, DraftError, datamap_draft

DECIDE = "DECIDE:"
_PASSWORD_MARK = "DSRDRAFTPASSWORDMARK"  # noqa: S105 - a marker swapped for the placeholder, not a secret


def _scalar(value: object) -> str:
    """Return ``value`` as YAML on one line (quoted where YAML would misread it: "no", "00000000")."""
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, sort_keys=False, width=1 << 16)
    text = text.rstrip("\n")
    return text[:-4].rstrip("\n") if text.endswith("\n...") else text


def source_key(url: str) -> str:
    """Return a map key for the database: its name or file name, lower-case (Chinook.sqlite -> chinook)."""
    database = make_url(url).database or "database"
    stem = Path(database).stem if "/" in database or "." in database else database
    key = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_")[:60]
    return key if re.fullmatch(r"[a-z][a-z0-9_]*", key) else f"db_{key}"[:64].rstrip("_") or "database"


def url_for_map(url: str, key: str) -> tuple[str, str]:
    """Return the URL with its password replaced by an environment placeholder, and the variable's name."""
    parsed = make_url(url)
    if parsed.password is None:
        return url, ""
    variable = f"{key.upper()}_DB_PASSWORD"
    text = parsed.set(password=_PASSWORD_MARK).render_as_string(hide_password=False)
    return text.replace(_PASSWORD_MARK, "${env:" + variable + "}"), variable


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def comment(self, indent: int, text: str) -> None:
        width = max(60, 116 - 2 * indent)
        for line in textwrap.wrap(text, width=width, subsequent_indent="  " if text.startswith(DECIDE) else ""):
            self.lines.append(f"{'  ' * indent}# {line}")

    def decide(self, indent: int, text: str) -> None:
        self.comment(indent, f"{DECIDE} {text}")

    def put(self, indent: int, key: str, value: object = None, note: str = "") -> None:
        text = f"{'  ' * indent}{_scalar(key)}:" + ("" if value is None else f" {_scalar(value)}")
        self.lines.append(text + (f"  # {note}" if note else ""))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _head(out: _Writer, draft: Draft, *, database: str, today: str) -> None:
    own = draft.tables_in(IDENTITY, OWN, REFERENCED)
    context = draft.tables_in(CONTEXT)
    shared = [name for name, table in draft.tables.items() if table.shared]
    out.comment(0, f"A data map drafted by `manage.py dsr_datamap_draft` from the {draft.dialect} database")
    out.comment(0, f"{database} on {today}: people are found in {draft.identity_table}.{draft.identity_column}.")
    out.comment(
        0,
        "It loads as it is (`manage.py dsr_load_datamap FILE --check`), but it is a draft: each choice only "
        "a person can make has a DECIDE comment. Decide, edit, and delete the comment. "
        "docs/mapping-your-first-database.md walks through it; docs/datamap.md is the reference.",
    )
    out.comment(0, "No value read from the database is written here: only names, types and what values look like.")
    out.comment(0, "")
    out.comment(0, f"Mapped: {len(own)} table(s): {', '.join(own)}.")
    out.comment(0, f"Context (lookup labels): {', '.join(context) or 'none'}. Shared: {', '.join(shared) or 'none'}.")
    for name, why in draft.left_out.items():
        out.comment(0, f"Not mapped: {name}: {why}.")
    out.lines.append("")


def _sections(out: _Writer, draft: Draft) -> None:
    keeps = any(table.strategy == KEEP for table in draft.tables.values())
    out.put(0, "controller")
    out.decide(1, "your organisation as letters name it: name, address, CVR number and privacy contact.")
    for key, value in (
        ("name", "Example ApS"),
        ("address", "Eksempelvej 1, 1000 København K"),
        ("cvr", "00000000"),
        ("email", "privacy@example.com"),
    ):
        out.put(1, key, value)
    out.lines.append("")
    out.put(0, "categories")
    for key, (da, en, da_description, en_description) in CATEGORIES.items():
        out.put(1, key)
        out.put(2, "name", {"da": da, "en": en})
        out.put(2, "description", {"da": da_description, "en": en_description})
    out.lines.append("")
    out.put(0, "purposes")
    out.decide(
        1,
        "why you hold this data. Each purpose needs its legal basis (GDPR Art. 6(1): a consent, b contract, "
        "c legal obligation, f legitimate interests, with legitimate_interest) and its retention "
        "(Art. 13(2)(a)). These are common starting points, not answers; give tables their own purposes: [...].",
    )
    out.put(1, "customer_account")
    out.put(2, "name", {"da": "Kundekonto og køb", "en": "Customer account and purchases"})
    out.put(2, "legal_basis", ["b"])
    out.put(2, "retention", {"da": "I 36 måneder efter, at kontoen er lukket.", "en": "36 months after closing."})
    out.put(2, "retention_rule", {"after": "account_deactivated", "months": 36}, f"{DECIDE} how long, from when")
    if keeps:
        out.put(1, "bookkeeping")
        out.put(2, "name", {"da": "Bogføring", "en": "Bookkeeping"})
        out.put(2, "legal_basis", ["c"])
        out.put(2, "retention", {"da": "5 år efter regnskabsårets udløb.", "en": "5 years after the financial year."})
        out.put(2, "retention_rule", {"after": "end_of_financial_year", "years": 5})
    out.lines.append("")
    out.decide(
        0,
        "who receives data from this database: processors (hosting, payments, email) and other controllers, "
        "by company name (GDPR Art. 15(1)(c), Art. 19). Name each under the source, or give it purposes.",
    )
    out.put(0, "recipients", {})
    out.lines.append("")
    if not keeps:
        out.put(0, "legal_holds", {})
        return
    out.put(0, "legal_holds")
    out.put(1, HOLD)
    out.put(2, "name", {"da": "Bogføringspligt", "en": "Bookkeeping obligation"})
    out.put(2, "law", {"da": "Bogføringsloven § 10", "en": "Danish Bookkeeping Act (Bogføringsloven) § 10"})
    out.put(2, "period_rule", {"after": "end_of_financial_year", "years": 5}, f"{DECIDE} the period the law sets")


def _table(out: _Writer, draft: Draft, name: str, purposes: list[str]) -> None:
    table = draft.tables[name]
    out.put(3, name)
    for note in table.notes:
        out.comment(4, note)
    for decision in table.decisions:
        out.decide(4, decision)
    if table.role == CONTEXT:
        out.put(4, "context", {"label": table.label}, "a lookup the person's rows point at; labels only")
        return
    if table.role == IDENTITY:
        out.put(4, "identifiers")
        for kind, columns in draft.identifiers.items():
            note = draft.identifier_notes.get(kind, "")
            out.put(5, kind, columns[0] if len(columns) == 1 else columns, f"{DECIDE} {note}" if note else "")
    if len(table.links) == 1:
        link = table.links[0]
        out.put(4, "link", {"table": link.table, "columns": link.columns}, link.key)
    elif table.links:
        out.put(4, "links")
        for link in table.links:
            out.lines.append(f"{'  ' * 5}- {_scalar({'table': link.table, 'columns': link.columns})}  # {link.key}")
    if table.shared:
        out.comment(4, "Other people's data may use these rows: " + "; ".join(table.shared[:4]) + ".")
        unlink = (
            "unlink also clears the person's own references to them"
            if table.unlinkable
            else "unlink is not possible: a referencing column is NOT NULL"
        )
        out.put(4, "shared", "skip", f"{DECIDE} skip leaves shared rows as they are; {unlink}")
    if table.strategy == KEEP:
        # Kept rows serve the bookkeeping obligation too; the rest serve the source's purposes.
        out.put(4, "purposes", [*purposes, "bookkeeping"])
    # A password hash is never exported, so it is no category of what the person is told about.
    categories = {column: guess for column, guess in table.guesses.items() if guess.kind != "secret"}
    if categories:
        out.put(4, "categories")
        for column, guess in categories.items():
            note = "" if guess.confident else f"{DECIDE} a guess, {guess.reason}"
            out.put(5, column, guess.category, note)
    unclassified = [c for c in table.live.columns if c not in table.guesses and c not in table.fields]
    if unclassified:
        out.comment(4, f"Not classified: {', '.join(unclassified)}.")
    if table.exclude:
        out.put(4, "exclude", table.exclude, "never exported")
    out.put(4, "erasure")
    if table.why:
        out.comment(5, table.why)
    out.put(5, "strategy", table.strategy)
    if table.strategy == KEEP:
        out.put(5, "hold", table.hold)
        if table.date_column:
            out.put(5, "date_column", table.date_column, "each kept row's hold runs from this date")
            out.put(5, "after_hold", table.after_hold, table.after_hold_why)
    if table.fields and (table.strategy == ANONYMISE or table.after_hold == ANONYMISE):
        out.put(5, "fields")
        for column, method in table.fields.items():
            out.put(6, column, method, table.field_notes.get(column, ""))


def draft_render(draft: Draft, *, url: str, schema: str | None, today: str) -> tuple[str, str]:
    """Return the draft as a whole data map in YAML, and the environment variable its URL's password is read from."""
    out = _Writer()
    key = source_key(url)
    map_url, variable = url_for_map(url, key)
    _head(out, draft, database=make_url(url).database or key, today=today)
    _sections(out, draft)
    purposes = ["customer_account"]
    out.lines.append("")
    out.put(0, "sources")
    out.put(1, key)
    out.put(2, "name", key.replace("_", " ").capitalize(), f"{DECIDE} the system's name as a person knows it")
    out.put(2, "kind", "sql")
    out.put(2, "purposes", purposes)
    out.decide(2, "where the data came from (GDPR Art. 15(1)(g)), and what the person gave you (Art. 20).")
    out.put(2, "origin")
    out.put(3, "da", "Fra dig, da du oprettede en konto og handlede hos os.")
    out.put(3, "en", "From you, when you created an account and made purchases.")
    out.put(2, "provided_by_subject", draft.tables_in(IDENTITY, OWN))
    note = f"the password is read from ${variable} when the source is used" if variable else ""
    out.put(2, "url", map_url, note)
    if schema:
        out.put(2, "schema", schema)
    out.put(2, "tables")
    for name in draft.tables:
        _table(out, draft, name, purposes)
    if draft.unreached:
        out.decide(
            3,
            f"no foreign key leads from {draft.identity_table} to these tables, but they look personal. Map "
            "each by its own identifiers if it holds the same people:",
        )
        for name, columns in draft.unreached.items():
            out.comment(3, f"  {name}: {', '.join(columns[:8])}")
    return out.text(), variable


class Command(BaseCommand):
    help = (
        "Draft a whole data map from a live database, starting from the table and column people are found by. "
        "The YAML loads as it is; every human decision is marked '# DECIDE:'."
    )
    # Drafting reads another database, not dsr's own map: the checks of the active map are beside the point.
    requires_system_checks: list = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="SQLAlchemy database URL, e.g. postgresql+psycopg://user:pw@host/shop")
        parser.add_argument("--identity", required=True, help="TABLE.COLUMN people are found by, e.g. customer.email")
        parser.add_argument("--out", type=Path, help="Write the map here (default: standard output).")
        parser.add_argument("--schema", help="The database schema to read (default: the connection's).")
        parser.add_argument("--sample", type=int, default=200, help="Rows per table whose values are looked at.")

    def handle(self, *args, url: str, identity: str, out: Path | None, schema: str | None, sample: int, **options):
        table, _, column = identity.rpartition(".")
        if not table or not column:
            raise CommandError(f"--identity must be TABLE.COLUMN, e.g. customer.email (got {identity!r})")
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError:
            raise CommandError("The URL is not a database URL (dialect+driver://user@host/database).") from None
        if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
            raise CommandError(f"The SQLite database file {parsed.database!r} does not exist.")
        today = timezone.localdate()
        try:
            with transaction_open(url, read_only=True) as conn:
                draft = datamap_draft(conn, table=table, column=column, schema=schema, sample=sample, today=today)
        except DraftError as exc:
            raise CommandError(str(exc)) from None
        except (sa.exc.SQLAlchemyError, ModuleNotFoundError) as exc:
            detail, _ = error_describe(exc) if isinstance(exc, sa.exc.SQLAlchemyError) else (str(exc), False)
            where = parsed.render_as_string(hide_password=True)
            raise CommandError(f"Cannot read the database at {where}: {detail}") from None
        text, variable = draft_render(draft, url=url, schema=schema, today=today.isoformat())
        if out is None:
            self.stdout.write(text, ending="")
            report = self.stderr
        else:
            out.write_text(text, encoding="utf-8")
            report = self.stdout
        self._summary(report, draft, text, out, variable)

    def _summary(self, report, draft: Draft, text: str, out: Path | None, variable: str) -> None:
        mapped = draft.tables_in(IDENTITY, OWN, REFERENCED)
        context, shared = draft.tables_in(CONTEXT), [n for n, t in draft.tables.items() if t.shared]
        decisions = text.count(f"# {DECIDE}")
        report.write(f"Drafted {out or 'the map'} from {draft.identity_table}.{draft.identity_column}:")
        report.write(f"  tables mapped: {len(mapped)} ({', '.join(mapped[:12])}{', ...' if len(mapped) > 12 else ''})")
        report.write(f"  context tables: {len(context)}{' (' + ', '.join(context[:12]) + ')' if context else ''}")
        report.write(f"  shared tables: {len(shared)}{' (' + ', '.join(shared) + ')' if shared else ''}")
        if draft.left_out:
            report.write(f"  not mapped: {', '.join(draft.left_out)}")
        if draft.unreached:
            report.write(f"  personal-looking tables no key leads to: {len(draft.unreached)}")
        report.write(f"  decisions to take: {decisions} (search the file for '# {DECIDE}')")
        if variable:
            report.write(f"  the URL's password is read from the environment variable {variable}")
        # The draft is checked as dsr_load_datamap checks a map: the file, then against the database itself.
        try:
            errors, unchecked = datamap_live_errors(datamap_parse(text))
        except DataMapInvalid as exc:
            errors, unchecked = exc.errors, []
        if errors:
            report.write(self.style.WARNING(f"  the draft does not load yet ({len(errors)} error(s)):"))
            for error in errors[:20]:
                report.write(f"    {error}")
        for note in unchecked:
            report.write(f"  {note}")
