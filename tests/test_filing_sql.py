"""A filing in one statement on PostgreSQL (dsr/workflow/filing_sql.py) writes what the usual filing writes.

A web process's filing that waits for the email's confirmation is written at once: the request, its clock
stop, its challenge, the code's message, the request.received deliveries, their "go" signals and the audit
event, prepared once per connection. These tests file the same request both ways and compare every row; the
rest check the ways back to the usual filing (a map loaded meanwhile, no chain head yet, a prepared statement
that vanishes) and that the chain holds with filings arriving together.
"""

import json
import logging
import threading
from datetime import timedelta

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from dsr import crypto, emails, webhooks
from dsr.audit import Actor, _event_hash, audit_chain_verify, audit_event_sql
from dsr.datamap import selectors
from dsr.datamap.loading import datamap_load
from dsr.models import (
    AuditAction,
    AuditEvent,
    Message,
    Request,
    Status,
    Suspension,
    TaskSignal,
    VerificationChallenge,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from dsr.verification import verification_confirm_code
from dsr.workflow import filing, filing_sql, request_submit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's (CI=true runs these)"),
]

DEMO_MAP = "dsr/demo/datamap.yaml"


@pytest.fixture
def endpoints() -> None:
    """Endpoints that take every event, request.received, another event only; and one switched off."""
    for name, events, active in (
        ("all", [], True),
        ("received", [WebhookEvent.REQUEST_RECEIVED], True),
        ("completed", [WebhookEvent.REQUEST_COMPLETED], True),
        ("off", [], False),
    ):
        WebhookEndpoint.objects.create(name=name, url=f"https://{name}.example.dk/hook", events=events, active=active)


def _file(email: str, **kwargs) -> tuple[Request, list[str]]:
    """File a request and return it with the statements sent (savepoints left out)."""
    with CaptureQueriesContext(connection) as queries:
        result = request_submit(right="access", email=email, actor=Actor.subject(), **kwargs)
    assert result.created
    return result.request, [query["sql"] for query in queries.captured_queries]


def _at_once(statements: list[str]) -> bool:
    return any(sql.startswith("EXECUTE dsr_filing_") for sql in statements)


def _written(request: Request) -> dict:
    """Every row the filing of ``request`` wrote, without what differs from filing to filing."""
    request = Request.objects.get(pk=request.pk)
    varies = {"id", "reference", "email", "status_salt", "received_at", "created_at", "updated_at"}
    suspension = Suspension.objects.get(request=request)
    challenge = VerificationChallenge.objects.get(request=request)
    message = Message.objects.get(request=request)
    # By endpoint: the order the deliveries' ids come in is not part of what a filing promises.
    deliveries = WebhookDelivery.objects.filter(payload__data__reference=request.reference).order_by("endpoint__name")
    signals = {(signal.task, tuple(signal.args)) for signal in TaskSignal.objects.all()}
    event = AuditEvent.objects.get(request=request)
    return {
        "request": {
            field.attname: getattr(request, field.attname)
            for field in Request._meta.concrete_fields
            if field.attname not in varies
        },
        "suspension": (suspension.reason, suspension.note, suspension.ended_at),
        "challenge": (
            challenge.attempts,
            challenge.used_at,
            challenge.revoked_at,
            challenge.expires_at - challenge.created_at,
            challenge.created_at - request.received_at < timedelta(seconds=1),
        ),
        "message": (
            message.kind,
            message.language,
            message.to_staff,
            message.subject,
            message.status,
            message.attempts,
            message.last_error,
            message.sent_at,
            message.attempted_at,
            sorted(crypto.unseal(message.sealed_context, purpose=emails.SEAL_PURPOSE)),
            (emails.message_task(), (message.pk,)) in signals,
        ),
        "deliveries": [
            (
                delivery.endpoint.name,
                delivery.event_type,
                delivery.status,
                delivery.attempts,
                delivery.payload["type"],
                {key: value for key, value in delivery.payload["data"].items() if key != "reference"},
                (webhooks.delivery_task(), (delivery.pk,)) in signals,
            )
            for delivery in deliveries
        ],
        "event": (
            event.action,
            event.actor_type,
            event.actor_id,
            {**event.data, "challenge_id": event.data["challenge_id"] == challenge.pk},
        ),
        "clock stop starts at receipt": suspension.started_at == request.received_at,
    }


