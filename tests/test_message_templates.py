"""Message templates overridden by a privacy admin: checked before saving, used when sent, reset to the file."""

import re
import threading

import pytest
from django.core import mail
from django.utils import timezone, translation

from dsr import workflow
from dsr.audit import Actor, audit_chain_verify
from dsr.emails import email_receipt
from dsr.message_templates import (
    TemplateConflict,
    TemplateInvalid,
    message_template_check,
    message_template_preview,
    message_template_reset,
    message_template_save,
    message_template_version,
    template_file_text,
    template_slots,
)
from dsr.models import AuditEvent, MessageTemplate, Request
from dsr.verification import verification_confirm_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The checks' messages are asserted in English (the project's default language is Danish)."""
    with translation.override("en"):
        yield


ADMIN = Actor(type="staff", id="7")


def _save(kind: str, language: str, part: str, body: str, *, seen: str = "") -> MessageTemplate | None:
    return message_template_save(kind=kind, language=language, part=part, body=body, seen=seen, actor=ADMIN)


def _submit(language: str, send) -> tuple[Request, list]:
    result, sent = send(
        workflow.request_submit,
        right="access",
        email="ida@example.com",
        name="Ida",
        language=language,
        details={},
        actor=Actor.subject(),
    )
    return result.request, sent


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run a service and return what it returned and the emails it sent (tasks run inline after commit)."""

    def run(service, **kwargs):
        before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            result = service(**kwargs)
        return result, mail.outbox[before:]

    return run


def _html(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


# --- Used when sent ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("da", "Din kode til {{ reference }}", "Skriv koden {{ code }} på siden."),
        ("en", "Your code for {{ reference }}", "Type the code {{ code }} on the page."),
    ],
)
def test_an_override_is_used_in_the_message_sent_in_its_language(send, language, subject, line):
    text = template_file_text("verification", language, "text").replace(
        "{% autoescape off %}", "{% autoescape off %}" + line + "\n", 1
    )
    _save("verification", language, "subject", subject)
    _save("verification", language, "text", text)

    request, sent = _submit(language, send)

    assert sent[0].subject == subject.replace("{{ reference }}", request.reference)
    assert re.search(re.escape(line).replace(re.escape("{{ code }}"), r"\d{6}"), sent[0].body)
    # The HTML part was not overridden: it is still the file's.
    assert ("Bekræft" if language == "da" else "Confirm") in _html(sent[0])
    # The other language still uses its files.
    other = "en" if language == "da" else "da"
    _, sent = _submit(other, send)
    assert sent[0].subject.startswith("Bekræft" if other == "da" else "Confirm")


def test_a_queued_message_is_sent_with_the_template_current_when_it_goes_out(send, django_capture_on_commit_callbacks):
    request, sent = _submit("en", send)
    send(
        verification_confirm_code,
        reference=request.reference,
        code=re.search(r"^\s+(\d{6})\s*$", sent[0].body, re.M).group(1),
    )
    request.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        email_receipt(request)
    _save("receipt", "en", "subject", "Received: {{ reference }}")
    before = len(mail.outbox)
    for callback in queued:
        callback()
    assert [m.subject for m in mail.outbox[before:]] == [f"Received: {request.reference}"]


def test_reset_returns_to_the_file_and_is_audited_without_content(send):
    override = _save("verification", "en", "subject", "Code for {{ reference }}")
    assert message_template_reset(
        kind="verification", language="en", part="subject", seen=message_template_version(override), actor=ADMIN
    )
    assert not MessageTemplate.objects.exists()
    _, sent = _submit("en", send)
    assert sent[0].subject.startswith("Confirm")
    actions = list(AuditEvent.objects.filter(action__startswith="message_template.").values_list("action", "data"))
    where = {"kind": "verification", "language": "en", "part": "subject"}
    assert actions == [("message_template.changed", where), ("message_template.reset", where)]
    assert audit_chain_verify()[1] is None


def test_saving_again_updates_the_override_and_the_default_text_is_not_saved_as_an_override():
    assert _save("receipt", "da", "html", template_file_text("receipt", "da", "html")) is None
    first = _save("receipt", "da", "subject", "Modtaget {{ reference }}")
    second = _save("receipt", "da", "subject", "Vi har fået {{ reference }}", seen=message_template_version(first))
    assert second.pk == first.pk
    assert MessageTemplate.objects.get().body == "Vi har fået {{ reference }}"
    assert AuditEvent.objects.filter(action="message_template.changed").count() == 2


def test_a_save_from_a_form_drawn_before_a_colleagues_change_changes_nothing():
    _save("receipt", "en", "subject", "First {{ reference }}")
    # The form was drawn while the file was in use (seen=""): a replayed or stale post.
    with pytest.raises(TemplateConflict):
        _save("receipt", "en", "subject", "Second {{ reference }}", seen="")
    with pytest.raises(TemplateConflict):
        message_template_reset(kind="receipt", language="en", part="subject", seen="", actor=ADMIN)
    assert MessageTemplate.objects.get().body == "First {{ reference }}"
    assert AuditEvent.objects.filter(action__startswith="message_template.").count() == 1


