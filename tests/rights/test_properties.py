"""dsr says only what happened: for random companies and every right, the words follow from the facts.

Each example draws a company (tests/rights/generated.py): a data map with
purposes, recipients and holds, one or two real SQLite sources, perhaps an
ad partner speaking OpenGDPR (a real local HTTP server), and a person with
random rows, consents and restriction flags among other people's. A right
runs for that person through the real engine (eager Celery, staff approving
plans and finishing tasks). Then an oracle, written here from the
documented rules and never from dsr's own outcome or notice code, checks
what dsr did and said against two things only: the facts the sources
reported on their jobs (``Job.result["facts"]``) and the rows read from the
SQLite files (and the partner's audience) before and after.

- The sources did what their facts say, to the person's rows only
  (GDPR Art. 16, 17, 18, 7(3)); other people's rows are byte-identical.
- An Art. 19 notice goes to exactly the recipients that, by the map's
  lineage, received a category a fact reports as changed, naming the person
  only by identifiers they received; no change, no notice.
- Every counted line of the person's email and erasure letter is a fact's
  count, never zero (Art. 12(1): clear and true); nothing is said to have
  been found missing where a source found rows.
- The Art. 15 answer names a consent-based purpose only where the person
  gave the consent or the data exists only under it (Art. 15(1)(a), 7).

``pytest --hypothesis-show-statistics`` shows what the examples exercised;
DSR_PROPERTY_SHRINK=1 shrinks a failure to the smallest company (minutes).
The examples at the end show each property on one small company.
"""

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import caches
from django.db import transaction
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.engine.manual import manual_task_complete
from dsr.engine.reconcile import jobs_reconcile
from dsr.exports.delivery import bundle_open
from dsr.models import (
    CLOSED_STATUSES,
    JobStatus,
    ManualTask,
    ManualTaskStatus,
    NotificationChannel,
    RecipientNotification,
    Request,
    Status,
)
from dsr.rights.base import request_plan_approve
from dsr.sources.sql import engines_dispose
from dsr.workflow import request_submit
from tests.pdf import pdf_words
from tests.rights.generated import (
    CORRECTIONS,
    HOLDS,
    IDENTITY,
    PARTNER,
    PARTNER_NAME,
    SUBJECT,
    SUBJECT_PHONE,
    Partner,
    Purpose,
    Recipient,
    Snapshot,
    Source,
    Table,
    World,
    child,
    child_table,
    consent,
    consent_table,
    consents_asked,
    corrections,
    member,
    members_table,
    world_build,
    worlds,
)
from tests.sources.http.processor import Processor, processor  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.django_db

