"""Retention and legal-hold period rules: validated in the map, computed as dates.

A rule is a small mapping such as ``{after: end_of_financial_year, years: 5}``:
the period starts at an event and runs for whole years, months and/or days.
Pure date arithmetic; no clock reads.
"""

import calendar
from datetime import date, timedelta

# The events a period can run from. Each is a fact a source or dsr can date.
RULE_EVENTS = {
    "collected": "the data was collected",
    "account_deactivated": "the customer account was deactivated or deliveries paused",
    "last_activity": "the person's last activity",
    "last_consent_use": "the consent was last used (e.g. the last newsletter opened)",
    "consent_withdrawn": "the consent was withdrawn",
    "enquiry_closed": "the enquiry was answered",
    "contract_end": "the contract with the person ended",
    "end_of_financial_year": "the end of the financial year the record belongs to",
}
RULE_UNITS = ("years", "months", "days")


def rule_errors(rule: object) -> list[str]:
    """Return what is wrong with a period rule, as messages without a path."""
    if not isinstance(rule, dict):
        return ["must be a mapping such as {after: account_deactivated, months: 36}"]
    errors = []
    unknown = sorted(set(rule) - {"after", *RULE_UNITS})
    if unknown:
        errors.append(f"unknown key(s) {', '.join(map(repr, unknown))}; use 'after' and years/months/days")
    after = rule.get("after")
    if after not in RULE_EVENTS:
        errors.append(f"'after' must be one of {', '.join(sorted(RULE_EVENTS))} (got {after!r})")
    amounts = [rule[unit] for unit in RULE_UNITS if unit in rule]
    if not amounts:
        errors.append("give the length as years, months and/or days")
    for unit in RULE_UNITS:
        value = rule.get(unit)
        if unit in rule and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            errors.append(f"'{unit}' must be a whole number of 0 or more")
    return errors


def _months_add(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def financial_year_end(day: date, *, year_end: tuple[int, int] = (12, 31)) -> date:
    """Return the last day of the financial year that ``day`` belongs to."""
    month, last_day = year_end
    candidate = date(day.year, month, min(last_day, calendar.monthrange(day.year, month)[1]))
    if candidate < day:
        candidate = date(day.year + 1, month, min(last_day, calendar.monthrange(day.year + 1, month)[1]))
    return candidate


def rule_date_apply(rule: dict, event_date: date, *, year_end: tuple[int, int] = (12, 31)) -> date:
    """Return the date a period ends, counted from the day of its event.

    For ``end_of_financial_year`` the event date is the record's date and the
    period runs from the end of that financial year (Bogføringsloven § 10).
    """
    start = event_date
    if rule["after"] == "end_of_financial_year":
        start = financial_year_end(event_date, year_end=year_end)
    end = _months_add(start, 12 * rule.get("years", 0) + rule.get("months", 0))
    return end + timedelta(days=rule.get("days", 0))


def rule_describe(rule: dict) -> str:
    """Return a short English description of a rule, for admin and logs."""
    parts = [f"{rule[unit]} {unit}" for unit in RULE_UNITS if rule.get(unit)]
    length = ", ".join(parts) or "0 days"
    return f"{length} after {RULE_EVENTS.get(rule.get('after', ''), rule.get('after', '?'))}"
