"""The django connector, with django.contrib's models standing in for the project's own.

auth.User stands in for the customer model (its ``is_staff`` flag for a
processing-restricted flag); admin.LogEntry for a consent log linked to the
customer (``object_repr`` holds the consent key, ``change_message`` its state).
"""

import copy
import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from dsr.datamap.schema import DataMapInvalid
from dsr.sources.base import (
    ANONYMISE,
    CONSENT_WITHDRAWAL,
    DELETE,
    KEEP,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ErasurePlan,
    Fact,
    SourcePermanentError,
    SourceUnsupported,
)
from dsr.sources.django_models import DjangoConnector
from tests.sources.maps import map_build

METTE = {"email": {"mette@example.dk"}}
USER_FIELDS = ["username", "first_name", "last_name", "email", "date_joined"]

MODELS = {
    "auth.User": {
        "lookup": {"email": "email"},
        "fields": [*USER_FIELDS, "is_staff"],
        "categories": {"first_name": "identity", "last_name": "identity", "email": "contact"},
        "erasure": {
            "strategy": "anonymise",
            "fields": {"username": "hash", "first_name": "redact", "last_name": "redact", "email": "clear"},
        },
        "rectify": {"first_name": "first_name"},
        "restriction": {"field": "is_staff"},
    },
    "admin.LogEntry": {
        "link": {"model": "auth.User", "field": "user"},
        "fields": ["action_time", "object_repr", "change_message"],
        "categories": {"object_repr": "marketing", "change_message": "marketing"},
        "erasure": {"strategy": "keep", "hold": "bookkeeping", "date_field": "action_time"},
        "consent": {"key_field": "object_repr", "state_field": "change_message", "withdrawn_value": "withdrawn"},
    },
}


def project_connector(models: dict | None = None) -> DjangoConnector:
    datamap = map_build(
        {
            "project": {
                "name": "Shop accounts",
                "kind": "django",
                "purposes": ["account"],
                "origin": {"da": "Fra dig", "en": "From you"},
                "provided_by_subject": ["auth.User"],
                "models": models or MODELS,
            }
        }
    )
    return DjangoConnector(datamap.sources["project"], datamap)


def _models() -> dict:
    return copy.deepcopy(MODELS)


@pytest.fixture
def customer(db) -> User:
    user = User.objects.create_user("mette", email="Mette@Example.dk", first_name="Mette", last_name="Hansen")
    other = User.objects.create_user("ole", email="ole@example.dk", first_name="Ole")
    content_type = ContentType.objects.get_for_model(Group)
    for who, key, state in ((user, "newsletter", "given"), (user, "sms", "withdrawn"), (other, "newsletter", "given")):
        LogEntry.objects.create(
            user=who, content_type=content_type, object_repr=key, action_flag=CHANGE, change_message=state
        )
    return user


# --- access and discovery --------------------------------------------------------------


def test_access_finds_the_user_and_their_linked_rows(customer):
    records = list(project_connector().records(METTE))
    assert [r.table for r in records] == ["auth.User", "admin.LogEntry", "admin.LogEntry"]
    assert records[0].row["email"] == "Mette@example.dk"
    assert "password" not in records[0].row
    assert records[0].provided is True
    assert records[1].categories == {"object_repr": "marketing", "change_message": "marketing"}


def test_discovery_returns_the_stored_email_normalised(customer):
    assert project_connector().discover_identifiers({"email": {" METTE@example.dk"}}) == {"email": {"mette@example.dk"}}


def test_a_consent_record_shows_its_key_only_while_the_consent_is_given(customer):
    connector = project_connector()

    def given() -> list:
        return [connector.consent_given(record) for record in connector.records(METTE)]

    assert given() == [None, "newsletter", None]
    connector.consent_withdraw(METTE, ["newsletter"])
    assert given() == [None, None, None]


# --- erasure ---------------------------------------------------------------------------


