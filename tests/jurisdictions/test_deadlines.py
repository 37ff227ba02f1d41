"""Each jurisdiction profile's deadline rules, against tables of cases from its law.

GDPR (DK, SE, NO, FI, DE): Art. 12(3) counted by Reg. 1182/71 Art. 3; UK GDPR: Art. 12(3) as the ICO
counts it; CCPA: Civ. Code § 1798.130(a)(2)(A), regs §§ 7021, 7026(f); LGPD: Art. 19 with Código
Civil Art. 132. Every expected date was worked out by hand from the calendar and the rule.
"""

from datetime import date

import pytest

from dsr.jurisdictions import PROFILES, ExtensionNotAllowed

# (received, expected due date, why): true in every GDPR country and the UK (no national holiday falls on them).
MONTH_CASES = [
    (date(2024, 3, 5), date(2024, 4, 5), "same date next month, a Friday"),
    (date(2022, 8, 31), date(2022, 9, 30), "no 31 September: the month's last day"),
    (date(2023, 1, 31), date(2023, 2, 28), "31 January -> 28 February"),
    (date(2024, 1, 31), date(2024, 2, 29), "leap year: 29 February"),
    (date(2023, 8, 31), date(2023, 10, 2), "30 September 2023 is a Saturday -> Monday"),
    (date(2024, 5, 8), date(2024, 6, 10), "8 June 2024 is a Saturday -> Monday"),
    (date(2024, 5, 9), date(2024, 6, 10), "9 June 2024 is a Sunday -> Monday"),
    (date(2024, 12, 15), date(2025, 1, 15), "over the year end"),
    (date(2023, 12, 1), date(2024, 1, 2), "1 January is a holiday everywhere"),
    (date(2024, 11, 25), date(2024, 12, 27), "25 and 26 December are holidays"),
    (date(2024, 2, 29), date(2024, 4, 2), "Good Friday 29 March, weekend, Easter Monday 1 April 2024"),
]

# Each country's own holidays: (profile, received, expected, why).
NATIONAL_CASES = [
    ("dk", date(2024, 4, 9), date(2024, 5, 10), "Ascension Day 9 May 2024"),
    ("dk", date(2024, 4, 20), date(2024, 5, 21), "Whit Monday 20 May 2024"),
    ("dk", date(2023, 4, 5), date(2023, 5, 8), "Great Prayer Day 5 May 2023, abolished from 2024"),
    ("dk", date(2024, 3, 26), date(2024, 4, 26), "26 April 2024: no Great Prayer Day any more"),
    ("se", date(2025, 5, 6), date(2025, 6, 9), "National Day 6 June 2025 (Friday); Whit Monday is no Swedish holiday"),
    ("se", date(2025, 12, 6), date(2026, 1, 7), "Epiphany 6 January 2026"),
    ("se", date(2024, 4, 9), date(2024, 5, 10), "Ascension Day 9 May 2024"),
    ("se", date(2024, 4, 20), date(2024, 5, 20), "Whit Monday 20 May 2024 is a working day in Sweden"),
    ("no", date(2024, 4, 17), date(2024, 5, 21), "Constitution Day 17 May, weekend, Whit Monday 20 May 2024"),
    ("no", date(2025, 4, 1), date(2025, 5, 2), "Labour Day 1 May 2025"),
    ("no", date(2024, 4, 9), date(2024, 5, 10), "Ascension Day 9 May 2024"),
    ("no", date(2025, 3, 17), date(2025, 4, 22), "Maundy Thursday to Easter Monday 2025"),
    ("fi", date(2024, 11, 6), date(2024, 12, 9), "Independence Day 6 December 2024 (Friday)"),
    ("fi", date(2025, 12, 6), date(2026, 1, 7), "Epiphany 6 January 2026"),
    ("fi", date(2024, 4, 9), date(2024, 5, 10), "Ascension Day 9 May 2024"),
    ("fi", date(2025, 4, 1), date(2025, 5, 2), "May Day 1 May 2025"),
    ("de", date(2025, 9, 3), date(2025, 10, 6), "Day of German Unity 3 October 2025 (Friday)"),
    ("de", date(2024, 4, 20), date(2024, 5, 21), "Whit Monday 20 May 2024"),
    ("de", date(2024, 4, 9), date(2024, 5, 10), "Ascension Day 9 May 2024"),
    ("de", date(2025, 4, 1), date(2025, 5, 2), "Labour Day 1 May 2025"),
    ("uk", date(2024, 4, 6), date(2024, 5, 7), "Early May bank holiday 6 May 2024"),
    ("uk", date(2024, 4, 27), date(2024, 5, 28), "Spring bank holiday 27 May 2024"),
    ("uk", date(2024, 7, 26), date(2024, 8, 27), "Summer bank holiday 26 August 2024 (England)"),
    ("uk", date(2026, 11, 28), date(2026, 12, 29), "Boxing Day on a Saturday: substitute Monday 28 December 2026"),
    ("uk", date(2024, 4, 9), date(2024, 5, 9), "Ascension Day is a working day in England"),
]

