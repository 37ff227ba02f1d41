"""A sweep's restriction-register check (GDPR Art. 18): made once per person by the dry run, reused by the run."""

import sqlite3
from contextlib import closing

import pytest
from django.utils import timezone

from dsr import sweeps
from dsr.audit import Actor
from dsr.models import Restriction
from dsr.suppression import identifier_digest
from dsr.sweeps import counts_totals, sweep_approve, sweep_plan, sweep_run
from dsr.workflow import request_submit
from tests.sweeps.conftest import TODAY, rows

EXPIRED = "SELECT id FROM customer WHERE deactivated_at < '2023-12-03' ORDER BY id"
FIRST_NAME = "SELECT first_name FROM customer WHERE id = ?"


@pytest.fixture
def digests_counted(monkeypatch) -> list[dict]:
    """Count the people whose digests a sweep computes (the identifiers of each call)."""
    real, seen = sweeps.identifiers_digests, []

    def counting(identifiers, **kwargs):
        seen.append(identifiers)
        return real(identifiers, **kwargs)

    monkeypatch.setattr(sweeps, "identifiers_digests", counting)
    return seen


def _target(sweep) -> dict:
    (shop,) = [source for source in sweep.report["sources"] if source["source"] == "shop"]
    return shop["targets"][0]


def _restrict(demo, customer: int) -> Restriction:
    (email,) = rows(demo, "SELECT email FROM customer WHERE id = ?", customer)[0]
    request = request_submit(
        right="restriction", email=email, details={"ground": "accuracy_contested"}, actor=Actor.subject()
    ).request
    return Restriction.objects.create(
        request=request, kind="email", digest=identifier_digest("email", email, keys="DSR_RESTRICTION_KEYS"), ground="x"
    )


def test_the_run_computes_digests_again_only_for_the_people_the_dry_run_found_restricted(demo, digests_counted):
    first = rows(demo, EXPIRED)[0][0]
    (name,) = rows(demo, FIRST_NAME, first)[0]
    _restrict(demo, first)
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert len(digests_counted) == 21
    sweep_approve(dry, start=False)
    sweep = sweep_run(dry.pk)
    assert len(digests_counted) == 22  # the run checked only the restricted person again
    assert counts_totals(sweep.counts)["skipped_restricted"] == 1
    assert counts_totals(sweep.counts)["people"] == 20
    assert rows(demo, FIRST_NAME, first) == [(name,)]
    # What the dry run found served the run; the done sweep keeps counts only.
    assert all("register" not in target for source in sweep.report["sources"] for target in source.get("targets", []))


def test_a_restriction_made_after_the_dry_run_is_honoured(demo, digests_counted):
    first = rows(demo, EXPIRED)[0][0]
    (name,) = rows(demo, FIRST_NAME, first)[0]
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    _restrict(demo, first)
    assert digests_counted == []  # the register was empty: the dry run had no one to check
    sweep = sweep_run(dry.pk)
    assert len(digests_counted) == 21  # a new entry: the run checked everyone
    assert counts_totals(sweep.counts)["skipped_restricted"] == 1
    assert rows(demo, FIRST_NAME, first) == [(name,)]


def test_with_the_register_empty_no_digest_is_computed_and_everyone_expired_is_swept(demo, digests_counted):
    expired = [key for (key,) in rows(demo, EXPIRED)]
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert _target(dry)["register"] == {"seen": [], "pages": []}
    sweep_approve(dry, start=False)
    sweep = sweep_run(dry.pk)
    assert digests_counted == []
    assert counts_totals(sweep.counts)["people"] == len(expired) == 21
    assert counts_totals(sweep.counts)["skipped_restricted"] == 0
    assert all(rows(demo, "SELECT phone FROM customer WHERE id = ?", key) == [(None,)] for key in expired)


def test_a_restriction_lifted_after_the_dry_run_no_longer_keeps_the_person(demo, digests_counted):
    first = rows(demo, EXPIRED)[0][0]
    restriction = _restrict(demo, first)
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    restriction.lifted_at = timezone.now()
    restriction.save(update_fields=["lifted_at"])
    sweep = sweep_run(dry.pk)
    assert counts_totals(sweep.counts)["skipped_restricted"] == 0
    assert counts_totals(sweep.counts)["people"] == 21
    assert rows(demo, "SELECT phone FROM customer WHERE id = ?", first) == [(None,)]


def test_a_page_of_other_people_than_the_dry_run_checked_is_checked_again(demo, digests_counted, settings):
    first = rows(demo, EXPIRED)[0][0]
    (name,) = rows(demo, FIRST_NAME, first)[0]
    _restrict(demo, first)
    settings.DSR_SWEEP_BATCH_SIZE = 4
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    settings.DSR_SWEEP_BATCH_SIZE = 6  # the run's pages hold other people than the dry run's
    sweep = sweep_run(dry.pk)
    assert len(digests_counted) == 42  # every page differs from the dry run's: everyone checked again
    assert counts_totals(sweep.counts)["skipped_restricted"] == 1
    assert rows(demo, FIRST_NAME, first) == [(name,)]


def test_a_person_whose_email_changed_since_the_dry_run_is_checked_again(demo, digests_counted):
    first = rows(demo, EXPIRED)[0][0]
    (name,) = rows(demo, FIRST_NAME, first)[0]
    new = "new.address@example.dk"
    request = request_submit(
        right="restriction", email=new, details={"ground": "accuracy_contested"}, actor=Actor.subject()
    ).request
    digest = identifier_digest("email", new, keys="DSR_RESTRICTION_KEYS")
    Restriction.objects.create(request=request, kind="email", digest=digest, ground="x")
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert _target(dry)["restricted_in_register"] == 0  # nobody has the address yet
    sweep_approve(dry, start=False)
    with closing(sqlite3.connect(demo)) as conn:
        conn.execute("UPDATE customer SET email = ? WHERE id = ?", (new, first))
        conn.commit()
    digests_counted.clear()
    sweep = sweep_run(dry.pk)
    assert len(digests_counted) == 21  # the page holds an identifier the dry run never saw: everyone checked again
    assert counts_totals(sweep.counts)["skipped_restricted"] == 1
    assert rows(demo, FIRST_NAME, first) == [(name,)]
