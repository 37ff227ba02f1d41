"""The vendor stand-ins of dsr/demo/vendors, served on a local port, and `saas` connectors pointed at them."""

import pytest

from dsr.demo.vendors.base import serve
from dsr.demo.vendors.genesys_cloud import GenesysCloudFake
from dsr.demo.vendors.mailchimp import MailchimpFake
from dsr.demo.vendors.stripe import StripeFake
from dsr.demo.vendors.zendesk import ZendeskFake
from dsr.sources.saas.connector import SaasConnector
from tests.sources.maps import map_build

EMAIL = "Mette.Hansen@Example.dk "
METTE = {"email": {EMAIL}}
OTHER = "other@example.dk"


def saas_connector(
    system: str, url: str, *, key: str = "vendor", sources: dict | None = None, **config
) -> SaasConnector:
    """Return the connector of a `saas` source for ``system`` at ``url``, with fast retries for the tests."""
    source = {
        "name": f"{system} (test)",
        "kind": "saas",
        "purposes": ["account"],
        "origin": {"da": "Fra os", "en": "From us"},
        "provided_by_subject": [],
        "system": system,
        "url": url,
        "retries": 2,
        "backoff_seconds": 0.01,
        "timeout_seconds": 2,
        "rate_limit": {"per_second": 1000},
        **config,
    }
    datamap = map_build({key: source, **(sources or {})})
    return SaasConnector(datamap.sources[key], datamap)


def _served(fake):
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe(request):
    """Serve Stripe's API with Mette (two customers: 120 charges and 2 cards, 1 charge) and another person."""
    fake = StripeFake(mode=getattr(request, "param", "normal"))
    fake.add_customer(
        "cus_mette0001", email="mette.hansen@example.dk", name="Mette Hansen", charges=120, payment_methods=2
    )
    fake.add_customer("cus_mette0002", email="Mette.Hansen@example.dk", name="Mette H.", charges=1)
    fake.add_customer("cus_other0001", email=OTHER, name="Other Person", charges=3, payment_methods=1)
    yield from _served(fake)


@pytest.fixture
def genesys(request):
    """Serve Genesys Cloud's token endpoint and GDPR API with Mette (5 interactions) and another contact."""
    fake = GenesysCloudFake(mode=getattr(request, "param", "normal"))
    fake.add_contact(
        "ext-mette", name="Mette Hansen", email="mette.hansen@example.dk", phone="+4512345678", interactions=5
    )
    fake.add_contact("ext-other", name="Other Person", email=OTHER, phone="+4587654321", interactions=2)
    yield from _served(fake)


@pytest.fixture
def mailchimp(request):
    """Serve Mailchimp's API with Mette in two audiences (1,500 activities and 2 notes in one) and another member."""
    fake = MailchimpFake(mode=getattr(request, "param", "normal"))
    fake.add_member("mette.hansen@example.dk", name="Mette Hansen", activity=1500, notes=2)
    fake.add_member("Mette.Hansen@example.dk", name="Mette Hansen", activity=3, list_id="f6e5d4c3b2")
    fake.add_member(OTHER, name="Other Person", activity=4, notes=1)
    yield from _served(fake)


@pytest.fixture
def zendesk(request):
    """Serve Zendesk's API with Mette (two users: 130 tickets, 1 ticket) and another user with 2 tickets."""
    fake = ZendeskFake(mode=getattr(request, "param", "normal"))
    fake.add_user(101, name="Mette Hansen", email="mette.hansen@example.dk", tickets=130)
    fake.add_user(102, name="Mette H.", email="Mette.Hansen@example.dk", tickets=1)
    fake.add_user(201, name="Other Person", email=OTHER, tickets=2)
    yield from _served(fake)
