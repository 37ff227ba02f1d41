"""Message templates in Django admin: privacy admins edit, preview and reset; agents and auditors cannot."""

import html
import re

import pytest
from django.contrib.messages import get_messages

from dsr.audit import Actor, audit_record
from dsr.message_templates import message_template_version, template_file_text, template_slots
from dsr.models import AuditEvent, MessageTemplate
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db
LIST = "/admin/dsr/messagetemplate/"
SUBJECT = "/admin/dsr/messagetemplate/receipt/en/subject/"


@pytest.fixture
def admin_client(privacy_admin):
    return verified_client(privacy_admin)


def _textarea(response) -> str:
    return html.unescape(re.search(r'<textarea id="id_body"[^>]*>(.*?)</textarea>', response.text, re.S).group(1))


def _seen(response) -> str:
    return re.search(r'name="seen" value="([^"]*)"', response.text).group(1)


def _shown(response) -> dict[str, str]:
    return {str(m.message): m.level_tag for m in get_messages(response.wsgi_request)}


def test_the_list_shows_every_file_template_and_which_are_edited(admin_client, privacy_admin):
    admin_client.post(SUBJECT, {"action": "save", "body": "Got {{ reference }}", "seen": ""})
    response = admin_client.get(LIST)
    assert response.status_code == 200
    links = set(re.findall(r'href="/admin/dsr/messagetemplate/([a-z_]+/[a-z]{2}/[a-z]+)/"', response.text))
    assert links == {f"{kind}/{language}/{part}" for kind, language, part in template_slots()}
    assert response.text.count("Default (file)") == len(template_slots()) - 1
    assert f"Edited: {privacy_admin.username}" in response.text
    for index in ("/admin/", "/admin/dsr/"):
        assert f'href="{LIST}"' in admin_client.get(index).text


def test_a_part_starts_from_the_files_text_and_a_save_replaces_it(admin_client, privacy_admin):
    page = admin_client.get(SUBJECT)
    assert page.status_code == 200
    assert _textarea(page) == template_file_text("receipt", "en", "subject")
    assert _seen(page) == ""

    response = admin_client.post(SUBJECT, {"action": "save", "body": "Got {{ reference }}\r\n", "seen": ""})

    assert response.status_code == 302
    assert _shown(response) == {"Saved. Messages sent from now on use this text.": "success"}
    override = MessageTemplate.objects.get()
    assert (override.kind, override.language, override.part) == ("receipt", "en", "subject")
    assert override.body == "Got {{ reference }}\n"
    assert override.updated_by == privacy_admin
    event = AuditEvent.objects.get(action="message_template.changed")
    assert event.actor_id == str(privacy_admin.pk)
    assert event.data == {"kind": "receipt", "language": "en", "part": "subject"}
    page = admin_client.get(SUBJECT)
    assert _textarea(page) == "Got {{ reference }}\n"
    assert _seen(page) == message_template_version(override)


def test_an_invalid_template_is_shown_with_its_problem_and_nothing_is_saved(admin_client):
    response = admin_client.post(SUBJECT, {"action": "save", "body": "Got {{ reference }\n{% if %}", "seen": ""})
    assert response.status_code == 200
    problems = re.search(r'<ul class="errorlist" id="problems">(.*?)</ul>', response.text, re.S).group(1)
    assert "Line 2: Unexpected end of expression in if tag." in problems
    assert _textarea(response) == "Got {{ reference }\n{% if %}"  # the admin's text is kept to correct
    assert not MessageTemplate.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_preview_shows_subject_text_and_html_in_a_sandboxed_frame(admin_client):
    body = (
        '{% extends "dsr/emails/_layout.html" %}{% block content %}<p>Hi "{{ request.name }}"</p>'
        "<script>parent.document.title='x'</script>{% endblock %}"
    )
    url = "/admin/dsr/messagetemplate/receipt/da/html/"
    response = admin_client.post(url, {"action": "preview", "body": body, "seen": ""})
    assert response.status_code == 200
    assert "We have received" not in response.text
    assert "Vi har modtaget din anmodning DSR-7K2M-9QXP-4HTV-C3RW" in response.text  # subject, from the file
    frame = re.search(r'<iframe [^>]*sandbox="" srcdoc="([^"]*)"', response.text).group(1)
    assert '<p>Hi "Ida Jensen"</p><script>' in html.unescape(frame)
    # Escaped into the attribute, never markup of the admin page itself.
    assert "<p>Hi" not in response.text
    assert "<script>parent" not in response.text
    assert not MessageTemplate.objects.exists()


