"""The local email backend: the whole message in the outbox, one line in the log."""

import logging

from django.core.mail import EmailMultiAlternatives

from dsr.mail import ConsoleOutboxBackend


def test_the_outbox_keeps_the_message_and_the_log_names_it_in_one_line(settings, tmp_path, caplog, capsys):
    settings.DSR_OUTBOX_DIR = str(tmp_path)
    email = EmailMultiAlternatives(subject="Din kode", body="Koden er 493027", to=["kunde@example.dk"])
    email.attach("brev.pdf", b"%PDF-1.7 " + b"x" * 4000, "application/pdf")

    with caplog.at_level(logging.INFO, logger="dsr.mail"):
        sent = ConsoleOutboxBackend().send_messages([email])

    assert sent == 1
    [kept] = tmp_path.glob("*.eml")
    text = kept.read_text()
    assert "Koden er 493027" in text
    assert "brev.pdf" in text
    [record] = caplog.records
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert "kunde@example.dk" in line
    assert "Din kode" in line
    assert kept.name in line
    # Neither the body nor the base64 attachment.
    assert "493027" not in line
    assert "JVBERi" not in line
    assert capsys.readouterr().out == ""


def test_nothing_to_send_writes_nothing(settings, tmp_path):
    settings.DSR_OUTBOX_DIR = str(tmp_path / "outbox")

    assert ConsoleOutboxBackend().send_messages([]) == 0
    assert not (tmp_path / "outbox").exists()
