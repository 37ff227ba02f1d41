"""The staff queue: role needed, most urgent first, colours, filters with counts, keyset pages, bulk assign."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import AuditEvent, Channel, Request, Right, SuspensionReason, VerificationMethod
from dsr.views.staff import queue
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.get_fixed_timezone(60))


def _open_request(
    email: str, days_ago: int, actor: Actor, right: str = Right.ACCESS, jurisdiction: str = ""
) -> Request:
    request = workflow.request_submit(
        right=right,
        email=email,
        actor=actor,
        jurisdiction=jurisdiction,
        channel=Channel.LETTER,
        received_at=timezone.now() - timedelta(days=days_ago),
        details={"consents": ["newsletter"]} if right == Right.CONSENT_WITHDRAWAL else None,
    ).request
    return workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_password_only_session_is_sent_back_to_log_in_with_the_second_factor(client, agent):
    client.force_login(agent)  # no OTP device in the session
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(django_user_model):
    user = django_user_model.objects.create_user("customer", password="pw-long-enough-1")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, confirmed=True)
    response = verified_client(user).get("/dashboard/")
    assert response.status_code == 403


def test_the_queue_lists_open_requests_most_urgent_first_with_colours(frozen, agent, agent_client):
    actor = Actor.staff(agent)
    later = _open_request("later@example.dk", 1, actor)
    amber = _open_request("amber@example.dk", 22, actor)
    urgent = _open_request("urgent@example.dk", 28, actor)
    overdue = _open_request("overdue@example.dk", 40, actor)
    closed = _open_request("closed@example.dk", 5, actor)
    workflow.request_complete(request=closed, actor=actor, reasons="Answered by letter from the privacy team.")
    html = agent_client.get("/dashboard/").content.decode()
    positions = [html.index(r.reference) for r in (overdue, urgent, amber, later)]
    assert positions == sorted(positions)
    assert closed.reference not in html
    assert 'class="days overdue"' in html
    assert 'class="days red"' in html
    assert 'class="days amber"' in html
    assert 'class="days green"' in html


def test_an_extended_request_is_ordered_by_its_extended_deadline(frozen, agent, agent_client):
    actor = Actor.staff(agent)
    extended = _open_request("extended@example.dk", 20, actor)
    workflow.request_extend(request=extended, reasons="Eleven years of orders.", actor=actor)
    soon = _open_request("soon@example.dk", 10, actor)
    html = agent_client.get("/dashboard/").content.decode()
    assert html.index(soon.reference) < html.index(extended.reference)


def test_filters_narrow_the_queue_and_show_their_counts(frozen, agent, colleague, agent_client):
    actor = Actor.staff(agent)
    erasure = _open_request("erase@example.dk", 3, actor, right=Right.ERASURE)
    access = _open_request("access@example.dk", 3, actor)
    waiting = _open_request("wait@example.dk", 3, actor)
    workflow.request_suspend(request=waiting, reason=SuspensionReason.CLARIFICATION, note="Which?", actor=actor)
    overdue = _open_request("late@example.dk", 45, actor)
    workflow.request_assign(request=access, assignee=colleague, actor=actor)

    def references(**params) -> set[str]:
        response = agent_client.get("/dashboard/", params)
        assert response.status_code == 200
        return {row.request.reference for row in response.context["page"].rows}

    assert references(right="erasure") == {erasure.reference}
    assert references(assignee=str(colleague.pk)) == {access.reference}
    assert references(assignee="none") == {erasure.reference, waiting.reference, overdue.reference}
    assert references(overdue="on") == {overdue.reference}
    assert references(stopped="on") == {waiting.reference}
    assert references(q=access.reference.lower()) == {access.reference}
    assert references(q=access.reference.removeprefix("DSR-")) == {access.reference}
    assert references(q="ERASE@example.dk".lower()) == {erasure.reference}
    received = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert references(received_from=received, received_to=received) == {
        erasure.reference,
        access.reference,
        waiting.reference,
    }
    counts = agent_client.get("/dashboard/").context["counts"]
    assert counts["open"] == 4
    assert counts["right_erasure"] == 1
    assert counts["right_access"] == 3
    assert counts["overdue"] == 1
    assert counts["stopped"] == 1
    assert counts["unassigned"] == 3
    assert counts["mine"] == 0


def test_under_a_law_whose_clock_runs_a_wait_for_the_requester_stops_nothing_and_can_be_overdue(
    frozen, agent, agent_client
):
    actor = Actor.staff(agent)
    danish = _open_request("dk@example.dk", 50, actor)
    californian = _open_request("ca@example.com", 50, actor, jurisdiction="us-ca")
    for request in (danish, californian):
        workflow.request_suspend(request=request, reason=SuspensionReason.CLARIFICATION, note="Which?", actor=actor)

    response = agent_client.get("/dashboard/")
    urgency = {row.request.reference: row.urgency for row in response.context["page"].rows}
    assert urgency == {danish.reference: "stopped", californian.reference: "overdue"}  # CCPA § 7021(b)

    def references(**params) -> set[str]:
        return {row.request.reference for row in agent_client.get("/dashboard/", params).context["page"].rows}

    assert references(stopped="on") == {danish.reference}
    assert references(overdue="on") == {californian.reference}
    counts = response.context["counts"]
    assert counts["stopped"] == 1  # the counts beside the filters say what the filters show
    assert counts["overdue"] == 1


def test_a_closed_status_filter_lists_closed_requests_newest_first(frozen, agent, agent_client):
    actor = Actor.staff(agent)
    done = "Answered by letter from the privacy team."
    first = workflow.request_complete(request=_open_request("a@example.dk", 3, actor), actor=actor, reasons=done)
    second = workflow.request_complete(request=_open_request("b@example.dk", 2, actor), actor=actor, reasons=done)
    rows = agent_client.get("/dashboard/", {"status": "completed"}).context["page"].rows
    assert [row.request.pk for row in rows] == [second.pk, first.pk]


def test_a_search_by_reference_or_email_finds_the_request_in_any_status(frozen, agent, agent_client):
    actor = Actor.staff(agent)
    done = workflow.request_complete(
        request=_open_request("done@example.dk", 3, actor), actor=actor, reasons="Answered by letter."
    )

    def references(**params) -> set[str]:
        response = agent_client.get("/dashboard/", params)
        assert response.status_code == 200
        return {row.request.reference for row in response.context["page"].rows}

    assert references(q=done.reference) == {done.reference}
    assert references(q=done.reference, status="open") == {done.reference}
    assert references(q="done@example.dk") == {done.reference}
    # A status chosen on purpose still narrows the search.
    assert references(q=done.reference, status="in_progress") == set()
    assert "in any status" in agent_client.get("/dashboard/", {"q": done.reference}).content.decode()


def test_unconfirmed_requests_have_their_own_tab_and_stay_out_of_the_working_queue(frozen, agent, agent_client):
    confirmed = _open_request("confirmed@example.dk", 2, Actor.staff(agent))
    unconfirmed = workflow.request_submit(right=Right.ACCESS, email="new@example.dk", actor=Actor.subject()).request

    working = agent_client.get("/dashboard/")
    tab = agent_client.get("/dashboard/", {"status": "pending_verification"})

    assert {row.request.reference for row in working.context["page"].rows} == {confirmed.reference}
    assert {row.request.reference for row in tab.context["page"].rows} == {unconfirmed.reference}
    counts = working.context["counts"]
    assert counts["open"] == 1
    assert counts["unconfirmed"] == 1
    assert counts["stopped"] == 0  # the clock of an unconfirmed request has not started: not the team's wait
    assert (
        'aria-current="page">Not yet confirmed' in tab.content.decode() or "Not yet confirmed" in tab.content.decode()
    )


def test_the_queue_names_the_requester(frozen, agent, agent_client):
    request = _open_request("ida.jensen@example.dk", 2, Actor.staff(agent))

    [row] = agent_client.get("/dashboard/").context["page"].rows

    assert row.requester == "ida.jensen@example.dk"
    assert 'title="ida.jensen@example.dk"' in agent_client.get("/dashboard/").content.decode()
    Request.objects.filter(pk=request.pk).update(name="Ida Jensen")
    [row] = agent_client.get("/dashboard/").context["page"].rows
    assert row.requester == "Ida Jensen"


def test_bad_filter_values_are_reported_and_the_queue_still_shows(agent_client):
    response = agent_client.get(
        "/dashboard/", {"right": "gossip", "received_from": "2026-05-01", "received_to": "2026-04-01"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "The end of the period is before its start." in html


@pytest.mark.parametrize(
    "query",
    [{"after": "0000-00-00_1"}, {"received_from": "0001-01-01"}, {"received_to": "9999-12-31"}],
)
def test_impossible_dates_in_filters_or_cursors_are_reported_not_a_server_error(agent_client, query):
    response = agent_client.get("/dashboard/", query)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not a page of this list." in html or "Give a date from 2000-01-01 to 9998-12-31." in html


def test_pages_follow_a_keyset_cursor_without_repeating_or_skipping(frozen, agent, agent_client, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 3)
    actor = Actor.staff(agent)
    made = [_open_request(f"p{i}@example.dk", i % 4, actor) for i in range(8)]
    seen, params = [], {}
    while True:
        response = agent_client.get("/dashboard/", params)
        page = response.context["page"]
        seen += [row.request.pk for row in page.rows]
        if not page.next_cursor:
            break
        params = {"after": page.next_cursor}
    assert sorted(seen) == sorted(r.pk for r in made)
    assert len(seen) == len(set(seen))
    dues = [Request.objects.get(pk=pk).due_date for pk in seen]
    assert dues == sorted(dues)


def test_bulk_assign_gives_open_requests_to_a_colleague_and_audits_each(frozen, agent, colleague, agent_client):
    actor = Actor.staff(agent)
    one = _open_request("one@example.dk", 2, actor)
    two = _open_request("two@example.dk", 2, actor)
    closed = workflow.request_cancel(request=_open_request("c@example.dk", 2, actor), actor=actor)
    response = agent_client.post(
        "/dashboard/assign/", {"ids": [one.pk, two.pk, closed.pk], "assignee": str(colleague.pk)}, follow=True
    )
    assert "2 requests assigned." in response.content.decode()
    assert "1 request was not assigned" in response.content.decode()
    assert set(Request.objects.filter(assignee=colleague).values_list("pk", flat=True)) == {one.pk, two.pk}
    events = AuditEvent.objects.filter(action="request.assigned")
    assert {e.request_id for e in events} == {one.pk, two.pk}
    assert all(e.data["assignee"] == colleague.pk for e in events)


def test_bulk_assign_refuses_an_assignee_without_a_handling_role(frozen, agent, auditor, agent_client):
    one = _open_request("one@example.dk", 2, Actor.staff(agent))
    response = agent_client.post("/dashboard/assign/", {"ids": [one.pk], "assignee": str(auditor.pk)}, follow=True)
    assert "Tick at least one request and choose whom" in response.content.decode()
    assert Request.objects.get(pk=one.pk).assignee is None


def test_an_auditor_sees_the_queue_but_cannot_bulk_assign(frozen, agent, auditor, auditor_client):
    one = _open_request("one@example.dk", 2, Actor.staff(agent))
    page = auditor_client.get("/dashboard/")
    assert page.status_code == 200
    assert 'name="ids"' not in page.content.decode()
    response = auditor_client.post("/dashboard/assign/", {"ids": [one.pk], "assignee": str(agent.pk)})
    assert response.status_code == 403
    assert Request.objects.get(pk=one.pk).assignee is None
    denied = AuditEvent.objects.get(action="staff.denied")
    assert denied.actor_id == str(auditor.pk)
    assert denied.data == {"attempted": "requests_assign_bulk"}


def test_the_bulk_form_needs_a_csrf_token(frozen, agent):
    one = _open_request("one@example.dk", 2, Actor.staff(agent))
    client = verified_client(agent)
    client.handler.enforce_csrf_checks = True
    response = client.post("/dashboard/assign/", {"ids": [one.pk], "assignee": str(agent.pk)})
    assert response.status_code == 403
    assert Request.objects.get(pk=one.pk).assignee is None


def test_queue_counts_match_the_database(frozen, agent):
    actor = Actor.staff(agent)
    for i in range(5):
        _open_request(f"x{i}@example.dk", i * 10, actor, right=Right.ERASURE if i % 2 else Right.ACCESS)
    counts = queue.queue_counts(user=agent, today=date(2026, 11, 22))
    assert counts["open"] == Request.objects.filter(status__in=["in_progress", "awaiting_subject"]).count()
    assert counts["right_erasure"] == Request.objects.filter(right="erasure").count()


def test_counts_are_shared_briefly_and_an_action_from_the_dashboard_refreshes_them(frozen, agent, agent_client):
    actor = Actor.staff(agent)
    first = _open_request("first@example.dk", 2, actor)
    assert agent_client.get("/dashboard/").context["counts"]["open"] == 1
    _open_request("second@example.dk", 2, actor)  # filed elsewhere: the shared counts catch up within seconds
    assert agent_client.get("/dashboard/").context["counts"]["open"] == 1
    assert queue.queue_counts(user=agent, cached=False)["open"] == 2
    agent_client.post("/dashboard/assign/", {"ids": [first.pk], "assignee": str(agent.pk)})
    counts = agent_client.get("/dashboard/").context["counts"]
    assert counts["open"] == 2
    assert counts["mine"] == 1


def test_open_lists_show_their_total_and_closed_lists_do_not_count(frozen, agent, agent_client, monkeypatch):
    monkeypatch.setattr(queue, "COUNT_CAP", 2)
    actor = Actor.staff(agent)
    for i in range(3):
        _open_request(f"n{i}@example.dk", 2, actor)
    open_page = agent_client.get("/dashboard/")
    assert 'data-testid="total">2+<' in open_page.content.decode()
    workflow.request_cancel(request=Request.objects.first(), actor=actor)
    closed_page = agent_client.get("/dashboard/", {"status": "cancelled"})
    assert closed_page.context["page"].total is None
    assert 'data-testid="total"' not in closed_page.content.decode()
