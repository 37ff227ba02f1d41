"""Configuration in Django admin for privacy admins: sources' "test connection" action, and who gets in."""

import pytest
import yaml
from django.contrib.messages import get_messages

from dsr.datamap.loading import datamap_load
from dsr.models import Source
from tests.sources.maps import BASE_MAP, CHAT_SOURCE, chinook_source
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(db, tmp_path):
    missing = chinook_source(f"sqlite:///{tmp_path / 'gone' / 'chinook.sqlite'}", "pascal")
    text = yaml.safe_dump(
        {**BASE_MAP, "sources": {"chats": CHAT_SOURCE, "music": missing}}, allow_unicode=True, sort_keys=False
    )
    datamap_load(text=text, loaded_by="test")
    return {source.key: source for source in Source.objects.all()}


def test_a_privacy_admin_tests_the_connection_of_sources_from_admin(privacy_admin, sources):
    client = verified_client(privacy_admin)
    response = client.post(
        "/admin/dsr/source/",
        {"action": "connection_test", "_selected_action": [sources["chats"].pk, sources["music"].pk]},
    )
    assert response.status_code == 302
    shown = {str(m.message): m.level_tag for m in get_messages(response.wsgi_request)}
    assert shown["chats: connection OK"] == "success"
    music = next(text for text in shown if text.startswith("music:"))
    assert shown[music] == "error"


def test_agents_and_auditors_have_no_configuration_pages(agent_client, auditor_client, sources):
    assert agent_client.get("/admin/dsr/source/").status_code == 403
    assert auditor_client.get("/admin/dsr/source/").status_code == 403
    assert auditor_client.get("/admin/auth/user/").status_code == 403


def test_a_privacy_admin_manages_users_and_roles(privacy_admin):
    client = verified_client(privacy_admin)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200