GDPR_AND_UK = ("dk", "se", "no", "fi", "de", "uk")


@pytest.mark.parametrize("code", GDPR_AND_UK)
@pytest.mark.parametrize(("received", "expected", "why"), MONTH_CASES, ids=[c[2] for c in MONTH_CASES])
def test_one_month_rule(code, received, expected, why):
    assert PROFILES[code].due_date(received) == expected


@pytest.mark.parametrize(("code", "received", "expected", "why"), NATIONAL_CASES, ids=[c[3] for c in NATIONAL_CASES])
def test_national_holidays_move_the_last_day(code, received, expected, why):
    assert PROFILES[code].due_date(received) == expected


@pytest.mark.parametrize("code", GDPR_AND_UK)
def test_stopped_days_are_added_before_the_weekend_rule(code):
    # 5 April 2024 (Friday) + 1 stopped day = Saturday -> Monday 8 April; + 3 = Monday itself.
    assert PROFILES[code].due_date(date(2024, 3, 5), suspended_days=1) == date(2024, 4, 8)
    assert PROFILES[code].due_date(date(2024, 3, 5), suspended_days=3) == date(2024, 4, 8)


@pytest.mark.parametrize("code", GDPR_AND_UK)
def test_extension_is_three_months_from_receipt(code):
    # 12 May 2024 is a Sunday -> Monday 13 May; 30 November + 3 months -> 29 February in a leap year.
    assert PROFILES[code].extended_due_date(date(2024, 2, 12)) == date(2024, 5, 13)
    assert PROFILES[code].extended_due_date(date(2023, 11, 30)) == date(2024, 2, 29)


@pytest.mark.parametrize("code", GDPR_AND_UK)
def test_extension_only_within_the_first_month(code):
    profile = PROFILES[code]
    assert profile.extension_allowed(date(2024, 3, 5), today=date(2024, 4, 5))
    assert not profile.extension_allowed(date(2024, 3, 5), today=date(2024, 4, 6))
    # A stopped day moves the first month's end (a Saturday) to Monday 8 April.
    assert profile.extension_allowed(date(2024, 3, 5), today=date(2024, 4, 8), suspended_days=1)


def test_gdpr_and_uk_offer_every_right_and_stop_the_clock():
    for code in GDPR_AND_UK:
        profile = PROFILES[code]
        assert profile.clock_stops
        assert profile.fees_allowed
        assert profile.acknowledge_by(date(2024, 3, 5)) is None
        assert len(profile.rights) == 7


# California. The day of receipt is day one (§ 7021(b)); calendar days with no weekend rule.
CA = PROFILES["us-ca"]

CCPA_RESPONSE_CASES = [
    (date(2026, 3, 31), date(2026, 5, 14), "45 days from 31 March, day of receipt counted"),
    (date(2026, 1, 1), date(2026, 2, 14), "ends on a Saturday and stays there: calendar days"),
    (date(2026, 10, 13), date(2026, 11, 26), "ends on Thanksgiving and stays there"),
    (date(2025, 12, 15), date(2026, 1, 28), "over the year end"),
    (date(2024, 1, 20), date(2024, 3, 4), "through a leap February"),
    (date(2023, 1, 20), date(2023, 3, 5), "through a February of 28 days"),
    (date(2026, 2, 1), date(2026, 3, 17), "from a month's first day"),
    (date(2026, 5, 25), date(2026, 7, 8), "received on Memorial Day: the day still counts"),
]

CCPA_EXTENDED_CASES = [
    (date(2026, 3, 31), date(2026, 6, 28), "90 days from 31 March, a Sunday, no moving"),
    (date(2026, 1, 1), date(2026, 3, 31), "90 days from 1 January: Cesar Chavez Day, no moving"),
]

# (received, 10th business day: confirm receipt, § 7021(a)).
CCPA_ACKNOWLEDGE_CASES = [
    (date(2026, 3, 30), date(2026, 4, 14), "Cesar Chavez Day 31 March 2026 is no business day"),
    (date(2026, 11, 20), date(2026, 12, 8), "Thanksgiving and the day after"),
    (date(2026, 12, 23), date(2027, 1, 8), "Christmas and New Year's Day"),
]

# (received, 15th business day: opt-out of sale/sharing acted on, § 7026(f)).
CCPA_OPT_OUT_CASES = [
    (date(2026, 6, 15), date(2026, 7, 8), "Juneteenth and Independence Day observed"),
    (date(2026, 1, 9), date(2026, 2, 2), "Martin Luther King Jr. Day"),
    (date(2026, 11, 25), date(2026, 12, 18), "Thanksgiving and the day after"),
]


