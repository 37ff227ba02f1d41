"""What a jurisdiction profile is: its deadline rules, its authority, its rights and its wording.

A profile is data plus date arithmetic (dsr.deadlines): no ORM, no clock reads. Each profile module
cites the law it implements, so a privacy engineer can check the numbers against the text.
"""

from dataclasses import dataclass, field
from datetime import date

from dsr import deadlines


class ExtensionNotAllowed(Exception):
    """The profile's law allows no extension of this request's deadline."""


@dataclass(frozen=True)
class MonthRule:
    """A period in calendar months counted by Reg. 1182/71 Art. 3 (day of receipt not counted, next working day)."""

    months: int = 1
    extended_months: int | None = 3

    @property
    def extendable(self) -> bool:
        return self.extended_months is not None

    def due(self, received: date, *, calendar: str, suspended_days: int) -> date:
        return deadlines.due_date(received, months=self.months, country=calendar, suspended_days=suspended_days)

    def extended_due(self, received: date, *, calendar: str, suspended_days: int) -> date | None:
        if self.extended_months is None:
            return None
        return deadlines.due_date(
            received, months=self.extended_months, country=calendar, suspended_days=suspended_days
        )


@dataclass(frozen=True)
class DayRule:
    """A period in calendar days, optionally extended by more calendar days.

    ``first_day_counts``: the day of receipt is day one. ``working_day_end``: a period ending on a weekend or
    holiday ends on the next working day.
    """

    days: int
    extension_days: int | None = None
    first_day_counts: bool = False
    working_day_end: bool = True

    @property
    def extendable(self) -> bool:
        return self.extension_days is not None

    def _end(self, received: date, days: int, *, calendar: str, suspended_days: int) -> date:
        end = deadlines.days_add(received, days + suspended_days, first_day_counts=self.first_day_counts)
        return deadlines.next_working_day(end, country=calendar) if self.working_day_end else end

    def due(self, received: date, *, calendar: str, suspended_days: int) -> date:
        return self._end(received, self.days, calendar=calendar, suspended_days=suspended_days)

    def extended_due(self, received: date, *, calendar: str, suspended_days: int) -> date | None:
        if self.extension_days is None:
            return None
        return self._end(received, self.days + self.extension_days, calendar=calendar, suspended_days=suspended_days)


@dataclass(frozen=True)
class WorkingDayRule:
    """A period in working days of the profile's calendar; the day of receipt is not counted."""

    days: int
    extendable = False

    def due(self, received: date, *, calendar: str, suspended_days: int) -> date:
        return deadlines.working_days_add(received, self.days + suspended_days, country=calendar)

    def extended_due(self, received: date, *, calendar: str, suspended_days: int) -> date | None:
        return None


Rule = MonthRule | DayRule | WorkingDayRule


@dataclass(frozen=True)
class Authority:
    """The supervisory authority letters name; empty strings where no verified value is published."""

    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    url: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return the authority as the letters' templates read it (controller.authority)."""
        return {"name": self.name, "address": self.address, "phone": self.phone, "email": self.email, "url": self.url}


@dataclass(frozen=True)
class Wording:
    """The sentences of the letters that differ by law, in one language."""

    law: str  # the law's name as a sentence uses it: "the General Data Protection Regulation"
    period: str  # when we answer, and how the period can be extended
    extension: str  # why and by how much the deadline is extended
    complaint: str  # the complaint clause's legal basis, e.g. "Article 77 of ..."
    clock: str  # what happens to the time limit while we wait for the requester
    first_period: str  # the first time limit in words: "one month", "45 days"
    identity_basis: str  # why we may ask who the requester is
    courts: str  # the right to go to court, or "" where the law names none for these requests
    regulation: str  # the law's formal name for a letter's legal-basis line
    refusal_basis: str  # where the law says what a refusal must tell the person
    # Where the law gives each right, as the answer cites it after saying what was done: by dsr right
    # ("erasure": "Article 17 of the General Data Protection Regulation"); every right the profile offers.
    articles: dict[str, str]
    # How the request is processed and verified, said when receipt is confirmed (CCPA regs § 7021(a)); "" if none.
    receipt_process: str = ""