def test_erasure_anonymises_the_user_keeps_the_log_under_hold_and_reports_both(customer):
    connector = project_connector()
    kept = LogEntry.objects.filter(user=customer).count()
    plan = ErasurePlan.from_dict(connector.erasure_plan(METTE).to_dict())
    assert [(t.table, t.action, t.count, t.categories) for t in plan.tables] == [
        ("auth.User", ANONYMISE, 1, ["identity", "contact"]),
        ("admin.LogEntry", KEEP, kept, []),
    ]
    hold_until = f"{timezone.now().year + 5}-12-31"
    assert plan.tables[1].hold_until == hold_until

    first = connector.erasure_execute(plan)
    second = connector.erasure_execute(plan)

    customer.refresh_from_db()
    assert customer.email == ""
    assert customer.first_name == "[erased]"
    assert customer.username.startswith("anon-")
    columns = ["username", "first_name", "last_name", "email"]
    log = Fact(table="admin.LogEntry", action=KEEP, found=kept, kept=kept, hold="bookkeeping", hold_until=hold_until)
    assert first.facts == [
        Fact(
            table="auth.User",
            action=ANONYMISE,
            found=1,
            changed=1,
            columns=columns,
            categories=["identity", "contact"],
        ),
        log,
    ]
    assert second.facts == [
        Fact(table="auth.User", action=ANONYMISE, found=1, changed=0, columns=columns, categories=[]),
        log,
    ]
    assert LogEntry.objects.count() == 3
    assert User.objects.get(username="ole").first_name == "Ole"


def test_delete_plan_names_what_django_cascades_and_reports_the_deleted_rows(customer):
    models = {"auth.User": {**MODELS["auth.User"], "erasure": {"strategy": "delete"}}}
    connector = project_connector(models)
    plan = connector.erasure_plan(METTE)
    assert plan.tables[0].action == DELETE
    assert plan.tables[0].cascaded == {"admin.LogEntry": 2}
    assert plan.tables[0].categories == ["identity", "contact"]

    first = connector.erasure_execute(plan)
    second = connector.erasure_execute(plan)

    assert list(User.objects.values_list("username", flat=True)) == ["ole"]
    assert first.facts == [
        Fact(table="auth.User", action=DELETE, found=1, changed=1, categories=["identity", "contact"])
    ]
    assert second.facts == [Fact(table="auth.User", action=DELETE, found=1, changed=0)]


def test_hold_until_follows_the_last_kept_row(customer):
    LogEntry.objects.filter(user=customer).update(action_time=timezone.make_aware(dt.datetime(2021, 3, 1)))
    plan = project_connector().erasure_plan(METTE)
    assert plan.tables[1].hold_until == "2026-12-31"


# --- rectification ---------------------------------------------------------------------


def test_rectification_preview_reports_what_would_change_and_changes_nothing(customer):
    facts = project_connector().rectification_preview(METTE, [{"field": "first_name", "correct": "Mette Marie"}])

    assert facts == [
        Fact(
            table="auth.User",
            action=UPDATE,
            found=1,
            changed=1,
            item="first_name",
            columns=["first_name"],
            categories=["identity"],
        )
    ]
    customer.refresh_from_db()
    assert customer.first_name == "Mette"


def test_rectification_updates_the_rows_that_differ_and_a_second_run_changes_nothing(customer):
    connector = project_connector()
    assert RECTIFICATION in connector.capabilities()
    corrections = [{"field": "first_name", "correct": "Mette Marie"}, {"field": "address", "correct": "Ny Vej 1"}]

    first = connector.rectify(METTE, corrections)
    second = connector.rectify(METTE, corrections)

    customer.refresh_from_db()
    assert customer.first_name == "Mette Marie"
    assert User.objects.get(username="ole").first_name == "Ole"
    assert [(f.table, f.item, f.found, f.changed, f.categories) for f in first.facts] == [
        ("auth.User", "first_name", 1, 1, ["identity"])
    ]
    assert first.not_applicable == ["address"]
    assert [(f.found, f.changed, f.categories) for f in second.facts] == [(1, 0, [])]


def test_a_correction_to_the_value_already_held_is_found_but_changes_nothing(customer):
    connector = project_connector()
    correct = [{"field": "first_name", "correct": "Mette"}]
    assert [(f.found, f.changed) for f in connector.rectification_preview(METTE, correct)] == [(1, 0)]
    assert [(f.found, f.changed) for f in connector.rectify(METTE, correct).facts] == [(1, 0)]


def test_a_correction_that_does_not_fit_the_field_is_refused_without_its_value(customer):
    models = _models()
    models["auth.User"]["rectify"] = {"first_name": "date_joined"}
    with pytest.raises(SourcePermanentError, match=r'"auth\.User\.date_joined" is not valid') as caught:
        project_connector(models).rectify(METTE, [{"field": "first_name", "correct": "Mette Marie"}])
    assert "Marie" not in str(caught.value)


# --- restriction and consent -----------------------------------------------------------


