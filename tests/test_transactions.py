"""Notes that hold until the transaction ends: what audit events rely on to skip a row lock already held."""

import pytest
from django.db import transaction

from dsr.transactions import request_locked, transaction_note, transaction_noted

pytestmark = pytest.mark.django_db(transaction=True)

FACT = request_locked(7)


def _noted_then_failing(fact) -> None:
    """A service that notes ``fact`` in a transaction (a savepoint, inside another) and then fails."""
    with transaction.atomic():
        transaction_note(fact)
        raise RuntimeError("the service failed")


def test_a_note_stands_for_the_rest_of_its_transaction_and_no_longer():
    with transaction.atomic():
        assert not transaction_noted(FACT)
        transaction_note(FACT)
        assert transaction_noted(FACT)
        assert not transaction_noted(request_locked(8))
        with transaction.atomic():
            assert transaction_noted(FACT)  # a savepoint inside it sees it too

    assert not transaction_noted(FACT)  # committed
    with transaction.atomic():
        assert not transaction_noted(FACT)  # a new transaction starts with nothing noted


def test_a_rollback_forgets_the_note():
    with pytest.raises(RuntimeError):
        _noted_then_failing(FACT)

    with transaction.atomic():
        assert not transaction_noted(FACT)


def test_a_savepoint_rolled_back_forgets_what_was_noted_in_it_and_a_released_one_keeps_it():
    with transaction.atomic():
        transaction_note(request_locked(1))
        with pytest.raises(RuntimeError):
            _noted_then_failing(FACT)  # rolled back to its savepoint
        assert not transaction_noted(FACT)
        assert transaction_noted(request_locked(1))  # noted before the savepoint
        with transaction.atomic():
            transaction_note(request_locked(2))
        assert transaction_noted(request_locked(2))  # released into the transaction


def test_nothing_is_noted_outside_a_transaction():
    transaction_note(FACT)

    assert not transaction_noted(FACT)


@pytest.mark.django_db(transaction=False)
def test_callbacks_run_without_a_commit_end_the_note(django_capture_on_commit_callbacks):
    # Inside a test's own transaction nothing commits: a test that runs the callbacks it captured goes on in the
    # same database transaction, and the note must be over all the same.
    with transaction.atomic():
        transaction_note(request_locked(1))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        transaction_note(FACT)

    with transaction.atomic():
        assert not transaction_noted(FACT)
        assert transaction_noted(request_locked(1))  # its callbacks were not run: as far as it knows, still open
