"""With a real worker: the access answer lists the person's earlier requests, and the purge forgets them.

Pedalen (tests/e2e/truth_company.py): Mette erases her data (the smart-lock
partner is asked by the SHA-256 of her email, the workshop by hand), Jonas asks
for his; Mette's access answer, in Danish and in English, lists her erasure
and not Jonas's request. After the purge run by the worker, no row of dsr's
records holds Mette's email, her number or the hash the partner was asked by,
her stored files are gone, and her next answer no longer lists the erasure.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from dsr import tasks
from dsr.models import Request, Status
from dsr.suppression import suppression_check
from tests.e2e.test_truthful_outcomes import (  # noqa: F401  (the fixtures, reused)
    answer,
    company,
    erasure_run,
    file,
    reach,
    tasks_complete,
    team,
    worker,
)
from tests.e2e.test_worker_jobs import engine_env  # noqa: F401  (the fixture, reused)
from tests.e2e.truth_company import JONAS, METTE
from tests.exports.helpers import bundle_read
from tests.sources.http.processor import processor  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.e2e


def _access(email: str, language: str, team, wait_until) -> Request:
    request = file("access", email, language=language)
    tasks_complete(request, "nothing_found", team, wait_until, source="workshop")
    reach(request, Status.COMPLETED, wait_until)
    return request


def _records_holding(*needles: str) -> set[str]:
    """Return the dsr models with a row that holds any of ``needles``."""
    found = set()
    for model in apps.get_app_config("dsr").get_models():
        if model._meta.model_name in ("datamapversion", "source", "recipient", "purpose", "datacategory", "legalhold"):
            continue  # the data map names no requester
        for row in model._base_manager.all():
            values = {f.name: f.value_from_object(row) for f in model._meta.get_fields() if f.concrete}
            text = json.dumps(values, default=str, ensure_ascii=False).lower()
            if any(needle.lower() in text for needle in needles):
                found.add(model.__name__)
    return found


@pytest.mark.parametrize(
    ("language", "heading", "right", "outcome"),
    [
        ("da", "Dine anmodninger til os", "Sletning (art. 17)", "Afsluttet"),
        ("en", "Your requests to us", "Erasure (Art. 17)", "Completed"),
    ],
)
def test_the_answer_lists_the_persons_requests_until_the_purge_forgets_them(
    worker, company, team, wait_until, settings, language, heading, right, outcome
):
    erasure = file("erasure", METTE.email, language=language, customer_number=METTE.member_no)
    erasure_run(erasure, team, wait_until)
    jonas = _access(JONAS.email, language, team, wait_until)

    first = _access(METTE.email, language, team, wait_until)
    overview, report = answer(first)
    for text in (overview, report):
        assert heading in text
        assert erasure.reference in text.replace(" ", "")
        assert jonas.reference not in text.replace(" ", "")
    assert right in overview
    assert outcome in overview
    listed = json.loads(bundle_read(first.bundles.get()).files["requests.json"])
    assert [entry["reference"] for entry in listed] == [erasure.reference, first.reference]

    # The purge runs in the worker, as beat would run it, once the requests have been closed long enough.
    hashed = hashlib.sha256(METTE.email.encode()).hexdigest()
    assert _records_holding(METTE.email), "the requests left nothing to purge"
    # The worker keeps the default retention period; these two closed longer ago than that.
    long_ago = timezone.now() - timedelta(days=settings.DSR_RECORD_RETENTION_DAYS + 1)
    Request.objects.filter(pk__in=[erasure.pk, first.pk]).update(closed_at=long_ago)
    tasks.requests_purge_closed.delay()
    wait_until(
        lambda: not Request.objects.filter(pk__in=[erasure.pk, first.pk], purged_at__isnull=True).exists(),
        timeout=60,
        what="the purge",
    )

    assert _records_holding(METTE.email, hashed, METTE.member_no, METTE.phone) == set()
    # The suppression list still keeps her out of the next import, by its keyed hash alone.
    assert suppression_check(METTE.email)
    for bundle in first.bundles.all():
        assert bundle.status == "purged"

    second = _access(METTE.email, language, team, wait_until)
    listed = json.loads(bundle_read(second.bundles.get()).files["requests.json"])
    assert [entry["reference"] for entry in listed] == [second.reference]