# Each example runs a right end to end (about a tenth of a second to a second), so shrinking a failure can take
# minutes: it is off unless DSR_PROPERTY_SHRINK=1 asks for the smallest failing company.
PHASES = list(Phase) if os.environ.get("DSR_PROPERTY_SHRINK") == "1" else [Phase.explicit, Phase.reuse, Phase.generate]
PROPERTY = settings(
    max_examples=30,
    phases=PHASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
languages = st.sampled_from(("da", "en"))
findings = st.sampled_from(("done", "nothing_found"))


# --- The company under test: one drawn world at a time, rolled back after each example -----------------


class Company:
    """Load a drawn world as the active data map, file a right for its person, and settle it as staff would."""

    def __init__(self, root: Path, capture, staff: Actor, partner: Processor):
        self.root, self.capture, self.staff, self.partner = root, capture, staff, partner
        self.world: World | None = None
        self.directory: Path | None = None

    @contextmanager
    def loaded(self, world: World):
        """Build ``world`` on disk and load its map; undo every database change afterwards."""
        directory = Path(tempfile.mkdtemp(dir=self.root))
        mail.outbox = []
        for cache in caches.all():
            cache.clear()
        # The ad partner's audience: another person's hashed email, and the person's where the world says so.
        self.partner.audience = {email_sha256("other1@example.com")}
        if world.partner and world.partner.holds_subject:
            self.partner.audience.add(email_sha256(SUBJECT))
        self.partner.requests.clear()
        try:
            with transaction.atomic():
                datamap_load(text=world_build(world, directory, self.partner.url), loaded_by="test")
                self.world, self.directory = world, directory
                yield self
                transaction.set_rollback(True)
        finally:
            engines_dispose()
            shutil.rmtree(directory, ignore_errors=True)

    def run(self, fn, /, **kwargs):
        """Call a service and let every job it starts run inline (eager Celery)."""
        with self.capture(execute=True):
            return fn(**kwargs)

    def snapshot(self) -> Snapshot:
        return Snapshot.take(self.world, self.directory)

    def file(self, right: str, *, language: str, **details) -> Request:
        """File ``right`` for the person, vouched for by an integration, and run it as far as it goes alone."""
        result = self.run(
            request_submit,
            right=right,
            email=SUBJECT,
            actor=Actor.integration("shop"),
            language=language,
            details=details or None,
            pre_verified=True,
        )
        return Request.objects.get(pk=result.request.pk)

    def settle(self, request: Request, finding) -> Request:
        """Approve what waits for staff and finish the owners' tasks (``finding(task)`` says what they found)."""
        for _ in range(8):
            request.refresh_from_db()
            if request.status in CLOSED_STATUSES:
                break
            if request.status == Status.AWAITING_APPROVAL:
                self.run(request_plan_approve, request=request, actor=self.staff)
                continue
            tasks = list(ManualTask.objects.filter(request=request, status=ManualTaskStatus.OPEN))
            for task in tasks:
                self.run(
                    manual_task_complete, task=task, finding=finding(task), attestation="As asked", actor=self.staff
                )
            if not tasks:
                self.run(jobs_reconcile, now=timezone.now() + timedelta(hours=1))
        request.refresh_from_db()
        assert request.status == Status.COMPLETED, f"the request ended {request.status}"
        return request


@pytest.fixture
def company(tmp_path, django_capture_on_commit_callbacks, django_user_model, processor) -> Company:
    user = django_user_model.objects.create_user("privacy", email="privacy@example.dk", password="x" * 16)
    return Company(tmp_path, django_capture_on_commit_callbacks, Actor.staff(user), processor)


def email_sha256(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def statistic(text: str) -> None:
    """Count what the examples exercised (pytest --hypothesis-show-statistics), so no property passes vacuously."""
    if currently_in_test_context():
        event(text)


def world_note(world: World) -> None:
    """Show the drawn company in a failure report: the map's shape and everyone's rows."""
    note(f"partner={world.partner}")
    for source in world.sources:
        note(f"source {source.key}: purposes={source.purposes} recipients={source.recipients}")
        for table in source.tables:
            note(f"  {table}")
        for row in world.source_rows(source.key):
            note(f"    {row}")
    note(f"purposes={world.purposes}")
    note(f"recipients={world.recipients}")


# --- The oracle: the documented lineage, read from the drawn world (docs/datamap.md, "Lineage") ----------


def group(world: World, source_key: str, table_name: str) -> dict:
    """Return a record group's purposes and recipients, its own or (where it names none) its source's."""
    if world.partner and source_key == PARTNER:  # the partner's groups name none of their own
        partner = world.partner
        return {
            "purposes": partner.purposes,
            "declared": False,
            "recipients": partner.recipients or (),
            "consent": False,
        }
    source = world.source(source_key)
    table = source.table(table_name)
    if table is None:  # not a table of the map (a person's task): the source's
        return {"purposes": source.purposes, "declared": False, "recipients": source.recipients or (), "consent": False}
    return {
        "purposes": source.purposes if table.purposes is None else table.purposes,
        "declared": table.purposes is not None,
        "recipients": (source.recipients or ()) if table.recipients is None else table.recipients,
        "consent": table.consent,
    }


def identifiers_held(world: World, source_key: str, table_name: str) -> dict[str, str]:
    """Return the identifiers a table finds the person by, with their data category (uncategorised ones left out)."""
    if source_key not in {source.key for source in world.sources}:
        return {}  # the privacy team's own task
    table = world.source(source_key).table(table_name)
    if table is None or table.name != IDENTITY:
        return {}
    kinds = {"email": table.category("email")}
    if table.phone_identifier:
        kinds["phone"] = table.category("phone")
    return {kind: category for kind, category in kinds.items() if category}


def recipients_named(world: World) -> set[str]:
    named = set(world.partner.recipients or ()) if world.partner else set()
    for source in world.sources:
        named.update(source.recipients or ())
        for table in source.tables:
            named.update(table.recipients or ())
    return named


def consent_counts(purpose, lineage: dict, consents: set[str] | None) -> bool:
    """Return whether a purpose counts for a group's data as far as consent goes (GDPR Art. 6(1)(a), 7).

    It does without a consent key, where the map records no consents (dsr cannot tell), where the person
    gave the consent, or where the group serves this purpose alone and is not a consent table.
    """
    if not purpose.consent_key or consents is None or purpose.consent_key in consents:
        return True
    return lineage["declared"] and tuple(lineage["purposes"]) == (purpose.key,) and not lineage["consent"]


def received(
    world: World, source_key: str, table: str, categories, consents: set[str] | None, purposes=None
) -> dict[str, set[str]]:
    """Return, per recipient, the categories among ``categories`` it received from a table.

    Linked: the table (else its source) names it, or nothing names it and it serves one of the table's
    purposes. Received: the categories of the purposes it shares with the table (all the table's if it
    lists none); a purpose with no categories covers all.
    """
    lineage = group(world, source_key, table)
    serving = [
        world.purpose(key)
        for key in lineage["purposes"]
        if (purposes is None or key in purposes) and consent_counts(world.purpose(key), lineage, consents)
    ]
    named = recipients_named(world)
    found: dict[str, set[str]] = {}
    for recipient in world.recipients:
        if recipient.key in lineage["recipients"]:
            via = [p for p in serving if p.key in recipient.purposes] if recipient.purposes else serving
        elif recipient.key not in named:
            via = [p for p in serving if p.key in recipient.purposes]
        else:
            continue
        got = {category for category in categories if any(not p.categories or category in p.categories for p in via)}
        if got:
            found[recipient.key] = got
    return found


def consents_for_lineage(world: World) -> set[str] | None:
    """Return the consents the person gave at some time; None where no table records consents."""
    return world.consents_ever_given() if world.records_consents else None


# --- The oracle: facts ---------------------------------------------------------------------------------


@dataclass
class Reported:
    """What the request's finished jobs reported: the sources asked, and ``(source key, fact)`` per fact."""

    asked: list[str]
    facts: list[tuple[str, dict]]

    def __iter__(self):
        return iter(self.facts)


def facts_of(request: Request, operations) -> Reported:
    """Return what the request's finished jobs of ``operations`` reported (``Job.result["facts"]``)."""
    jobs = list(request.jobs.filter(operation__in=list(operations), status=JobStatus.DONE).order_by("pk"))
    return Reported(
        asked=[job.source_key for job in jobs if job.source_key],
        facts=[(job.source_key, fact) for job in jobs for fact in (job.result or {}).get("facts", [])],
    )


def kinds(fact: dict) -> list[str]:
    """Return a fact's data categories, sorted: their order is the stored map's, which PostgreSQL does not keep."""
    assert len(set(fact["categories"])) == len(fact["categories"]), "a category is listed twice"
    return sorted(fact["categories"])


def nothing_at(facts: Reported) -> set[str]:
    """Return the sources asked whose every fact found nothing for the person."""
    holding = {source for source, fact in facts if fact["found"] or fact["changed"] or fact["kept"]}
    return set(facts.asked) - holding


def source_name(world: World, key: str, language: str) -> str:
    return PARTNER_NAME[language] if key == PARTNER else world.source(key).name[language]


# --- Property: Art. 19 notices follow from the changes and the lineage -----------------------------------


def notices_expected(world: World, facts: list[tuple[str, dict]]) -> dict[str, tuple[list[str], list[str]]]:
    """Return, per recipient to tell, the changed categories it received and the identifier kinds it holds."""
    consents = consents_for_lineage(world)
    changed: dict[str, set[str]] = defaultdict(set)
    for source, fact in facts:
        if fact["changed"] and fact["categories"]:
            for key, got in received(world, source, fact["table"], fact["categories"], consents).items():
                changed[key] |= got
    held = [(source, fact["table"]) for source, fact in facts if fact["found"] or fact["changed"]]
    expected = {}
    for key, categories in changed.items():
        kinds = {
            kind
            for source, table in held
            for kind, category in identifiers_held(world, source, table).items()
            if key in received(world, source, table, [category], consents)
        }
        expected[key] = (sorted(categories), sorted(kinds))
    return expected


def told_by_request(world: World, facts) -> set[str]:
    """Return the recipients of a processor that was itself sent the request: that request told them."""
    sent = any(source == PARTNER and fact["action"] == "request" and fact["reference"] for source, fact in facts)
    return set(world.partner.recipients or ()) if sent else set()


def assert_notices_follow(world: World, request: Request, operation: str | None, facts) -> None:
    """GDPR Art. 19: exactly the recipients with lineage to a change are told, by identifiers they hold.

    A processor sent the request itself has told its own recipients: they are recorded as told by that
    request, naming no identifier.
    """
    told = {
        n.recipient_key: (n.channel, sorted(n.categories), sorted(n.identifier_kinds))
        for n in RecipientNotification.objects.filter(request=request)
    }
    expected = notices_expected(world, facts) if operation else {}
    by_request = told_by_request(world, facts) if operation else set()
    for key, (channel, categories, kinds) in told.items():
        if channel == NotificationChannel.HTTP:
            assert key in by_request, f"{key} recorded as told by a request that did not reach it"
            assert (categories, kinds) == (expected.get(key, ([], []))[0], [])
        else:
            assert key in expected, f"{key} told, but it received none of the data that changed"
            assert (categories, kinds) == expected[key], f"{key} told of other data or by other identifiers"
    assert set(expected) <= set(told), "a recipient that received data that changed was not told"
    statistic(f"Art. 19: {len(told)} recipients told" if told else "Art. 19: nobody told")
    assert set(RecipientNotification.objects.filter(request=request).values_list("operation", flat=True)) <= {operation}
    recipients = {recipient.key: recipient for recipient in world.recipients}
    for notification in RecipientNotification.objects.filter(request=request):
        recipient = recipients[notification.recipient_key]
        messages = [m for m in mail.outbox if m.to == [recipient.email]]
        if notification.channel == NotificationChannel.HTTP or not (
            recipient.contact and notification.identifier_kinds
        ):
            assert not messages, "a recipient was emailed without an address or an identifier it holds"
            continue
        [message] = messages
        # The notice names the person only by the identifiers the recipient received from us.
        assert (SUBJECT in message.body) == ("email" in notification.identifier_kinds)
        assert (SUBJECT_PHONE in message.body) == ("phone" in notification.identifier_kinds)
        listed = re.search(r"^(?:The corrections|Rettelserne):\n((?:- .+\n)+)", message.body, re.M)
        for label, _correct in re.findall(r"^- (.+?): (.+)$", listed[1] if listed else "", re.M):
            # A rectification notice lists only corrections that changed data the recipient received.
            assert correction_reached(world, facts, notification.recipient_key, label), label
    addresses = {recipient.email for recipient in world.recipients}
    told_by_mail = {address for m in mail.outbox for address in m.to if address in addresses}
    assert told_by_mail <= {recipients[key].email for key in told}


def correction_reached(world: World, facts, recipient_key: str, label: str) -> bool:
    """Return whether a correction labelled ``label`` changed, somewhere, data of a kind the recipient received."""
    keys = [key for key, entry in CORRECTIONS.items() if label in entry["name"].values()]
    consents = consents_for_lineage(world)
    return any(
        fact["item"] in keys
        and fact["changed"]
        and recipient_key in received(world, source, fact["table"], fact["categories"], consents)
        for source, fact in facts
    )


# --- Property: the person's email and letter say what the facts say ---------------------------------------

SECTIONS = {
    "Erased:": "erased",
    "Slettet:": "erased",
    "Anonymised (": "anonymised",
    "Anonymiseret (": "anonymised",
    "Marked as restricted:": "restricted",
    "Markeret som begrænset:": "restricted",
    "Done by hand": "by_hand",
    "Gjort i hånden": "by_hand",
    "Asked of those who process": "processors",
    "Bedt om hos dem": "processors",
    "Kept because": "kept",
    "Opbevaret, fordi": "kept",
    "Already erased or anonymised": "already",
    "Allerede slettet eller anonymiseret": "already",
    "Left as they are": "shared",
    "Bevaret som de er": "shared",
    "Your corrections:": "corrections",
    "Dine rettelser:": "corrections",
    "Your consents:": "consents",
    "Dine samtykker:": "consents",
}
COUNTED = re.compile(r"^- (?P<source>[^:]+): (?P<table>\w+) \((?P<count>\d+)(?: \w+)?\)(?P<rest>.*)$")
NOTHING_IN = re.compile(r"(?:We found no data about you in|Vi fandt ingen oplysninger om dig i): ([^.]+)\.")
# GDPR Art. 19 in the email and in the PDF letter: recipients told (API, email), and those the privacy team tells.
TOLD = re.compile(
    r"(?:We have told these recipients|Vi har givet besked til disse modtagere"
    r"|we have told those to whom|har vi givet besked til dem, vi havde)[^:]*: ([^.]+)\."
)
TELLING = re.compile(
    r"(?:Our privacy team is telling these recipients|Vores privatlivsteam giver besked til disse modtagere"
    r"|our privacy team is telling these others|giver vores privatlivsteam besked til disse andre)[^:]*: ([^.]+)\."
)


def email_to_person(language: str) -> str:
    """Return the body of the email that told the person the request is complete."""
    done = "is complete" if language == "en" else "er gennemført"
    [message] = [m for m in mail.outbox if m.to == [SUBJECT] and done in m.subject]
    return message.body


def email_sections(body: str) -> dict[str, list[str]]:
    """Return the "- " lines of the email under each heading it has (and count them for the statistics)."""
    sections: dict[str, list[str]] = defaultdict(list)
    current = None
    for line in body.splitlines():
        heading = next((kind for prefix, kind in SECTIONS.items() if line.startswith(prefix)), None)
        if heading:
            current = heading
        elif line.startswith("- ") and current:
            sections[current].append(line)
        else:
            current = None
    for kind in sorted(sections):
        statistic(f"email lists {kind}")
    return sections


def counted(lines: list[str]) -> Counter:
    """Return the counted lines as (source, table, count) with how many times each appears."""
    rows = Counter()
    for line in lines:
        match = COUNTED.match(line)
        assert match, f"not a counted line: {line!r}"
        rows[(match["source"], match["table"], int(match["count"]))] += 1
    return rows


def names_listed(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


def assert_no_zero_line(text: str) -> None:
    """GDPR Art. 12(1): no line says something happened to zero records."""
    assert not re.search(r"\(0(?:\)| (?:record|records|post|poster)\b)", text), "a line counts zero records"


def assert_nothing_found_is_true(world: World, body: str, facts, language: str) -> None:
    """A source is said to hold nothing about the person only where every fact of it found nothing."""
    empty = {source_name(world, key, language) for key in nothing_at(facts)}
    for match in NOTHING_IN.finditer(body):
        listed = names_listed(match[1])
        assert set(listed) <= empty, f"said to hold nothing, but a source reported rows: {listed}"
        assert set(listed) == empty
    found_anything = any(fact["found"] or fact["changed"] or fact["kept"] for _source, fact in facts)
    claims = ("found no personal data about you", "fandt ingen personoplysninger om dig")
    if any(claim in body for claim in claims):
        assert not found_anything, "the email says nothing was found, but a source reported rows"


def processor_lines(world: World, facts, language: str) -> list[str]:
    """Return the lines that say which processors were sent the request, and whether they confirmed it."""
    confirmed = {
        "en": ("they have confirmed it is done", "they have not yet confirmed it is done"),
        "da": ("de har bekræftet, at det er gjort", "de har endnu ikke bekræftet, at det er gjort"),
    }[language]
    return [
        f"- {source_name(world, source, language)}: {confirmed[0] if fact['confirmed'] else confirmed[1]}"
        for source, fact in facts
        if fact["action"] == "request"
    ]


def assert_partner_asked(world: World, company: Company, facts, *, expected: bool) -> None:
    """The ad partner was sent a request exactly when the right calls for it, and no longer holds the person."""
    asked = [fact for source, fact in facts if source == PARTNER and fact["action"] == "request"]
    assert bool(asked) == expected, "the ad partner was asked" if asked else "the ad partner was not asked"
    if expected:
        assert email_sha256(SUBJECT) not in company.partner.audience


def assert_told_listed(body: str, request: Request) -> None:
    """The email names exactly the recipients told (Art. 19) by API or email as told, and those staff tell as such."""
    notifications = RecipientNotification.objects.filter(request=request)
    by_staff = notifications.filter(channel=NotificationChannel.MANUAL)
    told = sorted(notifications.exclude(channel=NotificationChannel.MANUAL).values_list("recipient_name", flat=True))
    telling = sorted(by_staff.values_list("recipient_name", flat=True))
    for pattern, expected in ((TOLD, told), (TELLING, telling)):
        match = pattern.search(body)
        assert sorted(names_listed(match[1]) if match else []) == expected


def pdf_text(pdf: bytes) -> str:
    """Return a PDF's text in reading order, whitespace collapsed to single spaces."""
    return pdf_words(pdf)


ALREADY_HEADING = {
    "en": "Already erased or anonymised before this request",
    "da": "Allerede slettet eller anonymiseret før denne anmodning",
}


def letter_rows(world: World, text: str, language: str) -> Counter:
    """Return the rows of the erasure letter's tables as (how, source, table, count).

    Rows of the "already erased" table have no "how" column: they are told by the table they stand in.
    """
    names = "|".join(re.escape(source.name[language]) for source in world.sources)
    already_at = text.find(ALREADY_HEADING[language])
    rows = Counter()
    pattern = rf"(?P<source>{names})(?P<kept>:)? (?P<table>\w+) (?P<count>\d+)(?: (?P<how>\w+))?"
    for match in re.finditer(pattern, text):
        if match["kept"]:
            how = "kept"
        elif 0 <= already_at < match.start():  # the erased and anonymised rows come before that table
            how = "already"
        else:
            how = {"Deleted": "erased", "Slettet": "erased"}.get(match["how"], "anonymised")
        rows[(how, match["source"], match["table"], int(match["count"]))] += 1
    return rows


# --- Property: the SQL agrees with the facts, and other people's rows are untouched ------------------------


def others_digest(world: World, snapshot: Snapshot) -> str:
    """Return a SHA-256 of every row that is not the person's, exactly as stored."""
    digest = hashlib.sha256()
    for source in world.sources:
        subject = {(row.table, row.id) for row in world.source_rows(source.key) if row.owner == 0}
        for table, rows in sorted(snapshot.tables[source.key].items()):
            for key, row in sorted(rows.items()):
                if (table, key) not in subject:
                    digest.update(repr((source.key, table, sorted(row.items()))).encode())
    return digest.hexdigest()


def assert_others_untouched(world: World, before: Snapshot, after: Snapshot) -> None:
    assert others_digest(world, after) == others_digest(world, before), "another person's rows changed"


def changed_columns(before: dict, after: dict) -> set[str]:
    return {column for column in before if before[column] != after[column]}


def fact_for(facts, source: str, table: str, item: str = "") -> dict | None:
    matching = [fact for key, fact in facts if key == source and fact["table"] == table and fact["item"] == item]
    assert len(matching) <= 1, f"two facts for {source}.{table} {item}"
    return matching[0] if matching else None


# --- Erasure (GDPR Art. 17, 19) ------------------------------------------------------------------------


def assert_erasure_agrees(world: World, before: Snapshot, after: Snapshot, facts) -> None:
    """Each table's fact is what the SQL shows: rows deleted, anonymised (listed columns only) or kept."""
    for source in world.sources:
        for table in source.tables:
            fact = fact_for(facts, source.key, table.name)
            assert fact is not None, f"no fact for {source.key}.{table.name}"
            assert fact["action"] == table.strategy
            ids = [row.id for row in world.subject_rows(source.key, table.name)]
            old, new = before.tables[source.key][table.name], after.tables[source.key][table.name]
            assert fact["found"] == len(ids)
            if table.strategy == "delete":
                assert not set(ids) & set(new)
                assert fact["changed"] == len(ids)
                expected_categories = table.mapped_categories
            else:
                fields = dict(table.fields)
                touched = [key for key in ids if changed_columns(old[key], new[key])]
                for key in touched:
                    assert changed_columns(old[key], new[key]) <= set(fields)
                    for column, method in fields.items():
                        value = new[key][column]
                        assert {"clear": value is None, "redact": value == "[erased]"}.get(
                            method, str(value).startswith("anon-")
                        ), (column, method, value)
                assert fact["changed"] == len(touched)
                assert fact["kept"] == (len(ids) if table.strategy == "keep" else 0)
                assert set(ids) <= set(new)
                expected_categories = [c for column, c in table.categories if c and column in fields]
                expected_categories = list(dict.fromkeys(expected_categories))
            assert kinds(fact) == sorted(expected_categories if fact["changed"] else [])


def expected_erasure_lines(world: World, facts, language: str) -> dict[str, Counter]:
    lines = {"erased": Counter(), "anonymised": Counter(), "kept": Counter(), "already": Counter()}
    for source, fact in facts:
        name = source_name(world, source, language)
        if fact["action"] == "delete" and fact["changed"]:
            lines["erased"][(name, fact["table"], fact["changed"])] += 1
        elif fact["action"] == "anonymise" and fact["changed"]:
            lines["anonymised"][(name, fact["table"], fact["changed"])] += 1
        elif fact["action"] in ("delete", "anonymise") and fact["found"]:
            # Found, but an earlier erasure had already done it: said as such, never as "nothing found".
            lines["already"][(name, fact["table"], fact["found"])] += 1
        elif fact["action"] == "keep" and fact["kept"]:
            lines["kept"][(name, fact["table"], fact["kept"])] += 1
    return lines


def assert_kept_lines_say_hold_and_date(world: World, lines: list[str], facts, language: str) -> None:
    """Kept rows name their hold and its law, and the date they may go only while it is ahead (Art. 17(3)(b))."""
    today = timezone.localdate()
    for line in lines:
        match = COUNTED.match(line)
        source = next(s.key for s in world.sources if s.name[language] == match["source"])
        fact = fact_for(facts, source, match["table"])
        hold = HOLDS[fact["hold"]]
        law = hold["law"] if isinstance(hold["law"], str) else hold["law"][language]
        rest = match["rest"]
        # Kept rows whose identifying fields were erased say how many (GDPR Art. 17 as far as the hold allows).
        minimised = {
            "en": r"; the details that identify you are erased from (\d+) of them$",
            "da": r"; det, der identificerer dig, er slettet fra (\d+) af dem$",
        }
        said_minimised = re.search(minimised[language], rest)
        assert (int(said_minimised[1]) if said_minimised else 0) == fact["changed"], "minimised rows miscounted"
        rest = rest[: said_minimised.start()] if said_minimised else rest
        assert rest.startswith(f", {hold['name'][language]}, {law}")
        until = date.fromisoformat(fact["hold_until"]) if fact["hold_until"] else None
        with translation.override(language):
            said = date_format(until, "j F Y" if language == "en" else "j. F Y") if until else ""
        ended = {"en": "the period the law sets has ended", "da": "den periode, loven fastsætter, er udløbet"}
        if until and until >= today:
            assert rest.endswith(f" {said}"), "the date the kept rows may go is not the fact's"
        elif until:
            assert rest.endswith(ended[language]), "a hold that has ended is not said in words"
        else:
            assert rest == f", {hold['name'][language]}, {law}"


@PROPERTY
@given(world=worlds(), auto=st.booleans(), language=languages)
def test_erasure_letters_and_notices_say_only_what_the_sources_did(company, world, auto, language):
    world_note(world)
    with company.loaded(world):
        before = company.snapshot()
        with override_settings(DSR_ERASURE_AUTO_APPROVE=auto):
            request = company.file("erasure", language=language)
            if not auto:
                # The dry run changes nothing until the privacy team approves it.
                assert request.status == Status.AWAITING_APPROVAL
                assert company.snapshot() == before
            request = company.settle(request, lambda task: "done")
        after = company.snapshot()
        facts = facts_of(request, ["erasure"])

        assert_erasure_agrees(world, before, after, facts)
        assert_others_untouched(world, before, after)
        assert_partner_asked(world, company, facts, expected=world.partner is not None)
        assert_notices_follow(world, request, "erasure", facts)

        body = email_to_person(language)
        note(body)
        sections = email_sections(body)
        expected = expected_erasure_lines(world, facts, language)
        for kind in ("erased", "anonymised", "kept", "already"):
            assert counted(sections[kind]) == expected[kind], kind
        assert set(sections) <= {"erased", "anonymised", "kept", "already", "processors"}
        assert sections["processors"] == processor_lines(world, facts, language)
        assert_kept_lines_say_hold_and_date(world, sections["kept"], facts, language)
        assert_no_zero_line(body)
        assert_nothing_found_is_true(world, body, facts, language)
        assert_told_listed(body, request)

        # The formal letter (a PDF) has the same rows.
        [(_name, pdf, _mime)] = next(m for m in mail.outbox if m.to == [SUBJECT] and m.attachments).attachments
        letter = pdf_text(pdf)
        note(letter)
        rows = letter_rows(world, letter, language)
        assert rows == Counter({(kind, *line): n for kind, lines in expected.items() for line, n in lines.items()}), (
            "the letter's rows differ from the facts"
        )
        assert_nothing_found_is_true(world, letter, facts, language)
        assert_told_listed(letter, request)


# --- Rectification (GDPR Art. 16, 19) ---------------------------------------------------------------------


def mapped_anywhere(world: World, key: str) -> bool:
    return any(field == key for source in world.sources for table in source.tables for field, _ in table.rectify)


def assert_rectification_agrees(world: World, asked: list[dict], before: Snapshot, after: Snapshot, facts) -> None:
    """Each mapped correction's fact is what the SQL shows: rows found, rows whose value differed, now correct."""
    for source in world.sources:
        # A source is asked for a field only where the person has rows in some table mapping it.
        held = {
            field for table in source.tables for field, _ in table.rectify if world.subject_rows(source.key, table.name)
        }
        for table in source.tables:
            ids = [row.id for row in world.subject_rows(source.key, table.name)]
            old, new = before.tables[source.key][table.name], after.tables[source.key][table.name]
            columns = dict(table.rectify)
            written = set()
            for correction in asked:
                column = columns.get(correction["field"])
                fact = fact_for(facts, source.key, table.name, correction["field"])
                if column is None or correction["field"] not in held:
                    assert fact is None
                    continue
                differing = [key for key in ids if old[key][column] != correction["correct"]]
                assert (fact["found"], fact["changed"]) == (len(ids), len(differing))
                assert all(new[key][column] == correction["correct"] for key in ids)
                category = CORRECTIONS[correction["field"]]["category"]
                assert kinds(fact) == ([category] if differing else [])
                written.add(column)
            for key in ids:
                assert changed_columns(old[key], new[key]) <= written


CORRECTION_WORDS = {
    "en": {
        "corrected": "corrected in {where}",
        "also_already": "; already right in {already}",
        "by_hand": "corrected by hand",
        "already_correct": "already right in {already}, so nothing needed changing",
        "not_held": "we hold no such data about you, so there was nothing to correct",
    },
    "da": {
        "corrected": "rettet i {where}",
        "also_already": "; var allerede rigtigt i {already}",
        "by_hand": "rettet i hånden",
        "already_correct": "var allerede rigtigt i {already}, så intet skulle ændres",
        "not_held": "vi har ingen sådanne oplysninger om dig, så der var intet at rette",
    },
}


def expected_correction_lines(world: World, asked: list[dict], facts, team_done: bool, language: str) -> list[str]:
    """Return, per correction, what the person should read: where it was made, was already right, or not held."""
    words = CORRECTION_WORDS[language]
    lines = []
    for correction in asked:
        key = correction["field"] if correction["field"] in CORRECTIONS else ""
        here = [(source, fact) for source, fact in facts if key and fact["item"] == key]
        where = [s.name[language] for s in world.sources if any(k == s.key and f["changed"] for k, f in here)]
        # A source is named once: where one of its tables changed, it is where the correction was made.
        already = [
            s.name[language]
            for s in world.sources
            if any(k == s.key and f["found"] and not f["changed"] for k, f in here) and s.name[language] not in where
        ]
        by_team = not key or not mapped_anywhere(world, key)
        if where:
            said = words["corrected"].format(where=", ".join(where))
            if already:
                said += words["also_already"].format(already=", ".join(already))
        elif by_team and team_done:
            said = words["by_hand"]
        elif already:
            said = words["already_correct"].format(already=", ".join(already))
        else:
            said = words["not_held"]
        label = CORRECTIONS[key]["name"][language] if key else correction["field"]
        lines.append(f'- {label} ("{correction["correct"]}"): {said}')
    return lines


@PROPERTY
@given(world=worlds(), language=languages, data=st.data())
def test_rectification_answers_and_notices_say_only_what_the_sources_changed(company, world, language, data):
    world_note(world)
    asked = data.draw(corrections(world), label="corrections")
    team_finding = data.draw(findings, label="the privacy team's finding")
    with company.loaded(world):
        before = company.snapshot()
        request = company.file("rectification", language=language, corrections=asked)
        # GDPR Art. 16: the privacy team reviews the preview before any source is changed.
        assert request.status == Status.AWAITING_APPROVAL
        assert company.snapshot() == before
        request = company.settle(request, lambda task: team_finding)
        after = company.snapshot()
        facts = facts_of(request, ["rectification"])

        assert_rectification_agrees(world, asked, before, after, facts)
        assert_others_untouched(world, before, after)
        assert_notices_follow(world, request, "rectification", facts)

        body = email_to_person(language)
        note(body)
        sections = email_sections(body)
        assert set(sections) <= {"corrections"}
        team_done = team_finding == "done" and any(source == "" for source, _fact in facts)
        assert sections["corrections"] == expected_correction_lines(world, asked, facts, team_done, language)
        assert_no_zero_line(body)
        assert_nothing_found_is_true(world, body, facts, language)
        assert_told_listed(body, request)


# --- Restriction (GDPR Art. 18, 19) -----------------------------------------------------------------------


def assert_restriction_agrees(world: World, before: Snapshot, after: Snapshot, facts) -> None:
    """Each restriction fact is what the SQL shows: the person's rows flagged, those not yet flagged counted."""
    for source in world.sources:
        marking = [table for table in source.tables if table.restriction]
        for table in source.tables:
            ids = [row.id for row in world.subject_rows(source.key, table.name)]
            old, new = before.tables[source.key][table.name], after.tables[source.key][table.name]
            fact = fact_for(facts, source.key, table.name)
            if not table.restriction:
                assert fact is None
                assert all(old[key] == new[key] for key in ids)
                continue
            flipped = [key for key in ids if old[key]["restricted"] != 1]
            assert (fact["found"], fact["changed"]) == (len(ids), len(flipped))
            assert all(
                new[key]["restricted"] == 1 and changed_columns(old[key], new[key]) <= {"restricted"} for key in ids
            )
            assert kinds(fact) == sorted(table.mapped_categories if flipped else [])
        if not marking:
            # A source that cannot mark restriction is done by hand: the privacy team's finding is the fact.
            assert [fact["action"] for key, fact in facts if key == source.key] == ["task"]


@PROPERTY
@given(world=worlds(), language=languages, data=st.data())
def test_restriction_answers_and_notices_say_only_what_the_sources_marked(company, world, language, data):
    world_note(world)
    with company.loaded(world):
        before = company.snapshot()
        request = company.file("restriction", language=language, ground="accuracy_contested")
        request = company.settle(request, lambda task: data.draw(findings, label=f"finding in {task.source_key}"))
        after = company.snapshot()
        facts = facts_of(request, ["restriction"])

        assert_restriction_agrees(world, before, after, facts)
        assert_others_untouched(world, before, after)
        assert_notices_follow(world, request, "restriction", facts)

        body = email_to_person(language)
        note(body)
        sections = email_sections(body)
        assert set(sections) <= {"restricted", "by_hand"}  # a processor cannot restrict: the team does it by hand
        marked = Counter(
            (source_name(world, source, language), fact["table"], fact["changed"])
            for source, fact in facts
            if fact["action"] == "update" and fact["changed"]
        )
        assert counted(sections["restricted"]) == marked
        by_hand = [
            f"- {source_name(world, s, language)}" for s, fact in facts if fact["action"] == "task" and fact["found"]
        ]
        assert sections["by_hand"] == by_hand
        assert_no_zero_line(body)
        assert_nothing_found_is_true(world, body, facts, language)
        nothing_to_mark = ("found no data about you in our systems", "fandt ingen oplysninger om dig i vores systemer")
        if any(words in body for words in nothing_to_mark):
            assert not any(fact["found"] for _source, fact in facts), "said no data was found, but a source had rows"
        assert_told_listed(body, request)


# --- Consent withdrawal (GDPR Art. 7(3)) and objection to direct marketing (Art. 21(2)-(3)) ------------------


def assert_withdrawal_agrees(world: World, keys: list[str], before: Snapshot, after: Snapshot, facts) -> None:
    """Each consent fact is what the SQL shows: the person's given consents of those keys now withdrawn."""
    for source in world.sources:
        for table in source.tables:
            old, new = before.tables[source.key][table.name], after.tables[source.key][table.name]
            rows = world.subject_rows(source.key, table.name)
            for key in keys if table.consent else []:
                fact = fact_for(facts, source.key, table.name, key)
                mine = [row.id for row in rows if dict(row.values)["consent_key"] == key]
                given = [row for row in mine if old[row]["granted"]]
                assert (fact["found"], fact["changed"]) == (len(mine), len(given))
                assert kinds(fact) == sorted(table.mapped_categories if given else [])
                for row in given:
                    assert new[row]["granted"] == 0
                    assert new[row]["withdrawn_at"]
            withdrawn = {row.id for row in rows if table.consent and dict(row.values)["consent_key"] in keys}
            for row in rows:
                if row.id not in withdrawn or not old[row.id]["granted"]:
                    assert old[row.id] == new[row.id], "a row was changed that no withdrawal asked for"


def consent_ever_given(world: World, key: str) -> bool:
    """Return whether the person's consent rows show ``key`` given at some time (given now, or withdrawn since)."""
    for source in world.sources:
        for table in source.tables:
            for row in world.subject_rows(source.key, table.name) if table.consent else []:
                values = dict(row.values)
                if values["consent_key"] == key and (values["granted"] or values["withdrawn_at"]):
                    return True
    return False


def consent_lines(world: World, keys: list[str], facts, language: str) -> Counter:
    words = {
        "en": ("withdrawn in {where}", "already withdrawn", "we had no record of this consent from you"),
        "da": (
            "trukket tilbage i {where}",
            "var allerede trukket tilbage",
            "vi havde ikke registreret dette samtykke fra dig",
        ),
    }[language]
    lines = Counter()
    for key in keys:
        here = [(source, fact) for source, fact in facts if fact["item"] == key]
        where = [s.name[language] for s in world.sources if any(k == s.key and f["changed"] for k, f in here)]
        if where:
            said = words[0].format(where=", ".join(where))
        elif any(fact["found"] for _source, fact in here) and consent_ever_given(world, key):
            said = words[1]
        else:
            # A row that only records a refusal is no consent given: "no record", not "already withdrawn".
            said = words[2]
        label = next(p.name[language] for p in world.purposes if p.consent_key == key)
        lines[f"- {label}: {said}"] += 1
    return lines


@PROPERTY
@given(world=worlds(), language=languages, data=st.data())
def test_consent_withdrawal_answers_per_consent_what_the_sources_recorded(company, world, language, data):
    world_note(world)
    asked = data.draw(consents_asked(world), label="consents")
    keys = [key for key in dict.fromkeys(world.consent_keys) if "all" in asked or key in asked]
    with company.loaded(world):
        before = company.snapshot()
        request = company.settle(company.file("consent_withdrawal", language=language, consents=asked), str)
        after = company.snapshot()
        facts = facts_of(request, ["consent_withdrawal", "audience_removal"])

        assert_withdrawal_agrees(world, keys, before, after, facts)
        # GDPR Art. 7(3): a partner serving a purpose of a withdrawn consent is asked to drop the person.
        using = {purpose.key for purpose in world.purposes if purpose.consent_key in keys}
        assert_partner_asked(
            world, company, facts, expected=bool(world.partner and using & set(world.partner.purposes))
        )
        assert_others_untouched(world, before, after)
        # GDPR Art. 19 covers rectification, erasure and restriction: a withdrawal tells no recipient.
        assert_notices_follow(world, request, None, facts)

        body = email_to_person(language)
        note(body)
        sections = email_sections(body)
        assert set(sections) <= {"consents", "processors"}
        assert Counter(sections["consents"]) == consent_lines(world, keys, facts, language)
        assert sections["processors"] == processor_lines(world, facts, language)
        assert_no_zero_line(body)
        assert_nothing_found_is_true(world, body, facts, language)


@PROPERTY
@given(world=worlds(), language=languages)
def test_objection_to_direct_marketing_stops_it_and_answers_from_the_consents_found(company, world, language):
    world_note(world)
    marketing = [purpose for purpose in world.purposes if "marketing" in purpose.categories]
    keys = sorted({purpose.consent_key for purpose in marketing} - {""})
    with company.loaded(world):
        before = company.snapshot()
        request = company.settle(company.file("objection", language=language, scope="direct_marketing"), str)
        after = company.snapshot()
        facts = facts_of(request, ["consent_withdrawal", "audience_removal"])

        assert_withdrawal_agrees(world, keys, before, after, facts)
        # GDPR Art. 21(3): a partner serving direct marketing is asked to drop the person.
        marketed = {purpose.key for purpose in marketing}
        assert_partner_asked(
            world, company, facts, expected=bool(world.partner and marketed & set(world.partner.purposes))
        )
        assert_others_untouched(world, before, after)
        assert_notices_follow(world, request, None, facts)

        body = email_to_person(language)
        note(body)
        sections = email_sections(body)
        assert set(sections) <= {"consents", "processors"}
        assert Counter(sections["consents"]) == consent_lines(world, keys, facts, language)
        assert sections["processors"] == processor_lines(world, facts, language)
        stopped = re.search(
            r"(?:We no longer use your data for|Vi bruger ikke længere dine oplysninger til): (.+?), (?:and|og) ", body
        )
        # GDPR Art. 21(3): processing for direct marketing stops, and the email names exactly those purposes.
        said = sorted(names_listed(stopped[1]) if stopped else [])
        assert said == sorted(purpose.name[language] for purpose in marketing)
        assert_no_zero_line(body)
        assert_nothing_found_is_true(world, body, facts, language)


# --- Access (GDPR Art. 15) -----------------------------------------------------------------------------------


def art15_expected(world: World) -> tuple[set[str], set[str]]:
    """Return the purposes and recipients the Art. 15 answer names for the person's data (docs/datamap.md).

    A purpose is named when a table with the person's rows serves it and it covers a category found there;
    one based on consent only where the person's consent is given now, the table serves it alone and is
    no consent table, or the map records no consents. A recipient is named when it received a category
    found there through a purpose named for that table.
    """
    consents = world.consents_given_now() if world.records_consents else None
    groups_found = [
        (source.key, table.name, table.mapped_categories)
        for source in world.sources
        for table in source.tables
        if world.subject_rows(source.key, table.name)
    ]
    if world.partner and world.partner.holds_subject:
        groups_found.append((PARTNER, "audience", [world.partner.category]))
    purposes, recipients = set(), set()
    for source_key, table, found in groups_found:
        lineage = group(world, source_key, table)
        here = [
            key
            for key in lineage["purposes"]
            if (not world.purpose(key).categories or set(world.purpose(key).categories) & set(found))
            and consent_counts(world.purpose(key), lineage, consents)
        ]
        purposes.update(here)
        recipients.update(received(world, source_key, table, found, None, purposes=here))
    return purposes, recipients


def bundle_index(request: Request) -> str:
    """Return the readable overview (index.html) of the request's bundle, opened as the person would."""
    bundle = request.bundles.get()
    with bundle_open(bundle) as plain, zipfile.ZipFile(plain) as archive:
        [name] = [name for name in archive.namelist() if name.endswith("/index.html")]
        return archive.read(name).decode()


@PROPERTY
@given(world=worlds(), language=languages)
def test_access_names_purposes_and_recipients_only_for_the_data_found_and_consents_given(company, world, language):
    world_note(world)
    with company.loaded(world):
        before = company.snapshot()
        request = company.settle(company.file("access", language=language), str)
        facts = facts_of(request, ["access"])
        assert company.snapshot() == before, "access changed a source"

        for source in world.sources:
            for table in source.tables:
                rows = world.subject_rows(source.key, table.name)
                fact = fact_for(facts, source.key, table.name)
                assert (fact["found"] if fact else 0) == len(rows)
                if rows:
                    assert kinds(fact) == sorted(table.mapped_categories)
        if world.partner:
            audience = fact_for(facts, PARTNER, "audience")
            assert (audience["found"] if audience else 0) == int(world.partner.holds_subject)
        assert_notices_follow(world, request, None, facts)

        index = bundle_index(request)
        note(index)
        purposes, recipients = art15_expected(world)
        for purpose in world.purposes:
            assert (purpose.name[language] in index) == (purpose.key in purposes), purpose.key
        for recipient in world.recipients:
            assert (recipient.name in index) == (recipient.key in recipients), recipient.key

        keys = [*(source.key for source in world.sources), *([PARTNER] if world.partner else [])]
        holding = [source_name(world, key, language) for key in keys if any(k == key and f["found"] for k, f in facts)]
        [message] = [
            m for m in mail.outbox if m.to == [SUBJECT] and ("is complete" in m.subject or "gennemført" in m.subject)
        ]
        note(message.body)
        gathered = re.search(r"(?:hold about you|har om dig), (?:from|fra): ([^.]+)\.", message.body)
        assert (names_listed(gathered[1]) if gathered else []) == holding
        assert_nothing_found_is_true(world, message.body, facts, language)


# --- Examples: each property on one small company ---------------------------------------------------------

ALPHA = Purpose("alpha", "b", (), "", False)  # a contract, covering every category
BRAVO = Purpose("bravo", "a", ("marketing",), "bravo", False)  # consent to marketing
ONE = Recipient("rec_one", "processor", "DK", True, ())  # named on the source
TWO = Recipient("rec_two", "controller", "US", True, ("bravo",))  # named nowhere: receives for marketing only
OTHER = 1


def example(sources: tuple[Source, ...], rows: dict[str, tuple], *, purposes=(ALPHA, BRAVO), recipients=(ONE, TWO)):
    return World(purposes=purposes, recipients=recipients, sources=sources, rows=tuple(rows.items()))


def north(*tables: Table, purposes=("alpha",), recipients=("rec_one",)) -> Source:
    return Source("north", purposes, recipients, tables)


def told(request: Request) -> dict[str, list[str]]:
    return {n.recipient_key: n.categories for n in RecipientNotification.objects.filter(request=request)}


def test_an_erasure_letter_lists_each_table_with_the_rows_changed_and_tells_only_recipients_that_had_them(
    company, settings
):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    world = example(
        (north(members_table(), child_table("orders"), child_table("visits", strategy="keep", hold="bookkeeping")),),
        {
            "north": (
                member(1),
                child("orders", 1, 1),
                child("orders", 2, 1),
                member(2, owner=OTHER),
                child("orders", 3, 2, owner=OTHER),
                child("visits", 1, 2, owner=OTHER),
            )
        },
    )
    with company.loaded(world):
        before = company.snapshot()
        request = company.file("erasure", language="en")
        after = company.snapshot()

        body = email_to_person("en")
        assert "Erased:\n- North system: orders (2 records)\n" in body
        assert "- North system: members (1 record)\n" in body
        # No visits of the person's were kept, so no line says so.
        assert "visits" not in body
        assert "Kept because" not in body
        # Recipient One had the erased data; Recipient Two only receives marketing data, which north never sent.
        assert told(request) == {"rec_one": ["contact", "financial", "usage"]}
        assert "Recipient One ApS" in body
        assert "Recipient Two" not in body
        assert_others_untouched(world, before, after)
        assert after.tables["north"]["orders"].keys() == {3}


def test_an_erasure_that_finds_nothing_says_so_and_tells_nobody(company, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    world = example((north(members_table(), child_table("orders")),), {"north": (member(1, owner=OTHER),)})
    with company.loaded(world):
        request = company.file("erasure", language="en")

        body = email_to_person("en")
        assert "We searched North system and found no personal data about you, so there was nothing to erase." in body
        assert "(0" not in body
        assert told(request) == {}


def test_the_recipients_of_a_consent_the_person_never_gave_are_not_told_of_its_erasure(company, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    newsletter = child_table(
        "orders", categories=(("note", "marketing"), ("amount", None)), purposes=("bravo",), recipients=()
    )
    world = example(
        (north(members_table(), newsletter, consent_table(recipients=())),),
        {"north": (member(1), child("orders", 1, 1), consent(1, 1, "bravo", "refused"))},
    )
    with company.loaded(world):
        request = company.file("erasure", language="en")

        # The orders table serves marketing alone: its rows exist only because of that consent, so they went out.
        assert "rec_two" in told(request)
        assert_notices_follow(world, request, "erasure", facts_of(request, ["erasure"]))
    refused_elsewhere = example(
        (
            north(
                members_table(),
                child_table("orders", categories=(("note", "marketing"), ("amount", None))),
                consent_table(),
            ),
        ),
        {"north": (member(1), child("orders", 1, 1), consent(1, 1, "bravo", "refused"))},
        purposes=(ALPHA, BRAVO),
    )
    with company.loaded(refused_elsewhere):
        request = company.file("erasure", language="en")

        # Orders serve the contract and marketing, and the person refused marketing: nothing went out for it.
        assert "rec_two" not in told(request)


def test_access_names_a_consent_based_purpose_only_where_the_person_gave_the_consent(company):
    world = example(
        (north(members_table(), consent_table(), purposes=("alpha", "bravo")),),
        {"north": (member(1), consent(1, 1, "bravo", "withdrawn"))},
    )
    with company.loaded(world):
        request = company.settle(company.file("access", language="en"), str)

        index = bundle_index(request)
        assert "Purpose Alpha" in index
        assert "Purpose Bravo" not in index
        assert "Recipient Two" not in index
    given = example(
        (north(members_table(), consent_table(), purposes=("alpha", "bravo")),),
        {"north": (member(1), consent(1, 1, "bravo", "given"))},
    )
    with company.loaded(given):
        request = company.settle(company.file("access", language="en"), str)

        index = bundle_index(request)
        assert "Purpose Bravo" in index
        assert "Recipient Two GmbH" in index


def test_withdrawing_a_consent_changes_only_that_consent_and_tells_no_recipient(company):
    world = example(
        (north(members_table(), consent_table()),),
        {
            "north": (
                member(1),
                consent(1, 1, "bravo", "given"),
                member(2, owner=OTHER),
                consent(2, 2, "bravo", "given", owner=OTHER),
            )
        },
    )
    with company.loaded(world):
        before = company.snapshot()
        request = company.settle(company.file("consent_withdrawal", language="en", consents=["bravo"]), str)
        after = company.snapshot()

        assert "- Purpose Bravo: withdrawn in North system\n" in email_to_person("en")
        assert after.tables["north"]["consents"][1]["granted"] == 0
        assert_others_untouched(world, before, after)
        assert told(request) == {}


def test_an_ad_partner_sent_the_erasure_is_listed_as_asked_and_has_told_its_own_recipients(company, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    partner = Partner(purposes=("alpha",), recipients=("rec_one",), category="marketing", holds_subject=True)
    world = World(
        purposes=(ALPHA,),
        recipients=(ONE,),
        sources=(north(members_table(), recipients=()),),
        rows=(("north", (member(1),)),),
        partner=partner,
    )
    with company.loaded(world):
        request = company.file("erasure", language="en")

        body = email_to_person("en")
        assert "Asked of those who process data for us:\n- Ad partner: they have confirmed it is done\n" in body
        assert email_sha256(SUBJECT) not in company.partner.audience
        # The OpenGDPR request told the partner's recipient; dsr sends it nothing more, naming no identifier.
        [notification] = RecipientNotification.objects.filter(request=request)
        assert (notification.recipient_key, notification.channel) == ("rec_one", NotificationChannel.HTTP)
        assert notification.identifier_kinds == []
        assert not [m for m in mail.outbox if m.to == [ONE.email]]


# --- Examples of what the properties found: they fail until the product is fixed ----------------------------


def test_rows_kept_under_a_hold_but_minimised_are_announced_to_their_recipients(company, settings):
    """GDPR Art. 19: fields erased from rows kept for bookkeeping are an erasure the recipients must hear of."""
    settings.DSR_ERASURE_AUTO_APPROVE = True
    kept = members_table(strategy="keep", hold="bookkeeping", fields=(("email", "hash"),))
    world = example((north(kept),), {"north": (member(1),)})
    with company.loaded(world):
        request = company.file("erasure", language="en")

        assert facts_of(request, ["erasure"]).facts[0][1]["changed"] == 1
        assert told(request) == {"rec_one": ["contact"]}


def test_a_correction_done_by_hand_beside_a_mapped_one_completes_and_tells_the_recipients(company):
    """GDPR Art. 16, 19: a free-text correction the privacy team makes must not stop the notices."""
    world = example(
        (north(members_table(rectify=(("name", "name"),)), consent_table()),),
        {"north": (member(1),)},
    )
    asked = [{"field": "name", "correct": "Vejle"}, {"field": "Shoe size", "correct": "44"}]
    with company.loaded(world):
        request = company.settle(company.file("rectification", language="en", corrections=asked), lambda task: "done")

        assert told(request) == {"rec_one": ["identity"]}


def test_restricting_rows_already_restricted_does_not_say_no_data_was_found(company):
    """GDPR Art. 12(1): the person's rows were found (and were already marked); the email must not deny it."""
    world = example((north(members_table(restriction=True)),), {"north": (member(1, restricted=True),)})
    with company.loaded(world):
        company.settle(company.file("restriction", language="en", ground="accuracy_contested"), str)

        assert "found no data about you" not in email_to_person("en")


def test_a_rectification_notice_lists_only_the_corrections_that_changed_data(company):
    """GDPR Art. 19: a recipient is told of the corrections made, not of those that changed nothing."""
    world = example(
        (north(members_table(rectify=(("city", "city"), ("phone", "phone")))),),
        {"north": (member(1, city="Aarhus"),)},
    )
    asked = [{"field": "city", "correct": "Vejle"}, {"field": "phone", "correct": SUBJECT_PHONE}]
    with company.loaded(world):
        company.settle(company.file("rectification", language="en", corrections=asked), str)

        # Notices go out in the controller's language (Danish).
        [notice] = [m for m in mail.outbox if m.to == [ONE.email]]
        assert "- By: Vejle" in notice.body
        assert f"- Telefon: {SUBJECT_PHONE}" not in notice.body


def test_a_correction_made_in_two_tables_of_one_source_names_the_source_once(company):
    """GDPR Art. 12(1): "corrected in North system" once, however many of its tables held the value."""
    world = example(
        (north(members_table(rectify=(("city", "city"),)), child_table("orders", rectify=(("city", "note"),))),),
        {"north": (member(1), child("orders", 1, 1))},
    )
    with company.loaded(world):
        company.settle(
            company.file("rectification", language="en", corrections=[{"field": "city", "correct": "Vejle"}]), str
        )

        assert '- City ("Vejle"): corrected in North system\n' in email_to_person("en")


def test_an_erasure_of_rows_already_anonymised_does_not_say_no_data_was_found(company, settings):
    """GDPR Art. 12(1): the source found the person's row (erased before); "found no personal data" is untrue."""
    settings.DSR_ERASURE_AUTO_APPROVE = True
    world = example((north(members_table(fields=(("name", "redact"),))),), {"north": (member(1, name="[erased]"),)})
    with company.loaded(world):
        request = company.file("erasure", language="en")

        assert facts_of(request, ["erasure"]).facts[0][1]["found"] == 1
        assert "found no personal data about you" not in email_to_person("en")
