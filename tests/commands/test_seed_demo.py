"""`dsr_seed_demo`: the demo company, a staff login and requests in several states; safe to run again."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dsr.models import Request, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_seeding_refuses_to_run_with_debug_off(settings, var_dir):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("dsr_seed_demo")
    assert not Request.objects.exists()


@pytest.mark.urls("tests.demo.urls")
def test_seeding_creates_a_login_and_requests_in_several_states_and_can_run_again(
    var_dir, capsys, django_user_model, django_capture_on_commit_callbacks, live_server, settings
):
    # The demo's SaaS vendors answer from the site itself, as under make run (else each call waits out its retries).
    settings.DSR_BASE_URL = live_server.url
    # The work the seed starts runs inline, as make run's worker does it.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("dsr_seed_demo", force=True, customers=40)
    first = capsys.readouterr().out
    statuses = set(Request.objects.values_list("status", flat=True))
    assert {
        Status.PENDING_VERIFICATION,
        Status.AWAITING_APPROVAL,
        Status.AWAITING_SUBJECT,
        Status.COMPLETED,
        Status.REFUSED,
    } <= statuses
    assert Request.objects.filter(extended_due_date__isnull=False).exists()
    # Danish and Swedish customers under the GDPR, one Californian under the CCPA (docs/jurisdictions.md).
    assert set(Request.objects.values_list("jurisdiction", flat=True)) == {"dk", "se", "us-ca"}
    # Nothing is completed by fiat: each completed request was carried out in the demo's sources, and its
    # letter says what they did. The year of history is imported, and says so on every one of its requests.
    for completed in Request.objects.filter(status=Status.COMPLETED, imported_at__isnull=True):
        assert completed.plan.outcome["summary"]["found"]
    imported = Request.objects.filter(imported_at__isnull=False)
    assert imported.count() > 60
    assert not imported.filter(plan__isnull=False).exists()
    assert "past requests imported, as from a spreadsheet" in first
    password = (var_dir / "demo-login.txt").read_text().strip()
    assert f"privacy / {password}" in first
    user = django_user_model.objects.get(username="privacy")
    assert user.is_staff
    assert user.check_password(password)

    count = Request.objects.count()
    call_command("dsr_seed_demo", force=True, customers=40)
    again = capsys.readouterr().out
    assert Request.objects.count() == count
    assert f"privacy / {password}" in again


def test_seeding_again_keeps_what_the_requests_did_in_the_shop_until_reset(var_dir, capsys):
    import sqlite3
    from contextlib import closing

    call_command("dsr_seed_demo", force=True, customers=40)
    shop = var_dir / "demo" / "shop.sqlite3"
    with closing(sqlite3.connect(shop)) as conn, conn:
        erased = conn.execute("SELECT id, email FROM customer ORDER BY id LIMIT 1").fetchone()
        # What an erasure left: the customer row anonymised.
        conn.execute("UPDATE customer SET email = 'erased-1@invalid', first_name = '' WHERE id = ?", (erased[0],))
    capsys.readouterr()

    call_command("dsr_seed_demo", force=True, customers=40)
    kept = capsys.readouterr().out
    with closing(sqlite3.connect(shop)) as conn:
        after_rerun = conn.execute("SELECT email FROM customer WHERE id = ?", (erased[0],)).fetchone()[0]
    call_command("dsr_seed_demo", force=True, customers=40, reset=True)
    rebuilt = capsys.readouterr().out
    with closing(sqlite3.connect(shop)) as conn:
        after_reset = conn.execute("SELECT email FROM customer WHERE id = ?", (erased[0],)).fetchone()[0]

    assert after_rerun == "erased-1@invalid"
    assert "kept as it was (dsr_seed_demo --reset builds it anew)" in kept
    assert after_reset == erased[1]
    assert ", built;" in rebuilt
