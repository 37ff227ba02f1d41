"""What holds until the current transaction ends: noted once, forgotten with its commit or rollback.

A note is kept among the transaction's commit callbacks, so it lives exactly as
long as what it describes: Django drops the callbacks of a savepoint rolled
back (and PostgreSQL releases the row locks taken in it), and all of them when
the transaction commits or rolls back. Outside a transaction nothing is noted.
"""

from collections.abc import Hashable

from django.db import connection, transaction


class _Note:
    """A commit callback that does nothing: while the transaction keeps it, its fact stands."""

    def __init__(self, fact: Hashable):
        self.fact = fact
        self.spent = False

    def __call__(self) -> None:
        # Run at commit, or by a test that runs the callbacks it captured without a commit: the fact is over.
        self.spent = True


def transaction_note(fact: Hashable) -> None:
    """Note ``fact`` as true until the current transaction, or the savepoint it was noted in, ends."""
    if not connection.in_atomic_block:
        return
    notes = _notes()
    if not connection.run_on_commit:
        # The transaction's first callback: what was noted before belongs to transactions that have ended.
        notes.clear()
    note = _Note(fact)
    transaction.on_commit(note)
    notes[fact] = (len(connection.run_on_commit) - 1, note)


def transaction_noted(fact: Hashable) -> bool:
    """Return whether ``fact`` was noted in the current transaction and still stands."""
    if not connection.in_atomic_block:
        return False
    index, note = _notes().get(fact, (-1, None))
    callbacks = connection.run_on_commit
    # Still where it was put: a rollback (of the savepoint it was noted in) or the commit took it away.
    return note is not None and not note.spent and index < len(callbacks) and callbacks[index][1] is note


def _notes() -> dict[Hashable, tuple[int, _Note]]:
    """This connection's notes by fact, with where each sits among the transaction's commit callbacks."""
    return connection.__dict__.setdefault("dsr_transaction_notes", {})


def request_locked(request_id: int) -> tuple[str, int]:
    """The fact that the current transaction holds the request's row for update (``select_for_update``)."""
    return ("request locked", request_id)
