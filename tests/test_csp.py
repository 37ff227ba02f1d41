"""dsr.csp: every page carries a policy that names no other origin; files are left alone."""

import pytest

from dsr.csp import POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/request/access/", "/status/", "/accounts/login/"])
def test_every_page_carries_a_policy_with_no_other_origin(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert policy == POLICY
    assert "http" not in policy
    assert "'unsafe-inline'" not in policy
    assert "script-src 'self'" in policy


@pytest.mark.django_db
def test_the_api_docs_page_loads_swagger_ui_from_our_static_files(admin_client):
    html = admin_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # the start-up script is a file of its own


@pytest.mark.django_db
def test_a_non_html_answer_gets_no_policy(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert "Content-Security-Policy" not in response
