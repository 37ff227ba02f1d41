"""Rectification (GDPR Art. 16): the preview, staff review, corrections per source, tasks, notices and the answer.

The shop maps first name, last name, phone and address to its columns, Chinook
maps the address, the chat system is corrected by its owner, and a field no
source maps goes to the privacy team.
"""

import pytest
from django.core import mail

from dsr.engine.connectors import datamap_current
from dsr.models import Job, JobStatus, ManualFinding, ManualTask, Operation, PlanStage, Status
from dsr.rights.base import request_plan_approve
from dsr.rights.rectification import corrections_labelled, rectification_preview
from dsr.workflow import TransitionError
from tests.rights.conftest import PERSON, shop_rows
from tests.rights.helpers import closing_email, emails_to, notices, outcome_of, task_finish, tasks_finish

pytestmark = pytest.mark.django_db

CORRECTIONS = [
    {"field": "address", "current": "Erantisgade 906", "correct": "Ny Vej 2"},
    {"field": "last_name", "correct": "Jensen-Gonçalves"},
]


def _approved(file, run, staff, corrections, **kwargs):
    request = file("rectification", corrections=corrections, **kwargs)
    run(request_plan_approve, request=request, actor=staff)
    request.refresh_from_db()
    return request


def _preview(request) -> list[dict]:
    """Return the preview's rows without the field's label (a test of its own below)."""
    return [{k: v for k, v in row.items() if k != "field_label"} for row in rectification_preview(request)]


def _items(request) -> dict[str, dict]:
    return {item["key"] or item["label"]["en"]: item for item in outcome_of(request)["items"]}


# --- Before anything changes: the preview staff review ---------------------------------------------


def test_corrections_wait_for_staff_review_and_change_nothing_before(company, file):
    request = file("rectification", corrections=CORRECTIONS)

    assert request.status == Status.AWAITING_APPROVAL
    assert request.plan.stage == PlanStage.AWAITING_APPROVAL
    assert not request.jobs.filter(operation=Operation.RECTIFICATION).exists()
    assert shop_rows(company.shop, "SELECT last_name FROM customer WHERE id = 1") == [("Jeppesen",)]
    assert not notices(request)


def test_the_preview_shows_per_source_the_rows_found_and_the_rows_that_would_change(company, file):
    request = file("rectification", corrections=CORRECTIONS)

    rows = _preview(request)

    assert {"source": "shop", "table": "address", "field": "address", "found": 1, "to_change": 1} in rows
    assert {"source": "shop", "table": "customer", "field": "last_name", "found": 1, "to_change": 1} in rows
    assert {"source": "chinook", "table": "Customer", "field": "address", "found": 1, "to_change": 1} in rows
    assert {"source": "chats", "by_hand": True} in rows
    # Chinook has no last name column: it previews nothing for it.
    assert not [row for row in rows if row["source"] == "chinook" and row.get("field") == "last_name"]


def test_the_preview_counts_no_row_to_change_where_the_value_is_already_right(company, file):
    request = file("rectification", corrections=[{"field": "last_name", "correct": "Jeppesen"}])

    rows = _preview(request)

    assert {"source": "shop", "table": "customer", "field": "last_name", "found": 1, "to_change": 0} in rows


@pytest.mark.parametrize("label", ["Efternavn", "Last name", " efternavn "])
def test_the_portals_free_text_naming_a_field_by_its_label_is_that_field(company, file, label):
    request = file("rectification", corrections=[{"field": label, "correct": "Jensen"}])

    rows = _preview(request)

    assert {"source": "shop", "table": "customer", "field": "last_name", "found": 1, "to_change": 1} in rows


@pytest.mark.parametrize(("language", "label"), [("da", "Efternavn"), ("en", "Last name")])
def test_the_preview_names_each_field_as_the_map_does_in_the_staff_members_language(company, file, language, label):
    request = file("rectification", corrections=[{"field": "last_name", "correct": "Jensen"}])

    rows = rectification_preview(request, datamap=datamap_current(), language=language)

    assert [row["field_label"] for row in rows if row.get("table") == "customer"] == [label]


