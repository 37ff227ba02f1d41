"""A privacy admin loads a new version of the data map file in admin; an invalid file changes nothing."""

import pytest
import yaml
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from dsr.models import AuditEvent, DataMapVersion, Source
from tests.datamap.hostile import HOSTILE, PEAK_LIMIT_BYTES, peak_of
from tests.sources.maps import BASE_MAP, CHAT_SOURCE
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db
UPLOAD = "/admin/dsr/datamapversion/upload/"


def _file(document: dict, name: str = "datamap.yaml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, yaml.safe_dump(document, allow_unicode=True).encode(), "text/yaml")


def _valid() -> dict:
    return {**BASE_MAP, "sources": {"chats": CHAT_SOURCE}}


def _shown(response) -> list[str]:
    return [str(m.message) for m in get_messages(response.wsgi_request)]


def test_a_privacy_admin_loads_a_data_map_file_and_it_becomes_active(privacy_admin):
    client = verified_client(privacy_admin)
    assert 'href="/admin/dsr/datamapversion/upload/"' in client.get("/admin/dsr/datamapversion/").text

    response = client.post(UPLOAD, {"file": _file(_valid())})

    assert response.status_code == 302
    version = DataMapVersion.objects.get(active=True)
    assert (version.loaded_by, version.source_path) == (privacy_admin.username, "datamap.yaml")
    assert list(Source.objects.filter(version=version).values_list("key", flat=True)) == ["chats"]
    assert _shown(response)[0].startswith("Loaded datamap.yaml: it is now the active data map")
    event = AuditEvent.objects.get(action="datamap.loaded")
    assert event.data == {"version": version.pk, "sha256": version.sha256}
    assert event.actor_id == str(privacy_admin.pk)

    again = client.post(UPLOAD, {"file": _file(_valid())})
    assert "already the active data map" in _shown(again)[-1]
    assert DataMapVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="datamap.loaded").count() == 1


def test_an_invalid_file_lists_every_problem_and_changes_nothing(privacy_admin):
    client = verified_client(privacy_admin)
    client.post(UPLOAD, {"file": _file(_valid())})
    broken = {**_valid(), "sources": {"chats": {**CHAT_SOURCE, "kind": "carrier_pigeon", "purposes": ["nothing"]}}}

    response = client.post(UPLOAD, {"file": _file(broken)})

    assert response.status_code == 200
    errors = response.text.split('<ul class="errorlist" id="errors">', 1)[1].split("</ul>", 1)[0]
    assert "carrier_pigeon" in errors
    assert "nothing" in errors
    assert DataMapVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="datamap.loaded").count() == 1


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({}, "Choose the data map file"),
        ({"file": SimpleUploadedFile("map.yaml", b"\xff\xfe not text")}, "not UTF-8"),
        ({"file": SimpleUploadedFile("map.yaml", b"a: [")}, "line 1, column 5: not valid YAML"),
    ],
)
def test_a_missing_or_unreadable_file_is_refused_clearly(privacy_admin, form, problem):
    response = verified_client(privacy_admin).post(UPLOAD, form)
    assert response.status_code == 200
    assert '<ul class="errorlist" id="errors">' in response.text
    assert problem in response.text
    assert not DataMapVersion.objects.exists()


def test_check_only_validates_and_loads_nothing(privacy_admin):
    response = verified_client(privacy_admin).post(UPLOAD, {"file": _file(_valid()), "check_only": "1"})
    assert _shown(response) == ["datamap.yaml is valid: 1 source; nothing was loaded."]
    assert not DataMapVersion.objects.exists()


@pytest.mark.parametrize("role", ["agent", "auditor"])
def test_agents_and_auditors_cannot_load_a_data_map_and_a_try_is_audited(request, role):
    user = request.getfixturevalue(role)
    client = verified_client(user)
    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"file": _file(_valid())}).status_code == 403
    assert not DataMapVersion.objects.exists()
    denied = AuditEvent.objects.get(action="staff.denied")
    assert (denied.actor_id, denied.data) == (str(user.pk), {"attempted": "datamap.load"})


@pytest.mark.parametrize("name", ["alias bomb", "too many aliases", "deep nesting", "duplicate key"])
def test_a_hostile_file_is_refused_naming_the_line_with_bounded_memory_and_changes_nothing(privacy_admin, name):
    client = verified_client(privacy_admin)
    client.post(UPLOAD, {"file": _file(_valid())})
    events = AuditEvent.objects.count()
    text, problem = HOSTILE[name]

    responses = []
    raised, peak = peak_of(
        lambda: responses.append(
            client.post(UPLOAD, {"file": SimpleUploadedFile("map.yaml", text.encode(), "text/yaml")})
        )
    )
    assert raised is None
    response = responses[0]

    assert response.status_code == 200
    errors = response.text.split('<ul class="errorlist" id="errors">', 1)[1].split("</ul>", 1)[0]
    assert problem.replace("'", "&#x27;") in errors
    assert peak < PEAK_LIMIT_BYTES * 4  # the whole admin request, templates included
    assert DataMapVersion.objects.count() == 1
    assert AuditEvent.objects.count() == events
