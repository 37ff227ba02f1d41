"""The audit trail is append-only and any edit or deletion is found by the verify command."""

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dsr.audit import Actor, audit_chain_verify, audit_record
from dsr.models import AuditAction, AuditEvent, AuditImmutableError

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    return [audit_record(actor=Actor.system(), action=AuditAction.REMINDERS_SENT, data={"n": i}) for i in range(1, 6)]


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_events_link_into_one_chain(chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chain))
    assert audit_chain_verify() == (5, None)


def test_verify_command_passes_on_an_intact_chain(chain, capsys):
    call_command("dsr_verify_audit")
    assert "5 events verified" in capsys.readouterr().out


def test_an_empty_chain_is_intact():
    assert audit_chain_verify() == (0, None)


def test_the_orm_refuses_to_change_or_delete_events(chain):
    event = AuditEvent.objects.get(seq=2)
    event.action = "forged"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(seq=2).update(action="forged")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    ("sql", "params", "seq"),
    [
        ("UPDATE dsr_auditevent SET action = %s WHERE seq = %s", ["request.forged", 3], 3),
        ("UPDATE dsr_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 2], 2),
        ("UPDATE dsr_auditevent SET actor_id = %s WHERE seq = %s", ["42", 4], 4),
        ("DELETE FROM dsr_auditevent WHERE seq = %s", [3], 3),
        ("DELETE FROM dsr_auditevent WHERE seq = %s", [5], 5),
    ],
    ids=["action edited", "data edited", "actor edited", "middle deleted", "last deleted"],
)
def test_tampering_is_detected_naming_the_first_broken_event(chain, sql, params, seq):
    _raw(sql, params)
    _checked, problem = audit_chain_verify()
    assert problem is not None
    assert problem.seq == seq
    with pytest.raises(CommandError, match=f"#{seq}"):
        call_command("dsr_verify_audit")


def test_rewriting_an_event_with_a_fresh_hash_still_breaks_the_next_link(chain):
    # An attacker who recomputes the edited event's own hash cannot fix every later event's prev_hash.
    from dsr.audit import _event_hash

    event = AuditEvent.objects.get(seq=2)
    forged = _event_hash(
        seq=2,
        at=event.at,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        action="request.forged",
        request_id=None,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    _raw("UPDATE dsr_auditevent SET action = %s, hash = %s WHERE seq = 2", ["request.forged", forged])
    _checked, problem = audit_chain_verify()
    assert problem is not None
    assert problem.seq == 3


def test_audit_data_must_be_plain_values():
    event = audit_record(
        actor=Actor.staff(type("U", (), {"pk": 7})()), action=AuditAction.REMINDERS_SENT, data={"count": 3}
    )
    assert event.actor_type == "staff"
    assert event.actor_id == "7"
    assert event.data == {"count": 3}


def test_an_action_outside_the_closed_set_is_refused_and_nothing_is_written():
    with pytest.raises(ValueError, match="not an audit action"):
        audit_record(actor=Actor.system(), action="made.up")
    assert not AuditEvent.objects.exists()