def test_restriction_reports_the_rows_whose_flag_changed(customer):
    connector = project_connector()
    assert RESTRICTION in connector.capabilities()

    first = connector.restrict(METTE, restricted=True)
    second = connector.restrict(METTE, restricted=True)
    assert User.objects.filter(is_staff=True).count() == 1
    lifted = connector.restrict(METTE, restricted=False)

    assert User.objects.filter(is_staff=True).count() == 0
    assert first.facts == [
        Fact(
            table="auth.User",
            action=UPDATE,
            found=1,
            changed=1,
            columns=["is_staff"],
            categories=["identity", "contact"],
        )
    ]
    assert second.facts == [Fact(table="auth.User", action=UPDATE, found=1, changed=0, columns=["is_staff"])]
    assert [(f.found, f.changed) for f in lifted.facts] == [(1, 1)]


def test_consent_withdrawal_reports_per_consent_what_was_found_and_switched(customer):
    connector = project_connector()
    assert CONSENT_WITHDRAWAL in connector.capabilities()
    columns = ["change_message"]

    first = connector.consent_withdraw(METTE, ["newsletter", "sms", "postal"])
    second = connector.consent_withdraw(METTE, ["newsletter"])

    assert first.facts == [
        Fact(
            table="admin.LogEntry",
            action=UPDATE,
            found=1,
            changed=1,
            item="newsletter",
            columns=columns,
            categories=["marketing"],
        ),
        Fact(table="admin.LogEntry", action=UPDATE, found=1, changed=0, item="sms", columns=columns),
        Fact(table="admin.LogEntry", action=UPDATE, found=0, changed=0, item="postal", columns=columns),
    ]
    assert second.facts == [
        Fact(table="admin.LogEntry", action=UPDATE, found=1, changed=0, item="newsletter", columns=columns)
    ]
    assert LogEntry.objects.filter(change_message="given").count() == 1
    assert LogEntry.objects.get(user__username="ole").change_message == "given"


def test_operations_the_configuration_does_not_map_are_unsupported(customer):
    models = {"auth.User": {"lookup": {"email": "email"}, "erasure": {"strategy": "delete"}}}
    connector = project_connector(models)
    assert not connector.supports(RESTRICTION)
    with pytest.raises(SourceUnsupported):
        connector.restrict(METTE, restricted=True)
    with pytest.raises(SourceUnsupported):
        connector.rectification_preview(METTE, [{"field": "first_name", "correct": "x"}])
    with pytest.raises(SourceUnsupported):
        connector.consent_withdraw(METTE, ["newsletter"])


# --- configuration ---------------------------------------------------------------------


def test_unknown_models_and_fields_are_rejected_with_their_paths():
    models = {
        "auth.Usr": {"lookup": {"email": "email"}, "erasure": {"strategy": "delete"}},
        "auth.User": {
            "lookup": {"email": "mail"},
            "erasure": {"strategy": "delete"},
            "consent": {"key_field": "purpose"},
        },
    }
    with pytest.raises(DataMapInvalid) as caught:
        project_connector(models)
    messages = {str(e) for e in caught.value.errors}
    assert (
        'sources.project.models.auth.Usr: unknown model "auth.Usr"; write app_label.ModelName of an installed app'
        in messages
    )
    assert 'sources.project.models.auth.User.lookup: auth.User has no field "mail"' in messages
    assert "sources.project.models.auth.User.consent.state_field: is required" in messages
    assert 'sources.project.models.auth.User.consent.key_field: auth.User has no field "purpose"' in messages


def test_correction_fields_purposes_and_recipients_are_checked_against_the_map():
    models = _models()
    models["auth.User"].update(rectify={"nickname": "first_name"}, purposes=["ads"], recipients=["printer"])
    with pytest.raises(DataMapInvalid) as caught:
        project_connector(models)
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        'sources.project.models.auth.User.purposes: unknown purpose "ads"',
        'sources.project.models.auth.User.recipients: unknown recipient "printer"',
        'sources.project.models.auth.User.rectify.nickname: unknown correction field "nickname"; '
        "declare it under corrections with its labels and category "
        "(nickname: {name: {da: ..., en: ...}, category: ...})",
    ]


def test_models_describe_their_own_purposes_or_leave_them_to_the_source():
    models = _models()
    models["admin.LogEntry"]["purposes"] = ["newsletter"]
    described = DjangoConnector.groups_describe(project_connector(models).config)
    lineage = {label: (d["purposes"], d["recipients"], d["categories"]) for label, d in described.items()}
    assert lineage == {
        "auth.User": (None, None, ["identity", "contact"]),
        "admin.LogEntry": (["newsletter"], None, ["marketing"]),
    }
    assert described["auth.User"]["identifiers"] == {
        kind: models["auth.User"]["categories"][field]
        for kind, field in models["auth.User"]["lookup"].items()
        if field in models["auth.User"]["categories"]
    }