def test_the_corrections_asked_are_named_by_the_map_or_in_the_persons_own_words(company):
    asked = [{"field": "last_name", "correct": "Jensen"}, {"field": "Min kælenavn", "correct": "Bo"}]

    labelled = corrections_labelled(datamap_current(), asked, "da")

    assert [c["label"] for c in labelled] == ["Efternavn", "Min kælenavn"]


def test_approved_corrections_cannot_be_approved_again(company, file, run, staff):
    request = _approved(file, run, staff, CORRECTIONS)
    jobs = Job.objects.filter(request=request).count()

    with pytest.raises(TransitionError):
        request_plan_approve(request=request, actor=staff)
    assert Job.objects.filter(request=request).count() == jobs


# --- Applying them ---------------------------------------------------------------------------------


def test_approved_corrections_are_made_where_a_source_maps_the_field_and_by_the_owner_elsewhere(
    company, file, run, staff
):
    request = _approved(file, run, staff, CORRECTIONS)

    assert shop_rows(company.shop, "SELECT last_name FROM customer WHERE email = ?", PERSON) == [("Jensen-Gonçalves",)]
    assert shop_rows(company.shop, "SELECT DISTINCT street FROM address WHERE customer_id = 1") == [("Ny Vej 2",)]
    chinook = Job.objects.get(request=request, source_key="chinook", operation=Operation.RECTIFICATION)
    assert chinook.status == JobStatus.DONE
    # Chinook was asked only for what its preview found: the address.
    assert [c["field"] for c in chinook.plan["corrections"]] == ["address"]
    # The chat system is corrected by its owner; the ad partner holds no correctable field and is not asked.
    [task] = ManualTask.objects.filter(request=request)
    assert task.source_key == "chats"
    assert "Last name: Jensen-Gonçalves" in task.instructions
    assert "Address (street and number): Ny Vej 2" in task.instructions
    assert not request.jobs.filter(source_key="adpartner").exclude(operation=Operation.RESOLVE).exists()
    assert request.status == Status.IN_PROGRESS

    assert tasks_finish(request, staff, run) == 1
    assert request.status == Status.COMPLETED


def test_the_answer_says_per_correction_where_it_was_corrected(company, file, run, staff):
    request = _approved(file, run, staff, CORRECTIONS)
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    items = _items(request)
    assert items["address"]["state"] == "corrected"
    assert items["address"]["where"] == ["shop", "chinook"]
    assert items["last_name"]["where"] == ["shop"]
    body = closing_email(request).body
    assert "We have corrected your data as listed below" in body
    assert (
        '- Address (street and number) ("Ny Vej 2"): corrected in Web shop and customer accounts, Chinook music store'
        in body
    )
    assert '- Last name ("Jensen-Gonçalves"): corrected in Web shop and customer accounts' in body
    assert "We found no data about you in: Customer-service chat and calls (Genesys PureCloud)." in body


def test_a_correction_the_owner_also_made_by_hand_names_that_system_too(company, file, run, staff):
    request = _approved(file, run, staff, [{"field": "last_name", "correct": "Jensen-Gonçalves"}])
    task_finish(request, "chats", staff, run, finding=ManualFinding.DONE, attestation="Corrected the contact")

    body = closing_email(request).body
    line = next(line for line in body.splitlines() if line.startswith("- Last name"))
    assert "Web shop and customer accounts" in line
    assert "Customer-service chat and calls (Genesys PureCloud)" in line


def test_a_correction_whose_value_is_already_right_is_reported_already_right_never_corrected(company, file, run, staff):
    request = _approved(file, run, staff, [{"field": "last_name", "correct": "Jeppesen"}])
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert _items(request)["last_name"]["state"] == "already_correct"
    body = closing_email(request).body
    assert "We changed nothing, for the reasons listed below." in body
    assert (
        '- Last name ("Jeppesen"): already right in Web shop and customer accounts, so nothing needed changing' in body
    )
    assert "corrected in" not in body
    assert "We have corrected" not in body
    # Nothing changed, so no recipient is told anything.
    assert not notices(request)
    assert outcome_of(request)["summary"]["changed"] is False


