"""A request imported from the old spreadsheet says so on its page, in the staff member's language."""

import pytest

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Request

pytestmark = pytest.mark.django_db


def test_the_request_page_says_the_request_was_imported_and_what_is_not_known(agent_client):
    row = {
        "right": "erasure",
        "email": "gammel@example.dk",
        "received": "2026-02-02",
        "closed": "2026-02-20",
        "outcome": "completed",
        "extended_until": "2026-04-02",
        "their_reference": "2026-004",
    }
    workflow.requests_import([row], actor=Actor.system())
    request = Request.objects.get()

    page = agent_client.get(f"/dashboard/requests/{request.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "handled before dsr and imported from a spreadsheet" in text
    assert "not recorded in the import" in text
    assert "a step up is required" not in text
    assert "2026-004" in text
    assert "received 02/02/2026, answered 02/20/2026" in text
    # No extension was notified through dsr: the page does not say when.
    assert "notified" not in text

    danish = agent_client.get(f"/dashboard/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "behandlet før dsr og importeret fra et regneark" in danish
    assert "modtaget 02.02.2026, besvaret 20.02.2026" in danish