@dataclass(frozen=True)
class Profile:
    """One jurisdiction's rules for answering a request (docs/jurisdictions.md)."""

    code: str
    name: str  # a lazy translated name of the place, e.g. "Denmark"
    law: str  # the law and its citation, for staff
    deadline_citation: str  # where the deadline and its extension are written, e.g. "GDPR Art. 12(3)"
    calendar: str  # the holidays package's country, or country-subdivision ("US-CA")
    authority: Authority
    rights: tuple[str, ...]  # dsr's rights (dsr.models.Right values) the profile offers
    rule: Rule
    wording: dict[str, Wording]  # by language: "da", "en"
    # Rules for some rights only (CCPA: an opt-out of sale/sharing within 15 business days).
    rules_by_right: dict[str, Rule] = field(default_factory=dict)
    # Whether the law numbers its articles as the GDPR does (12(3), 12(4), 17, 19, 77, 79): the letters cite them.
    gdpr_articles: bool = False
    # Whether periods are counted by Reg. 1182/71 Art. 3 (the EU and EEA): the letters say so.
    eu_counting: bool = False
    # Whether waiting for the requester (identity, clarification, a fee) stops the clock.
    clock_stops: bool = True
    # Whether a fee may be asked at all (LGPD Art. 18 § 5: free of charge).
    fees_allowed: bool = True
    # Confirm receipt within this many working days (CCPA regs § 7021(a)); None: no separate rule.
    acknowledge_working_days: int | None = None
    # The rights whose requests need that confirmation (§ 7021(a): know, delete, correct); empty: all the profile's.
    acknowledge_rights: tuple[str, ...] = ()
    acknowledge_citation: str = ""
    # Tell the person at once whether data about them was found, before the full answer (LGPD Art. 19 I).
    simplified_confirmation: bool = False
    # What the person must show, in words for staff (identity-verification rules).
    identity: str = ""
    # Rights of this law dsr cannot carry through, said in the portal rather than pretended.
    not_carried: str = ""
    # Whether an authorised agent may file for the person on the portal's agent page (CCPA § 1798.130(a)(3),
    # regs § 7063), and where the law says so.
    authorised_agents: bool = False
    agent_citation: str = ""
    # The objection scopes (dsr.models.ObjectionScope) the law knows: the GDPR's Art. 21 by default (CCPA: the
    # opt-out of sale/sharing and the limit on sensitive personal information).
    objection_scopes: tuple[str, ...] = ("direct_marketing", "profiling", "purpose")
    # The law's names for dsr's rights where they differ (CCPA "right to know"); "objection:<scope>" names one
    # scope of an objection (CCPA "right to limit the use of sensitive personal information").
    right_names: dict[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ("da", "en")
    citations: tuple[str, ...] = ()

    def rule_for(self, right: str) -> Rule:
        """Return the deadline rule for a request for ``right``."""
        return self.rules_by_right.get(right, self.rule)

    def _suspended(self, suspended_days: int) -> int:
        if suspended_days < 0:
            raise ValueError("suspended_days must not be negative")
        return suspended_days if self.clock_stops else 0

    def due_date(self, received: date, *, right: str = "", suspended_days: int = 0) -> date:
        """Return the last day to answer a request for ``right`` received on ``received``."""
        return self.rule_for(right).due(
            received, calendar=self.calendar, suspended_days=self._suspended(suspended_days)
        )

    def extended_due_date(self, received: date, *, right: str = "", suspended_days: int = 0) -> date:
        """Return the due date after the law's extension; raise ExtensionNotAllowed where it allows none."""
        extended = self.rule_for(right).extended_due(
            received, calendar=self.calendar, suspended_days=self._suspended(suspended_days)
        )
        if extended is None:
            raise ExtensionNotAllowed(self.code)
        return extended

    def extendable(self, right: str = "") -> bool:
        """Return whether the law allows extending the deadline of a request for ``right``."""
        return self.rule_for(right).extendable

    def extension_allowed(self, received: date, *, today: date, right: str = "", suspended_days: int = 0) -> bool:
        """Return whether an extension may still be recorded: the law has one, and the first period runs."""
        return self.extendable(right) and today <= self.due_date(received, right=right, suspended_days=suspended_days)

    def acknowledge_by(self, received: date, *, right: str = "") -> date | None:
        """Return the last day to confirm receipt of a request for ``right``, where the law sets one."""
        if self.acknowledge_working_days is None:
            return None
        if right and self.acknowledge_rights and right not in self.acknowledge_rights:
            return None
        return deadlines.working_days_add(received, self.acknowledge_working_days, country=self.calendar)

    def right_name(self, right: str, details: dict | None = None) -> str:
        """Return the law's own name for a request for ``right`` with ``details``, or "" where it has none."""
        scope = (details or {}).get("scope") or ""
        return self.right_names.get(f"{right}:{scope}") or self.right_names.get(right) or ""

    def offers(self, right: str) -> bool:
        """Return whether the profile offers ``right``."""
        return right in self.rights

    def wording_in(self, language: str) -> Wording:
        """Return the letters' wording in ``language`` (English where the profile has no such language)."""
        return self.wording.get(language) or self.wording["en"]