def test_reset_returns_to_the_file(admin_client):
    admin_client.post(SUBJECT, {"action": "save", "body": "Got {{ reference }}", "seen": ""})
    page = admin_client.get(SUBJECT)
    assert "Reset to default" in page.text
    response = admin_client.post(SUBJECT, {"action": "reset", "body": "", "seen": _seen(page)})
    assert _shown(response) == {"Reset: the default text is used again.": "success"}
    assert not MessageTemplate.objects.exists()
    assert _textarea(admin_client.get(SUBJECT)) == template_file_text("receipt", "en", "subject")
    assert AuditEvent.objects.filter(action="message_template.reset").count() == 1


def test_a_replayed_save_changes_nothing_and_says_why(admin_client):
    form = {"action": "save", "body": "Got {{ reference }}", "seen": ""}
    admin_client.post(SUBJECT, form)
    replay = admin_client.post(SUBJECT, {**form, "body": "Other {{ reference }}"})
    assert _shown(replay)["This template was changed after you opened it; nothing was saved."] == "error"
    assert MessageTemplate.objects.get().body == "Got {{ reference }}"
    assert AuditEvent.objects.filter(action="message_template.changed").count() == 1


def test_a_form_without_its_csrf_token_is_refused(privacy_admin):
    client = verified_client(privacy_admin)
    client.handler.enforce_csrf_checks = True
    response = client.post(SUBJECT, {"action": "save", "body": "Got {{ reference }}", "seen": ""})
    assert response.status_code == 403
    assert not MessageTemplate.objects.exists()


def test_an_unknown_part_is_not_found(admin_client):
    assert admin_client.get("/admin/dsr/messagetemplate/receipt/de/subject/").status_code == 404
    assert admin_client.get("/admin/dsr/messagetemplate/receipt/en/footer/").status_code == 404


@pytest.mark.parametrize("role", ["agent", "auditor"])
def test_agents_and_auditors_cannot_see_or_change_templates_and_a_try_is_audited(request, role):
    user = request.getfixturevalue(role)
    client = verified_client(user)
    assert client.get(LIST).status_code == 403
    assert client.get(SUBJECT).status_code == 403
    response = client.post(SUBJECT, {"action": "save", "body": "Got {{ reference }}", "seen": ""})
    assert response.status_code == 403
    assert not MessageTemplate.objects.exists()
    denied = AuditEvent.objects.get(action="staff.denied")
    assert (denied.actor_id, denied.data) == (str(user.pk), {"attempted": "message_template.change"})


def test_an_agent_cannot_reset_an_override(agent, privacy_admin):
    verified_client(privacy_admin).post(SUBJECT, {"action": "save", "body": "Got {{ reference }}", "seen": ""})
    seen = message_template_version(MessageTemplate.objects.get())
    response = verified_client(agent).post(SUBJECT, {"action": "reset", "seen": seen})
    assert response.status_code == 403
    assert MessageTemplate.objects.exists()
    assert AuditEvent.objects.filter(action="staff.denied", data__attempted="message_template.reset").exists()


def test_the_audit_trail_cannot_be_edited_or_deleted_in_admin_even_by_a_privacy_admin(admin_client):
    event = audit_record(actor=Actor.system(), action="reminders.sent")
    change = f"/admin/dsr/auditevent/{event.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200  # visible, read-only
    assert 'name="_save"' not in page.text
    assert admin_client.post(change, {"action": "x"}).status_code == 403
    assert admin_client.post(f"/admin/dsr/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = admin_client.post("/admin/dsr/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk]})
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk, action="reminders.sent").exists()