def test_a_correction_of_data_we_do_not_hold_says_so(company, file, run, staff):
    request = _approved(file, run, staff, [{"field": "postal_code", "correct": "2300"}], email="someone@example.dk")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert _items(request)["postal_code"]["state"] == "not_held"
    body = closing_email(request).body
    assert '- Postal code ("2300"): we hold no such data about you, so there was nothing to correct' in body
    assert not notices(request)


def test_a_field_no_source_maps_becomes_a_task_for_the_privacy_team(company, file, run, staff):
    request = _approved(file, run, staff, [{"field": "Favourite colour", "correct": "Blue"}])

    team = ManualTask.objects.get(request=request, source_key="")
    assert team.owner == "dpo@madkassen-demo.example"
    assert "- Favourite colour: Blue" in team.instructions
    assert request.status == Status.IN_PROGRESS

    task_finish(request, "", staff, run, finding=ManualFinding.DONE, attestation="Corrected in the CRM")
    tasks_finish(request, staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert _items(request)["Favourite colour"]["state"] == "by_hand"
    assert '- Favourite colour ("Blue"): corrected by hand' in closing_email(request).body


def test_a_field_no_source_maps_and_a_mapped_one_together_complete_and_each_is_answered(company, file, run, staff):
    request = _approved(
        file,
        run,
        staff,
        [{"field": "last_name", "correct": "Jensen-Gonçalves"}, {"field": "Favourite colour", "correct": "Blue"}],
    )

    task_finish(request, "", staff, run, finding=ManualFinding.DONE, attestation="Corrected in the CRM")
    task_finish(request, "chats", staff, run, finding=ManualFinding.DONE, attestation="Corrected the contact")

    assert request.status == Status.COMPLETED
    body = closing_email(request).body
    assert '- Last name ("Jensen-Gonçalves"): corrected in Web shop and customer accounts' in body
    assert '- Favourite colour ("Blue"): corrected by hand' in body


def test_a_danish_request_is_answered_with_the_danish_labels(company, file, run, staff):
    request = _approved(file, run, staff, [{"field": "Efternavn", "correct": "Jensen"}], language="da")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    body = closing_email(request).body
    assert "Vi har rettet dine oplysninger som beskrevet nedenfor" in body
    assert '- Efternavn ("Jensen"): rettet i Webshop og kundekonti' in body
    assert "Last name" not in body
    assert "Web shop" not in body


# --- Art. 19 ----------------------------------------------------------------------------------------


def test_a_recipients_notice_carries_only_the_corrections_of_categories_it_received(company, file, run, staff):
    corrections = [{"field": "last_name", "correct": "Jensen-Gonçalves"}, {"field": "phone", "correct": "+4520304050"}]
    request = _approved(file, run, staff, corrections)
    mail.outbox.clear()
    task_finish(request, "chats", staff, run, finding=ManualFinding.DONE, attestation="Corrected the contact")

    told = notices(request, Operation.RECTIFICATION)
    # Meta and Google receive the contact data of the customer row (for retargeting), not its identity data;
    # the payment processors receive only the payment reference, which no correction touched.
    assert set(told) == {"facebook", "google", "genesys"}
    assert told["facebook"].categories == ["contact"]
    [meta] = emails_to("privacy@meta.example")
    assert "berigtiget" in meta.body
    assert "- Telefonnummer: +4520304050" in meta.body
    assert "Efternavn" not in meta.body
    assert "Jensen-Gonçalves" not in meta.body
    assert f"E-mail: {PERSON}" in meta.body
    assert not emails_to("dpo@adyen.example")
    assert not emails_to("privacy@braintree.example")
    body = closing_email(request).body
    assert "We have told these recipients" in body
    assert "Meta Platforms Ireland Ltd." in body
    assert "Adyen" not in body


def test_a_correction_of_identity_data_alone_is_not_announced_to_the_ad_platforms(company, file, run, staff):
    request = _approved(file, run, staff, [{"field": "first_name", "correct": "Luís"}])
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert not notices(request)
    assert "We have told these recipients" not in closing_email(request).body