# --- Refused before saving ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("Hello\n{% if reference %}{{ reference }}", r"Line 2: Unclosed tag on line 2: 'if'"),
        ("Hello {{ reference|nosuchfilter }}", r"Line 1: Invalid filter: 'nosuchfilter'"),
        (
            "Hello {{ customer_number }}",
            r"Line 1: unknown variable customer_number: the receipt message has .*reference",
        ),
        # A branch the sample does not take is checked too.
        (
            "{% if request.name == 'x' %}{{ request.assignee.password }}{% endif %}",
            r"unknown variable request\.assignee",
        ),
        ("{% with r=request %}{{ r.assignee }}{% endwith %}", r"unknown variable request\.assignee"),
        ("{% for item in request.details.corrections %}{{ item.secret }}{% endfor %}", r"unknown variable .*\.secret"),
        ("{% load static %}{% static 'x.css' %}", r"'static' is not a registered tag library"),
        ("{% debug %}", r"Invalid block tag on line 1: 'debug'"),
        ('{% include "dsr/staff/base.html" %}', r"only use templates under dsr/emails/"),
        ('{% include "dsr/emails/../staff/base.html" %}', r"only use templates under dsr/emails/"),
        ('{% extends "admin/base.html" %}', r"only use templates under dsr/emails/"),
    ],
)
def test_an_invalid_override_is_refused_with_the_problem_and_nothing_changes(body, problem):
    with pytest.raises(TemplateInvalid) as refused:
        _save("receipt", "en", "text", body)
    assert any(re.search(problem, p) for p in refused.value.problems), refused.value.problems
    assert not MessageTemplate.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_variable_of_another_message_is_refused():
    with pytest.raises(TemplateInvalid, match="unknown variable code"):
        message_template_check(kind="receipt", language="da", part="text", body="{{ code }}")
    assert message_template_check(kind="verification", language="da", part="text", body="{{ code }}") == "493027"


@pytest.mark.parametrize("body", ["", "   ", "Line one {{ reference }}\nline two"])
def test_a_subject_must_be_one_line_that_is_not_empty(body):
    with pytest.raises(TemplateInvalid, match="exactly one line"):
        _save("receipt", "en", "subject", body)
    assert not MessageTemplate.objects.exists()


def test_only_parts_that_exist_as_files_can_be_overridden():
    with pytest.raises(TemplateInvalid, match="There is no"):
        _save("nosuchkind", "en", "subject", "Hello")
    with pytest.raises(TemplateInvalid, match="There is no"):
        _save("receipt", "de", "subject", "Hallo")


# --- The files themselves and the preview --------------------------------------------------


@pytest.mark.parametrize(("kind", "language", "part"), template_slots())
def test_every_file_template_passes_the_check_an_override_must_pass(kind, language, part):
    """If this fails for a new kind, add the variables it uses to the sample in dsr/message_templates.py."""
    message_template_check(kind=kind, language=language, part=part, body=template_file_text(kind, language, part))


def test_every_message_has_subject_text_and_html_in_danish_and_english():
    slots = set(template_slots())
    kinds = {kind for kind, _, _ in slots}
    assert {"verification", "receipt", "refused", "deadline_reminder"} <= kinds
    assert slots == {
        (kind, language, part) for kind in kinds for language in ("da", "en") for part in ("subject", "text", "html")
    }


def test_the_preview_renders_the_edited_part_with_the_others_as_they_are():
    _save("refused", "da", "subject", "Afslag på {{ reference }}")
    preview = message_template_preview(
        kind="refused",
        language="da",
        part="html",
        body='{% extends "dsr/emails/_layout.html" %}{% block content %}<p>Afslag: {{ reasons }}</p>{% endblock %}',
    )
    assert preview.subject == "Afslag på DSR-7K2M-9QXP-4HTV-C3RW"
    assert "<p>Afslag: Vi har søgt i alle vores systemer.</p>" in preview.html
    assert "Madkassen A/S" in preview.html  # the layout, from its file
    assert "Datatilsynet" in preview.text  # the text part, from its file
    assert MessageTemplate.objects.count() == 1  # a preview saves nothing


@pytest.mark.django_db(transaction=True)
def test_two_first_saves_at_once_keep_one_and_tell_the_other():
    """A colleague's first save is in flight (uncommitted) when ours starts: ours waits, then changes nothing."""
    from django.db import connection, transaction

    inserted, release = threading.Event(), threading.Event()

    def colleague() -> None:
        try:
            with transaction.atomic():
                MessageTemplate.objects.create(
                    kind="receipt",
                    language="en",
                    part="subject",
                    body="Theirs {{ reference }}",
                    updated_at=timezone.now(),
                )
                inserted.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=colleague)
    thread.start()
    assert inserted.wait(timeout=10)
    # Ours blocks on the colleague's row (PostgreSQL: the unique index; SQLite: the write lock) until it commits.
    threading.Timer(0.5, release.set).start()
    with pytest.raises(TemplateConflict):
        _save("receipt", "en", "subject", "Ours {{ reference }}")
    thread.join(timeout=10)
    assert MessageTemplate.objects.get().body == "Theirs {{ reference }}"
    assert not AuditEvent.objects.exists()