def test_a_filing_at_once_writes_what_the_usual_filing_writes(web_process, endpoints, monkeypatch):
    _file("first@example.dk")  # the chain's head, and this process's read of the map
    at_once, statements = _file("ida@example.dk", name="Ida Ærø", phone="+45 11 22 33 44", language="en")
    assert _at_once(statements)
    assert [sql.split()[0] for sql in statements] == ["EXECUTE"]  # one round trip
    monkeypatch.setattr(filing, "filing_at_once_ready", lambda actor: False)
    usual, statements = _file("ida@example.dk", name="Ida Ærø", phone="+45 11 22 33 44", language="en")
    assert not _at_once(statements)

    written = _written(at_once)
    assert written == _written(usual)
    assert written["request"]["status"] == Status.PENDING_VERIFICATION
    assert [delivery[0] for delivery in written["deliveries"]] == ["all", "received"]
    assert all(delivery[-1] for delivery in written["deliveries"])
    assert written["message"][-2:] == (["code", "link_token"], True)
    assert written["clock stop starts at receipt"]
    assert audit_chain_verify() == (AuditEvent.objects.count(), None)


def test_the_code_sent_by_a_filing_at_once_confirms_the_request(web_process):
    _file("first@example.dk")
    request, statements = _file("ida@example.dk")
    assert _at_once(statements)
    message = Message.objects.get(request=request)
    code = crypto.unseal(message.sealed_context, purpose=emails.SEAL_PURPOSE)["code"]
    verified = verification_confirm_code(reference=request.reference, code=code)
    assert verified.status == Status.IN_PROGRESS


def test_with_no_chain_head_yet_the_filing_is_written_the_usual_way(web_process):
    request, statements = _file("first@example.dk")
    assert _at_once(statements)  # tried, wrote nothing, and the usual filing made the head
    assert Request.objects.count() == 1
    assert audit_chain_verify() == (1, None)
    assert AuditEvent.objects.get().request_id == request.pk


def test_a_map_loaded_since_this_process_read_it_applies_to_the_next_filing(web_process, settings):
    _file("first@example.dk")
    assert selectors._last_read is None  # no map yet, as this process read it
    datamap_load(text=(settings.BASE_DIR / DEMO_MAP).read_text(), loaded_by="test")
    # The statement checks the map it was validated against: it writes nothing, and the usual way files.
    request, statements = _file("ida@example.dk")
    assert _at_once(statements)
    assert sum(sql.startswith('INSERT INTO "dsr_request"') for sql in statements) == 1
    assert selectors._last_read == selectors.active_version_key() is not None
    # The next filing is written at once again, with the new map.
    _, statements = _file("bo@example.dk")
    assert _at_once(statements)
    assert not any(sql.startswith('INSERT INTO "dsr_request"') for sql in statements)
    assert Request.objects.count() == 3
    assert Request.objects.get(pk=request.pk).jurisdiction == "dk"
    assert audit_chain_verify() == (3, None)


def test_a_presumed_map_version_that_is_gone_sends_the_filing_the_usual_way(web_process, monkeypatch):
    _file("first@example.dk")
    monkeypatch.setattr(selectors, "_last_read", (987654321, "0" * 64))
    monkeypatch.setattr(selectors, "_controller_kept", (None, {}))
    request, statements = _file("ida@example.dk")
    assert _at_once(statements)
    assert sum(sql.startswith('INSERT INTO "dsr_request"') for sql in statements) == 1
    assert selectors._last_read is None
    assert Request.objects.filter(pk=request.pk).exists()
    assert audit_chain_verify() == (2, None)


