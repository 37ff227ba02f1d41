"""The data map in Django admin: read-only pages in both languages, with each source's record groups."""

import pytest
import yaml
from django.contrib.auth.models import User

from dsr.datamap.loading import datamap_load
from dsr.models import LegalHold, Recipient, Source
from tests.datamap.conftest import PAYMENTS_MAP
from tests.sources.maps import BASE_MAP, CHAT_SOURCE

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


def test_admin_lists_laws_and_source_names_in_both_languages(admin_client, demo_text):
    datamap_load(text=demo_text, loaded_by="x")
    holds = admin_client.get("/admin/dsr/legalhold/").content.decode()
    assert "Bogføringsloven § 10" in holds
    assert "Danish Bookkeeping Act (Bogføringsloven) § 10" in holds
    sources = admin_client.get("/admin/dsr/source/").content.decode()
    assert "Webshop og kundekonti" in sources
    assert "Web shop and customer accounts" in sources


def test_a_sources_page_shows_what_each_record_group_serves(admin_client, described_kind):
    datamap_load(text=yaml.safe_dump(PAYMENTS_MAP, allow_unicode=True), loaded_by="x")
    shop = Source.objects.get(key="shop")
    page = admin_client.get(f"/admin/dsr/source/{shop.pk}/change/").content.decode()
    assert "<td>card</td><td>card_payment </td><td>card_processor, invoice_processor (kildens)</td>" in page
    assert "<td>consent</td>" in page


def test_a_source_worked_by_hand_has_one_group_serving_the_sources_purposes(admin_client):
    text = yaml.safe_dump({**BASE_MAP, "sources": {"chats": CHAT_SOURCE}}, allow_unicode=True, sort_keys=False)
    datamap_load(text=text, loaded_by="x")
    chats = Source.objects.get(key="chats")
    page = admin_client.get(f"/admin/dsr/source/{chats.pk}/change/").content.decode()
    assert "<td>task</td>" in page
    assert "(kildens)" in page


def test_a_recipients_page_shows_which_groups_it_receives_from(admin_client, described_kind):
    datamap_load(text=yaml.safe_dump(PAYMENTS_MAP, allow_unicode=True), loaded_by="x")
    card_processor = Recipient.objects.get(key="card_processor")
    page = admin_client.get(f"/admin/dsr/recipient/{card_processor.pk}/change/").content.decode()
    assert "<li>shop.card: financial</li>" in page
    assert "shop.customer" not in page
    ad_platform = Recipient.objects.get(key="ad_platform")
    page = admin_client.get(f"/admin/dsr/recipient/{ad_platform.pk}/change/").content.decode()
    assert "<li>shop.customer: contact</li>" in page


def test_a_legal_holds_page_shows_the_law_in_both_languages(admin_client, demo_text):
    datamap_load(text=demo_text, loaded_by="x")
    hold = LegalHold.objects.get(key="consent_evidence")
    page = admin_client.get(f"/admin/dsr/legalhold/{hold.pk}/change/").content.decode()
    assert "forældelsesloven § 3 (3 års forældelsesfrist)" in page
    assert "Danish Limitation Act (Forældelsesloven) § 3" in page
