"""The data map in Django admin: read-only pages."""

import pytest
from django.contrib.auth.models import User

from dsr.datamap.loading import datamap_load

# The staff and public sites are being rebuilt; the admin pages are tested on their own.
pytestmark = pytest.mark.urls("tests.datamap.urls")


@pytest.fixture
def admin_client(db, client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "a-long-password-123"))
    return client


def test_admin_shows_the_map_and_its_history_read_only(admin_client, demo_text):
    version = datamap_load(text=demo_text, loaded_by="x")
    page = admin_client.get(f"/admin/dsr/datamapversion/{version.pk}/change/")
    assert page.status_code == 200
    assert "Madkassen Demo ApS" in page.content.decode()
    assert "Newsletter" in admin_client.get("/admin/dsr/purpose/").content.decode()
    assert admin_client.get("/admin/dsr/purpose/add/").status_code == 403