def test_a_retry_with_the_same_idempotency_key_arriving_at_once_gets_the_first_filing(web_process, monkeypatch):
    _file("first@example.dk")
    first, _ = _file("ida@example.dk", idempotency_key="key-1")
    # The retry's own look for the key ran before the first filing committed: it found nothing.
    looked = []
    usual = filing._idempotent_existing

    def raced(key, fields, details):
        looked.append(key)
        return None if len(looked) == 1 else usual(key, fields, details)

    monkeypatch.setattr(filing, "_idempotent_existing", raced)
    result = request_submit(right="access", email="ida@example.dk", actor=Actor.subject(), idempotency_key="key-1")
    assert (result.request.pk, result.created) == (first.pk, False)
    assert looked == ["key-1", "key-1"]
    assert Request.objects.count() == 2
    assert audit_chain_verify() == (2, None)


def test_a_prepared_statement_that_is_gone_is_prepared_again(web_process):
    _file("first@example.dk")
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    _, statements = _file("ida@example.dk")
    assert [sql.split()[0] for sql in statements if "dsr_filing_" in sql] == ["EXECUTE", "PREPARE", "EXECUTE"]
    assert Request.objects.count() == 2


def test_behind_a_pooler_that_loses_every_prepared_statement_filings_run_unprepared(web_process, monkeypatch, caplog):
    monkeypatch.setattr(filing_sql, "_unpreparable", False)
    _file("first@example.dk")

    def pooler(execute, sql, params, many, context):
        # Each statement on another server connection: what this one prepared is not there.
        if sql.startswith("EXECUTE dsr_filing_"):
            with context["connection"].cursor() as cursor:
                cursor.execute("DEALLOCATE ALL")
        return execute(sql, params, many, context)

    with caplog.at_level(logging.WARNING, logger="dsr.workflow.filing_sql"), connection.execute_wrapper(pooler):
        _file("ida@example.dk")
        _, statements = _file("bo@example.dk")
    assert "unprepared" in caplog.text
    assert filing_sql._unpreparable
    assert [sql.split()[0] for sql in statements if "dsr_filing_" in sql or sql.startswith("WITH head")] == ["WITH"]
    assert Request.objects.count() == 3
    assert audit_chain_verify() == (3, None)


def test_filings_that_arrive_together_keep_the_chain_in_one_line(web_process):
    _file("first@example.dk")
    failures: list[BaseException] = []

    def file_some(worker: int) -> None:
        try:
            for index in range(5):
                request_submit(right="access", email=f"p{worker}-{index}@example.dk", actor=Actor.subject())
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=file_some, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert Request.objects.count() == 31
    assert audit_chain_verify() == (31, None)
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 32))


def test_a_value_too_long_for_its_column_fails_the_filing_and_writes_nothing(web_process):
    _file("first@example.dk")
    now = timezone.now()
    request = Request(
        right="access",
        email="ida@example.dk",
        customer_number="9" * 65,
        reference="DSR-TEST-TEST-TEST-TEST",
        received_at=now,
        due_date=now.date(),
    )
    data = {"right": "access", "channel": "web", "status": Status.PENDING_VERIFICATION, "pre_verified": False}
    with pytest.raises(DataError):
        filing_sql.request_file_at_once(request=request, actor=Actor.subject(), now=now, version=None, data=data)
    assert Request.objects.count() == 1
    assert audit_chain_verify() == (1, None)


@pytest.mark.parametrize(
    "situation",
    ["staff", "integration", "in a transaction", "tasks inline"],
)
def test_filings_it_does_not_write_at_once(web_process, situation):
    _file("first@example.dk")
    actor = {"staff": Actor("staff", "1"), "integration": Actor.integration("crm")}.get(situation, Actor.subject())
    if situation == "tasks inline":
        celery_app.conf.task_always_eager = True
    with CaptureQueriesContext(connection) as queries:
        if situation == "in a transaction":
            with transaction.atomic():
                request_submit(right="access", email="ida@example.dk", actor=actor)
        else:
            request_submit(right="access", email="ida@example.dk", actor=actor)
    assert not _at_once([query["sql"] for query in queries.captured_queries])
    assert Request.objects.count() == 2


