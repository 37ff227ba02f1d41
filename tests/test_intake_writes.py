"""What a filing writes, written with less ORM work: the audit event and its chain head, the endpoints' read."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dsr import audit, webhooks
from dsr.audit import Actor, audit_chain_verify, audit_record
from dsr.models import AuditAction, AuditChainHead, AuditEvent, WebhookDelivery, WebhookEndpoint, WebhookEvent
from dsr.webhooks import webhook_event_emit
from dsr.workflow import request_submit

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's (CI=true runs these)")


def test_an_event_reads_back_as_written_and_the_head_moves_to_it():
    request = request_submit(right="access", email="ida@example.dk", actor=Actor.subject()).request
    data = {"note": "Ærø — «x»", "nested": {"ids": [1, 2]}, "flag": True, "none": None}
    with transaction.atomic():
        event = audit_record(
            actor=Actor.integration("crm"), action=AuditAction.REQUEST_SUBMITTED, request=request, data=data
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.seq, stored.at, stored.actor_type, stored.actor_id, stored.action) == (
        event.seq,
        event.at,
        "integration",
        "crm",
        "request.submitted",
    )
    assert (stored.request_id, stored.data, stored.prev_hash, stored.hash) == (
        request.pk,
        data,
        event.prev_hash,
        event.hash,
    )
    assert not event._state.adding
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash) == (event.seq, event.hash)
    assert audit_chain_verify() == (AuditEvent.objects.count(), None)
    # The returned event is a saved event: the immutability guard holds for it.
    with pytest.raises(Exception, match="cannot be changed"):
        event.save()


@on_postgresql
def test_on_postgresql_the_event_and_the_head_move_are_one_statement():
    audit_record(actor=Actor.system(), action=AuditAction.REQUEST_SUBMITTED)  # the head exists
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        event = audit_record(actor=Actor.system(), action=AuditAction.REQUEST_SUBMITTED, data={"n": 1})
    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    # The head locked, then the event inserted and the head moved together: nothing else.
    assert len(statements) == 2
    assert statements[0].endswith("FOR UPDATE")
    assert statements[1].startswith("WITH event AS (INSERT INTO")
    assert AuditChainHead.objects.get(id=1).last_seq == event.seq == AuditEvent.objects.get(pk=event.pk).seq


@on_postgresql
def test_on_postgresql_an_event_without_a_chain_head_is_not_recorded():
    audit_record(actor=Actor.system(), action=AuditAction.REQUEST_SUBMITTED)
    before = AuditEvent.objects.count()
    event = AuditEvent(seq=10**6, at=AuditEvent.objects.get().at, actor_type="system", action="request.submitted")

    def record_without_head() -> None:
        with transaction.atomic():
            AuditChainHead.objects.all().delete()
            audit._event_insert_and_head_move(event)

    with pytest.raises(RuntimeError, match="chain head is missing"):
        record_without_head()
    assert AuditEvent.objects.count() == before
    assert AuditChainHead.objects.filter(id=1).exists()


def _endpoint(name: str, *, events: list[str], active: bool = True) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=name, url=f"https://{name.lower()}.example.com/", sealed_secret="x", events=events, active=active
    )


def test_an_event_goes_to_the_active_endpoints_that_subscribe_to_it_in_order_of_name(
    django_capture_on_commit_callbacks,
):
    zulu = _endpoint("Zulu", events=[])
    alpha = _endpoint("Alpha", events=[WebhookEvent.REQUEST_RECEIVED])
    _endpoint("Off", events=[], active=False)
    _endpoint("Other", events=[WebhookEvent.REQUEST_REFUSED])
    with transaction.atomic():
        ids = webhook_event_emit(event_type=WebhookEvent.REQUEST_RECEIVED, request=None)
    deliveries = WebhookDelivery.objects.filter(pk__in=ids).order_by("pk")
    assert [delivery.endpoint_id for delivery in deliveries] == [alpha.pk, zulu.pk]
    assert all(delivery.payload["type"] == "request.received" for delivery in deliveries)


def test_the_endpoints_read_are_whole_models_with_their_fields_converted():
    _endpoint("Ops", events=[WebhookEvent.REQUEST_REFUSED, WebhookEvent.JOB_FAILED])
    (read,) = webhooks._endpoints_active()
    assert read.events == ["request.refused", "job.failed"]
    assert read.subscribes(WebhookEvent.REQUEST_REFUSED)
    assert not read.subscribes("request.refuse")
    assert read.created_at.tzinfo is not None
    assert read == WebhookEndpoint.objects.get()


def test_no_endpoint_no_delivery():
    _endpoint("Off", events=[], active=False)
    assert webhook_event_emit(event_type=WebhookEvent.REQUEST_RECEIVED, request=None) == []
    assert not WebhookDelivery.objects.exists()