@pytest.mark.parametrize(("received", "expected", "why"), CCPA_RESPONSE_CASES, ids=[c[2] for c in CCPA_RESPONSE_CASES])
def test_ccpa_answers_within_45_calendar_days(received, expected, why):
    assert CA.due_date(received, right="access") == expected
    assert CA.due_date(received, right="erasure") == expected


@pytest.mark.parametrize(("received", "expected", "why"), CCPA_EXTENDED_CASES, ids=[c[2] for c in CCPA_EXTENDED_CASES])
def test_ccpa_extension_is_45_more_days(received, expected, why):
    assert CA.extended_due_date(received, right="access") == expected


@pytest.mark.parametrize(
    ("received", "expected", "why"), CCPA_ACKNOWLEDGE_CASES, ids=[c[2] for c in CCPA_ACKNOWLEDGE_CASES]
)
def test_ccpa_confirms_receipt_within_10_business_days(received, expected, why):
    assert CA.acknowledge_by(received) == expected


@pytest.mark.parametrize(("received", "expected", "why"), CCPA_OPT_OUT_CASES, ids=[c[2] for c in CCPA_OPT_OUT_CASES])
def test_ccpa_acts_on_an_opt_out_within_15_business_days(received, expected, why):
    assert CA.due_date(received, right="objection") == expected


def test_ccpa_clock_runs_while_identity_is_verified():
    assert CA.due_date(date(2026, 3, 31), right="access", suspended_days=10) == date(2026, 5, 14)
    assert CA.due_date(date(2026, 6, 15), right="objection", suspended_days=4) == date(2026, 7, 8)


def test_ccpa_extension_must_be_noticed_within_the_first_45_days():
    assert CA.extension_allowed(date(2026, 3, 31), today=date(2026, 5, 14), right="access")
    assert not CA.extension_allowed(date(2026, 3, 31), today=date(2026, 5, 15), right="access")


def test_ccpa_opt_out_has_no_extension():
    assert not CA.extendable("objection")
    assert not CA.extension_allowed(date(2026, 6, 15), today=date(2026, 6, 16), right="objection")
    with pytest.raises(ExtensionNotAllowed):
        CA.extended_due_date(date(2026, 6, 15), right="objection")


# Brazil: 15 days, the day of the request excluded, a last day that is no working day moves on.
BR = PROFILES["br"]

LGPD_CASES = [
    (date(2026, 1, 5), date(2026, 1, 20), "15 days, a Tuesday"),
    (date(2026, 1, 2), date(2026, 1, 19), "ends on a Saturday -> Monday"),
    (date(2026, 4, 6), date(2026, 4, 22), "Tiradentes 21 April"),
    (date(2026, 3, 19), date(2026, 4, 6), "Good Friday 3 April, weekend; Easter Monday is a working day"),
    (date(2026, 4, 16), date(2026, 5, 4), "Labour Day 1 May (Friday)"),
    (date(2026, 8, 23), date(2026, 9, 8), "Independence Day 7 September"),
    (date(2026, 9, 27), date(2026, 10, 13), "Our Lady of Aparecida 12 October"),
    (date(2026, 10, 18), date(2026, 11, 3), "All Souls' Day 2 November"),
    (date(2026, 10, 31), date(2026, 11, 16), "Proclamation of the Republic 15 November (Sunday)"),
    (date(2026, 11, 5), date(2026, 11, 23), "Black Awareness Day 20 November (Friday)"),
    (date(2026, 12, 10), date(2026, 12, 28), "Christmas Day (Friday)"),
    (date(2026, 12, 17), date(2027, 1, 4), "New Year's Day 2027 (Friday)"),
    (date(2024, 2, 20), date(2024, 3, 6), "through a leap February"),
    (date(2025, 2, 20), date(2025, 3, 7), "through a February of 28 days"),
    (date(2026, 1, 31), date(2026, 2, 16), "from a month's last day"),
]


@pytest.mark.parametrize(("received", "expected", "why"), LGPD_CASES, ids=[c[2] for c in LGPD_CASES])
def test_lgpd_answers_within_15_days(received, expected, why):
    assert BR.due_date(received) == expected


def test_lgpd_clock_does_not_stop_and_has_no_extension_or_fee():
    assert BR.due_date(date(2026, 1, 5), suspended_days=5) == date(2026, 1, 20)
    assert not BR.extendable()
    assert not BR.extension_allowed(date(2026, 1, 5), today=date(2026, 1, 6))
    with pytest.raises(ExtensionNotAllowed):
        BR.extended_due_date(date(2026, 1, 5))
    assert not BR.fees_allowed


def test_every_profile_cites_its_law_and_names_an_authority():
    for profile in PROFILES.values():
        assert profile.citations
        assert profile.deadline_citation
        assert profile.authority.name
        assert profile.authority.url.startswith("https://")
        assert set(profile.wording) == {"da", "en"}