def test_the_events_hash_computed_by_the_database_is_the_one_python_computes():
    at = timezone.now()
    data = {"note": "Ærø «x»", "challenge_id": None, "n": 3, "flag": False}
    sql = audit_event_sql(
        at=at,
        actor=Actor.integration("crm-Ø"),
        action=AuditAction.REQUEST_SUBMITTED,
        data=data,
        spliced={"seq": "41", "prev_hash": "'ab" + "c" * 62 + "'", "request_id": "7", "challenge_id": "9"},
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql.hash}, {sql.data}", [*sql.hash_params, *sql.data_params])
        computed, stored = cursor.fetchone()
    expected = {**data, "challenge_id": 9}
    assert json.loads(stored) == expected
    assert computed == _event_hash(
        seq=41,
        at=at,
        actor_type="integration",
        actor_id="crm-Ø",
        action="request.submitted",
        request_id=7,
        data=expected,
        prev_hash="ab" + "c" * 62,
    )


def test_an_event_value_that_reads_as_a_stand_in_is_refused():
    with pytest.raises(ValueError, match="stand-in"):
        audit_event_sql(
            at=timezone.now(),
            actor=Actor("integration", "\0seq\0"),
            action=AuditAction.REQUEST_SUBMITTED,
            data={"challenge_id": None},
            spliced={"seq": "1", "prev_hash": "'x'", "request_id": "2", "challenge_id": "3"},
        )


def test_a_parameter_of_a_type_the_statement_does_not_take_is_refused_before_anything_is_sent():
    from decimal import Decimal

    assert filing_sql._text(None) is None
    assert filing_sql._text(7) == b"7"
    assert filing_sql._text("æøå") == "æøå".encode()
    with pytest.raises(TypeError, match="takes no Decimal parameter"):
        filing_sql._text(Decimal("1.5"))
    with pytest.raises(TypeError, match="takes no bool parameter"):
        filing_sql._text(True)
    # libpq would read the text only up to the NUL.
    with pytest.raises(ValueError, match="NUL character"):
        filing_sql._text('{"note": "a\0b"}')
    assert filing_sql._text(json.dumps({"note": "a\0b"})) == b'{"note": "a\\u0000b"}'


def _prepared_by_the_fields(obj, leave=()) -> dict:
    """What Django's insert would send for ``obj``: every field's own preparation, column by column."""
    return {
        field.column: filing_sql._json_value(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
        for field in type(obj)._meta.concrete_fields
        if not field.primary_key and field.column not in leave
    }


def test_a_row_is_written_with_the_values_its_fields_would_prepare(time_machine):
    time_machine.move_to("2026-12-04 09:30:00+00:00", tick=False)
    copenhagen = timezone.get_fixed_timezone(60)
    received = timezone.now().astimezone(copenhagen)
    rows = [
        Request(
            right="access",
            email="ida@example.dk",
            reference="DSR-TEST-TEST-TEST-TEST",
            received_at=received,
            due_date=received.date(),
            details={"scope": ["marketing", 2], "note": "æøå"},
            status=Status.PENDING_VERIFICATION,
        ),
        Request(right="erasure", email="bo@example.dk", reference="DSR-TEST-TEST-TEST-TES2", details=None),
        Suspension(reason="identity", note="email confirmation", started_at=received),
        AuditEvent(at=received, actor_type="subject", actor_id="", action="request.submitted", data=[1, "to"]),
    ]
    for row in rows:
        assert json.loads(filing_sql._record(row)) == _prepared_by_the_fields(row)
