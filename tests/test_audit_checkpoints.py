"""Signed checkpoints anchor the audit chain outside the database: a chain rewritten whole is caught."""

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dsr import tasks
from dsr.audit import GENESIS_HASH, Actor, _event_hash, audit_chain_verify, audit_record
from dsr.audit_checkpoints import audit_checkpoint_write, audit_checkpoints_verify, public_key_text, signing_key
from dsr.models import AuditAction, AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def signing(settings, tmp_path):
    """Sign checkpoints with a key kept in a file of its own, as production does."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "audit.pem"
    path.write_text(_pem(key))
    settings.DSR_AUDIT_SIGNING_KEY = str(path)
    settings.DSR_AUDIT_VERIFY_KEYS = []
    return key


def _events(count: int) -> None:
    for n in range(count):
        audit_record(actor=Actor.system(), action=AuditAction.REMINDERS_SENT, data={"n": n})


def _rewrite_from(seq: int, data: dict) -> None:
    """Edit event ``seq`` and recompute every later hash and the head in SQL, as a database superuser could."""
    table = AuditEvent._meta.db_table
    prev = AuditEvent.objects.get(seq=seq).prev_hash
    with connection.cursor() as cursor:
        for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
            new_data = data if event.seq == seq else event.data
            fields = {
                "seq": event.seq,
                "at": event.at,
                "actor_type": event.actor_type,
                "actor_id": event.actor_id,
                "action": event.action,
                "request_id": event.request_id,
            }
            new_hash = _event_hash(**fields, data=new_data, prev_hash=prev)
            cursor.execute(
                f"UPDATE {table} SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",  # noqa: S608
                [json.dumps(new_data), prev, new_hash, event.seq],
            )
            prev = new_hash
        cursor.execute(f"UPDATE {AuditChainHead._meta.db_table} SET last_hash = %s WHERE id = 1", [prev])  # noqa: S608


def test_a_chain_rewritten_whole_passes_the_chain_but_not_the_checkpoints(signing, capsys):
    _events(3)
    assert audit_checkpoint_write().seq == 3
    _events(3)
    assert audit_checkpoint_write().seq == 6
    _events(2)

    _rewrite_from(4, {"n": 999})

    assert audit_chain_verify() == (8, None)  # the chain alone is fooled
    with pytest.raises(CommandError) as broken:
        call_command("dsr_verify_audit")
    message = str(broken.value)
    assert message.startswith("Audit chain broken at event #4: the chain was rewritten: event #6 no longer has")
    assert "event #4 is the first after the last checkpoint that holds" in message


def test_an_intact_chain_passes_with_its_checkpoints(signing, capsys):
    _events(2)
    audit_checkpoint_write()
    _events(1)
    audit_checkpoint_write()

    call_command("dsr_verify_audit")

    out = capsys.readouterr().out
    assert "Audit chain intact: 3 events verified." in out
    assert "2 signed checkpoint(s) hold, the last at event #3" in out


def test_a_chain_cut_after_a_checkpoint_is_caught(signing):
    _events(5)
    audit_checkpoint_write()
    # A superuser deletes the last two events and moves the head back: the chain is consistent again.
    fourth = AuditEvent.objects.get(seq=3)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq > 3")  # noqa: S608
        cursor.execute(
            f"UPDATE {AuditChainHead._meta.db_table} SET last_seq = 3, last_hash = %s WHERE id = 1",  # noqa: S608
            [fourth.hash],
        )
    assert audit_chain_verify() == (3, None)

    _checkpoints, problem = audit_checkpoints_verify()

    assert problem.seq == 1
    assert "event #5" in problem.message
    assert "is missing" in problem.message


def test_a_checkpoint_signed_with_another_key_is_refused(signing, settings, tmp_path):
    _events(2)
    audit_checkpoint_write()
    forger = tmp_path / "forger.pem"
    forger.write_text(_pem(Ed25519PrivateKey.generate()))
    settings.DSR_AUDIT_SIGNING_KEY = str(forger)
    _events(1)
    audit_checkpoint_write()
    settings.DSR_AUDIT_SIGNING_KEY = str(tmp_path / "audit.pem")

    checkpoints, problem = audit_checkpoints_verify()

    assert [c.seq for c in checkpoints] == [2]
    assert problem.seq == 3
    assert "checkpoint-000000000003.json is signed with a key that is not the audit key" in problem.message


def test_an_edited_checkpoint_file_does_not_verify(signing):
    _events(2)
    checkpoint = audit_checkpoint_write()
    os.chmod(checkpoint.path, 0o644)
    checkpoint.path.write_text(checkpoint.path.read_text().replace(checkpoint.hash, GENESIS_HASH))

    _checkpoints, problem = audit_checkpoints_verify()

    assert "does not carry a valid signature" in problem.message


def test_an_old_key_in_the_verify_list_still_verifies_its_checkpoints(signing, settings, tmp_path):
    _events(1)
    audit_checkpoint_write()
    settings.DSR_AUDIT_VERIFY_KEYS = [public_key_text(signing)]
    rotated = tmp_path / "new.pem"
    rotated.write_text(_pem(Ed25519PrivateKey.generate()))
    settings.DSR_AUDIT_SIGNING_KEY = str(rotated)
    _events(1)
    audit_checkpoint_write()

    checkpoints, problem = audit_checkpoints_verify()

    assert problem is None
    assert len({c.key for c in checkpoints}) == 2


def test_a_checkpoint_is_written_once_read_only_and_only_when_the_head_moved(signing):
    assert audit_checkpoint_write() is None  # an empty chain has nothing to sign
    _events(1)
    checkpoint = audit_checkpoint_write()
    assert audit_checkpoint_write() is None
    assert stat.S_IMODE(checkpoint.path.stat().st_mode) == 0o444
    assert list(checkpoint.path.parent.iterdir()) == [checkpoint.path]


def test_the_beat_task_writes_a_checkpoint_and_skips_without_a_key(signing, settings):
    _events(1)
    assert tasks.audit_checkpoint_write() == 1
    settings.DSR_AUDIT_SIGNING_KEY = ""
    _events(1)
    assert tasks.audit_checkpoint_write() is None
    assert any(message.id == "dsr.W402" for message in run_checks())


@pytest.mark.parametrize(
    ("language", "subject", "heading"),
    [("da", "kontrolpunkt ved hændelse 2", "Kædens hash"), ("en", "checkpoint at event 2", "Chain hash")],
)
def test_each_new_checkpoint_is_emailed_to_the_dpo_with_its_file(
    signing, settings, mailoutbox, django_capture_on_commit_callbacks, language, subject, heading
):
    settings.DSR_AUDIT_CHECKPOINT_EMAILS = ["dpo@madkassen.example", "revisor@example.dk"]
    settings.LANGUAGE_CODE = language
    _events(2)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.audit_checkpoint_write() == 2
        assert tasks.audit_checkpoint_write() is None  # the head has not moved: no checkpoint, no email

    [sent] = mailoutbox
    assert sent.to == ["dpo@madkassen.example", "revisor@example.dk"]
    assert subject in sent.subject
    head = AuditChainHead.objects.get(id=1)
    assert head.last_hash in sent.body
    assert heading in sent.body
    [(name, content, mimetype)] = sent.attachments
    path = next(Path(settings.DSR_AUDIT_CHECKPOINT_DIR).iterdir())
    assert (name, mimetype) == (path.name, "application/json")
    assert content.decode() == path.read_text()
    assert json.loads(content)["seq"] == 2


def test_no_email_goes_out_without_checkpoint_addresses(
    signing, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.DSR_AUDIT_CHECKPOINT_EMAILS = []
    _events(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.audit_checkpoint_write() == 1
    assert mailoutbox == []


def test_the_command_says_where_the_checkpoint_went(signing, settings, capsys, django_capture_on_commit_callbacks):
    settings.DSR_AUDIT_CHECKPOINT_EMAILS = ["dpo@madkassen.example"]
    _events(1)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("dsr_audit_checkpoint")
    assert "Sent by email to dpo@madkassen.example." in capsys.readouterr().out


def test_the_development_key_is_made_once_under_var_dir(settings, tmp_path):
    settings.DEBUG = True
    settings.DSR_AUDIT_SIGNING_KEY = ""
    settings.VAR_DIR = tmp_path

    first = signing_key()

    path = Path(tmp_path) / "audit-signing-key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_text(signing_key()) == public_key_text(first)


def test_a_key_that_is_not_ed25519_is_refused_clearly(settings, tmp_path):
    path = tmp_path / "bad.pem"
    path.write_text("not a key")
    settings.DSR_AUDIT_SIGNING_KEY = str(path)
    with pytest.raises(CommandError, match="not an unencrypted PEM private key"):
        call_command("dsr_audit_checkpoint")
    settings.DSR_AUDIT_VERIFY_KEYS = [base64.b64encode(b"short").decode()]
    settings.DSR_AUDIT_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="DSR_AUDIT_VERIFY_KEYS holds Ed25519 public keys"):
        call_command("dsr_verify_audit")


def test_a_signing_key_that_does_not_load_fails_the_system_check(settings, tmp_path):
    settings.DSR_AUDIT_SIGNING_KEY = str(tmp_path / "absent.pem")
    errors = [message for message in run_checks() if message.id == "dsr.E402"]
    assert len(errors) == 1
    assert "cannot read the key file" in errors[0].msg
