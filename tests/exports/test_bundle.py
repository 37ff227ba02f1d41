"""The export bundle, built by the engine and checked row for row against the sources it came from."""

import sqlite3
from contextlib import closing
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dsr.engine.manual import manual_task_complete
from dsr.models import AuditEvent, BundleKind, BundleStatus, ManualTask, Message, Operation, Status
from tests.exports.helpers import bundle_read, pdf_text
from tests.rights.conftest import PERSON
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def _rows(path, sql: str, *params) -> list[dict]:
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


def _as_text(value) -> str:
    return "" if value is None else str(value)


def _same(got, want) -> bool:
    """Return whether an exported value is the source's value: dates in ISO 8601, numbers exactly."""
    if _as_text(got) == _as_text(want):
        return True
    if isinstance(want, str) and isinstance(got, str):
        try:
            return datetime.fromisoformat(got) == datetime.fromisoformat(want)
        except ValueError:
            return False
    if isinstance(want, int | float) and not isinstance(want, bool):
        return Decimal(str(got)) == Decimal(str(want))
    return False


def _row_same(got: dict, want: dict) -> bool:
    return set(got) == set(want) and all(_same(got[key], value) for key, value in want.items())


def _access(file, run, staff, *, upload: bool = True):
    request = file("access")
    if upload:
        task = ManualTask.objects.get(request=request, source_key="chats", operation="access")
        chats = SimpleUploadedFile("chats.json", b'[{"at": "2025-03-01", "text": "Hej, min kasse kom ikke"}]')
        manual_task_complete(task=task, finding="done", attestation="Exported from PureCloud", file=chats, actor=staff)
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    return request


def test_access_bundle_holds_every_row_of_every_source_as_json_and_csv(company, file, run, staff):
    request = _access(file, run, staff)

    assert request.status == Status.COMPLETED
    bundle = request.bundles.get()
    assert bundle.status == BundleStatus.RELEASED
    assert bundle.kind == BundleKind.ACCESS
    opened = bundle_read(bundle)
    assert opened.root == request.reference

    # Chinook, row for row: the person is customer 1 with 7 invoices and their lines.
    customer = _rows(company.chinook, "SELECT * FROM Customer WHERE Email = ?", PERSON)
    invoices = _rows(company.chinook, "SELECT * FROM Invoice WHERE CustomerId = 1 ORDER BY InvoiceId")
    lines = _rows(
        company.chinook,
        "SELECT l.* FROM InvoiceLine l JOIN Invoice i ON i.InvoiceId = l.InvoiceId WHERE i.CustomerId = 1 "
        "ORDER BY l.InvoiceLineId",
    )
    assert len(invoices) == 7
    assert len(lines) == 38
    data = opened.json("data/chinook/Invoice.json")
    assert data["records_count"] == 7
    assert data["categories"]["Total"] == "transaction"
    assert [r["InvoiceId"] for r in data["records"]] == [r["InvoiceId"] for r in invoices]
    for got, row in zip(data["records"], invoices, strict=True):
        assert _row_same(got, row), (got, row)
    for got, row in zip(opened.csv("data/chinook/Invoice.csv"), invoices, strict=True):
        assert _row_same(got, row), (got, row)
    csv_rows = opened.csv("data/chinook/InvoiceLine.csv")
    assert len(csv_rows) == len(lines)
    for got, row in zip(csv_rows, lines, strict=True):
        assert _row_same(got, row), (got, row)
    # Excluded columns stay out: the support representative is an employee.
    (chinook_customer,) = opened.csv("data/chinook/Customer.csv")
    assert "SupportRepId" not in chinook_customer
    assert chinook_customer["Email"] == PERSON == customer[0]["Email"]

    # The shop: the person's orders, and the password hash the map excludes is nowhere.
    orders = _rows(company.shop, "SELECT * FROM orders WHERE customer_id = 1 ORDER BY id")
    assert [int(r["id"]) for r in opened.csv("data/shop/orders.csv")] == [r["id"] for r in orders]
    assert b"password_hash" not in b"".join(opened.files.values())
    # The ad partner's audience entry, and the file the owner of the chats uploaded.
    assert opened.json("data/adpartner/audience.json")["records_count"] == 1
    assert opened.files["files/chats/chats.json"].startswith(b'[{"at"')

    # The overview links every file.
    index = opened.files["index.html"].decode()
    for entry in opened.manifest["files"]:
        if entry["path"] != "index.html":
            assert f'href="{entry["path"]}"' in index, entry["path"]
    assert bundle.records == sum(e.get("records", 0) for e in opened.manifest["files"]) // 2


def test_report_names_recipients_retention_transfers_and_datatilsynet(company, file, run, staff):
    request = _access(file, run, staff)
    opened = bundle_read(request.bundles.get())

    text = pdf_text(opened.files["report.pdf"])
    # CJEU C-154/21: recipients by name, not categories.
    for name in ("Adyen N.V.", "Braintree", "Genesys Cloud Services", "Demo Reklamepartner ApS"):
        assert name in text, name
    # Retention per purpose, the legal hold that keeps invoices, the transfer safeguard, the authority.
    assert "36 months after it is deactivated" in text
    assert "Bookkeeping obligation" in text
    # The law in the report's language (the map gives it in Danish and English).
    assert "Danish Bookkeeping Act (Bogføringsloven) § 10" in text
    assert "Standard contractual clauses" in text
    assert "Datatilsynet" in text
    assert "Carl Jacobsens Vej 35" in text
    assert "33 19 32 00" in text
    assert "Targeted advertising with ad partners" in text  # profiling is described (Art. 15(1)(h))
    assert request.reference in text
    index = opened.files["index.html"].decode()
    assert "Adyen N.V." in index
    assert "Datatilsynet" in index
    assert 'lang="en"' in index


