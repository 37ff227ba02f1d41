"""A year of the demo company's past requests, as a privacy team would import them from its old spreadsheet.

The rows go through the same import as a real team's file (dsr.workflow.imports),
so the demo's statistics show twelve months and every such request says on its
page that it was handled before dsr. The people are made up and are not
customers of the demo shop: nothing in the shop is changed.
"""

import random
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from dsr import deadlines, workflow
from dsr.audit import Actor
from dsr.models import Request

# How often each right came in, roughly as the Danish authority's statistics describe it: access first.
_RIGHTS = (
    ("access", 40),
    ("erasure", 25),
    ("objection", 10),
    ("consent_withdrawal", 8),
    ("rectification", 8),
    ("portability", 5),
    ("restriction", 4),
)
_CHANNELS = (("email", 70), ("letter", 15), ("phone", 15))
_FIRST = ("anne", "bo", "camilla", "dorte", "emil", "freja", "gustav", "hanne", "ib", "jonas", "karen", "lars")
_LAST = ("hansen", "jensen", "nielsen", "pedersen", "andersen", "christensen", "larsen", "sorensen", "rasmussen")


def demo_history_rows(*, today: date, months: int = 12, seed: int = 7) -> list[dict[str, str]]:
    """Return the import rows: requests received in the ``months`` before the demo's own, all answered."""
    rng = random.Random(seed)
    rows = []
    # The demo's open requests reach back about 40 days; the history ends before them.
    end = today - timedelta(days=45)
    start = end - timedelta(days=round(months * 30.44))
    day = start
    number = 0
    while day < end:
        day += timedelta(days=rng.choice((1, 2, 3, 4, 5, 6)))
        if day >= end or day.weekday() >= 5:
            continue
        number += 1
        right = _weighted(rng, _RIGHTS)
        due = deadlines.due_date(day, country=settings.DSR_COUNTRY)
        outcome, ground, reasons, extended = "completed", "", "", ""
        roll = rng.random()
        if roll < 0.07:
            outcome, ground = "refused", rng.choice(("excessive", "identity_not_established"))
            reasons = (
                "Samme anmodning blev besvaret to uger forinden."
                if ground == "excessive"
                else "Anmoderen svarede ikke på vores spørgsmål om, hvilken konto der er deres."
            )
        elif roll < 0.12:
            outcome, reasons = "cancelled", "Trukket tilbage af anmoderen pr. e-mail."
        elif roll < 0.16 and right in ("access", "erasure"):
            outcome, reasons = "partially_completed", "Opkaldsoptagelser fra før 2023 kunne ikke gennemsøges."
        if rng.random() < 0.06:
            extended = deadlines.due_date(due, country=settings.DSR_COUNTRY)
            answered = day + timedelta(days=rng.randint(35, 70))
        else:
            answered = day + timedelta(days=rng.choice((2, 4, 6, 9, 12, 15, 19, 24, 27)))
        answered = min(answered, end)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        rows.append(
            {
                "right": right,
                "email": f"{first}.{last}{number}@example.dk",
                "received": day.isoformat(),
                "closed": answered.isoformat(),
                "outcome": outcome,
                "channel": _weighted(rng, _CHANNELS),
                "language": "da" if rng.random() < 0.85 else "en",
                "refusal_ground": ground,
                "extended_until": extended.isoformat() if extended else "",
                "their_reference": f"{day.year}-{number:03d}",
                "reasons": reasons,
            }
        )
    return rows


def demo_history_import() -> int:
    """Import the demo's year of history once; return how many requests it added (0 when it is there)."""
    if Request.objects.filter(imported_at__isnull=False).exists():
        return 0
    rows = demo_history_rows(today=timezone.localdate())
    return workflow.requests_import(rows, actor=Actor.system()).created


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]