def test_danish_request_gets_a_danish_bundle(company, run, staff):
    from dsr.audit import Actor
    from dsr.models import Request
    from dsr.workflow import request_submit

    result = run(
        request_submit, right="access", email=PERSON, actor=Actor.integration("shop"), language="da", pre_verified=True
    )
    request = Request.objects.get(pk=result.request.pk)
    tasks_finish(request, staff, run)
    opened = bundle_read(request.bundles.get())

    text = pdf_text(opened.files["report.pdf"])
    assert "Hvem der modtager dine oplysninger" in text
    assert "Adyen N.V." in text
    assert "Webshop og kundekonti" in text
    assert "Bogføringsloven § 10" in text
    assert "Danish Bookkeeping Act" not in text
    assert "Du kan klage til tilsynsmyndigheden" in text
    assert "Datatilsynet" in text
    assert 'lang="da"' in opened.files["index.html"].decode()


def test_no_data_found_is_an_answer_with_the_same_rights_and_the_authority(company, run, staff, file):
    request = file("access", email="nobody-here@example.dk")
    tasks_finish(request, staff, run)
    request.refresh_from_db()

    assert request.status == Status.COMPLETED
    opened = bundle_read(request.bundles.get())
    assert not [name for name in opened.files if name.startswith("data/")]
    text = pdf_text(opened.files["report.pdf"])
    assert "We found no data about you" in text
    assert "Web shop and customer accounts" in text  # the systems searched are named, in the report's language
    assert "Datatilsynet" in text
    assert "erase it (Art. 17)" in text
    assert "We found no data about you" in opened.files["index.html"].decode()
    # The answer mentions no file that is not in the ZIP.
    assert "JSON file" not in text
    assert "CSV" not in text
    assert "holds no data files" in text


def test_portability_bundle_is_json_and_csv_of_provided_data_only(company, file, run, staff):
    request = file("portability")
    tasks_finish(request, staff, run)
    request.refresh_from_db()

    bundle = request.bundles.get()
    assert bundle.kind == BundleKind.PORTABILITY
    opened = bundle_read(bundle)
    assert {name.rsplit(".", 1)[-1] for name in opened.files} == {"json", "csv"}
    assert "report.pdf" not in opened.files
    assert "index.html" not in opened.files
    # GDPR Art. 20(1): Chinook's invoices are bookkeeping, not provided by the person.
    assert "data/chinook/Customer.csv" in opened.files
    assert not [name for name in opened.files if name.startswith("data/chinook/Invoice")]
    assert "data/shop/invoice.json" not in opened.files
    assert "data/shop/orders.json" in opened.files


def test_completion_email_carries_a_working_link_and_staging_is_gone(company, file, run, staff, _bundle_storage):  # noqa: PT019
    from django.core import mail

    from dsr.exports.delivery import link_by_token, link_problem

    request = _access(file, run, staff, upload=False)

    # The token exists only in the email that was sent (the stored message keeps no secret after sending).
    assert Message.objects.get(request=request, kind="completed").sealed_context == ""
    (sent,) = [m for m in mail.outbox if m.to == [PERSON] and "/download/" in m.body]
    url = next(word for word in sent.body.split() if "/download/" in word)
    token = url.rstrip("/").rsplit("/", 1)[-1]
    html = sent.alternatives[0][0]
    link = link_by_token(token)
    assert link is not None
    assert link.bundle.request == request
    assert link_problem(link) is None
    assert "Download your data" in html
    assert url in html
    # Only the hash of the token is stored.
    assert token not in str(list(request.bundles.get().links.values()))
    # The staged tables were deleted once the bundle was built; only the sealed bundle remains.
    stored = [p for p in _bundle_storage.rglob("*") if p.is_file()]
    assert [p.relative_to(_bundle_storage).parts[0] for p in stored] == ["bundles"]
    assert b"Invoice" not in stored[0].read_bytes()  # sealed, not a plain ZIP
    assert AuditEvent.objects.filter(request=request, action="bundle.released").count() == 1


def test_with_review_required_staff_release_the_bundle(company, file, run, staff, settings):
    from dsr.exports.delivery import bundle_release

    settings.DSR_BUNDLE_REVIEW = True
    request = _access(file, run, staff, upload=False)

    assert request.status == Status.AWAITING_APPROVAL
    bundle = request.bundles.get()
    assert bundle.status == BundleStatus.REVIEW
    assert not Message.objects.filter(request=request, kind="completed").exists()

    run(bundle_release, bundle=bundle, actor=staff)

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert Message.objects.filter(request=request, kind="completed").count() == 1
    event = AuditEvent.objects.get(request=request, action="bundle.released")
    assert event.actor_type == "staff"


def test_a_bundle_job_that_fails_can_be_retried(company, file, run, staff, monkeypatch):
    from dsr.engine.jobs import job_retry
    from dsr.rights import access

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(access, "bundle_build", broken)
    request = _access(file, run, staff, upload=False)
    job = request.jobs.get(operation=Operation.BUNDLE)
    assert job.status == "failed"
    assert job.last_error == "internal error: RuntimeError"
    assert request.status == Status.NEEDS_ATTENTION

    monkeypatch.undo()
    run(job_retry, job=job, actor=staff)

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.bundles.filter(status=BundleStatus.RELEASED).count() == 1
