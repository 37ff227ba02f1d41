"""The django connector, with django.contrib.auth's User standing in for the project's customer model."""

import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from dsr.datamap.schema import DataMapInvalid
from dsr.sources.base import ANONYMISE, DELETE, KEEP, RECTIFICATION, ErasurePlan, SourceUnsupported
from dsr.sources.django_models import DjangoConnector
from tests.sources.maps import map_build

MODELS = {
    "auth.User": {
        "lookup": {"email": "email"},
        "fields": ["username", "first_name", "last_name", "email", "date_joined"],
        "categories": {"first_name": "identity", "last_name": "identity", "email": "contact"},
        "erasure": {
            "strategy": "anonymise",
            "fields": {"username": "hash", "first_name": "redact", "last_name": "redact", "email": "clear"},
        },
        "rectify": {"first_name": "first_name"},
    },
    "admin.LogEntry": {
        "link": {"model": "auth.User", "field": "user"},
        "fields": ["action_time", "object_repr", "change_message"],
        "categories": {"change_message": "usage"},
        "erasure": {"strategy": "keep", "hold": "bookkeeping", "date_field": "action_time"},
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


@pytest.fixture
def customer(db) -> User:
    user = User.objects.create_user("mette", email="Mette@Example.dk", first_name="Mette", last_name="Hansen")
    other = User.objects.create_user("ole", email="ole@example.dk", first_name="Ole")
    content_type = ContentType.objects.get_for_model(Group)
    for who in (user, user, other):
        LogEntry.objects.create(
            user=who, content_type=content_type, object_repr="a group", action_flag=CHANGE, change_message="edited"
        )
    return user


def test_access_finds_the_user_and_their_linked_rows(customer):
    records = list(project_connector().records({"email": {"mette@example.dk"}}))
    assert [r.table for r in records] == ["auth.User", "admin.LogEntry", "admin.LogEntry"]
    assert records[0].row["email"] == "Mette@example.dk"
    assert "password" not in records[0].row
    assert records[0].provided is True
    assert records[1].categories == {"change_message": "usage"}


def test_discovery_returns_the_stored_email_normalised(customer):
    assert project_connector().discover_identifiers({"email": {" METTE@example.dk"}}) == {"email": {"mette@example.dk"}}


def test_erasure_anonymises_the_user_and_keeps_the_log_under_hold(customer):
    connector = project_connector()
    plan = ErasurePlan.from_dict(connector.erasure_plan({"email": {"mette@example.dk"}}).to_dict())
    assert [(t.table, t.action, t.count) for t in plan.tables] == [
        ("auth.User", ANONYMISE, 1),
        ("admin.LogEntry", KEEP, 2),
    ]
    assert plan.tables[1].hold_until == f"{timezone.now().year + 5}-12-31"

    first = connector.erasure_execute(plan)
    second = connector.erasure_execute(plan)

    customer.refresh_from_db()
    assert customer.email == ""
    assert customer.first_name == "[erased]"
    assert customer.username.startswith("anon-")
    assert [t.changed for t in first.tables] == [1, 0]
    assert [t.changed for t in second.tables] == [0, 0]
    assert LogEntry.objects.count() == 3
    assert User.objects.get(username="ole").first_name == "Ole"


def test_delete_plan_names_what_django_cascades(customer):
    models = {"auth.User": {**MODELS["auth.User"], "erasure": {"strategy": "delete"}}}
    connector = project_connector(models)
    plan = connector.erasure_plan({"email": {"mette@example.dk"}})
    assert plan.tables[0].action == DELETE
    assert plan.tables[0].note == "Also deleted with them: admin.LogEntry: 2"
    connector.erasure_execute(plan)
    assert list(User.objects.values_list("username", flat=True)) == ["ole"]


def test_rectification_and_unsupported_restriction(customer):
    connector = project_connector()
    assert RECTIFICATION in connector.capabilities()
    result = connector.rectify({"email": {"mette@example.dk"}}, [{"field": "first_name", "correct": "Mette Marie"}])
    assert result.rows == 1
    customer.refresh_from_db()
    assert customer.first_name == "Mette Marie"
    with pytest.raises(SourceUnsupported):
        connector.restrict({"email": {"mette@example.dk"}}, restricted=True)


def test_unknown_models_and_fields_are_rejected_with_their_paths():
    models = {
        "auth.Usr": {"lookup": {"email": "email"}, "erasure": {"strategy": "delete"}},
        "auth.User": {"lookup": {"email": "mail"}, "erasure": {"strategy": "delete"}},
    }
    with pytest.raises(DataMapInvalid) as caught:
        project_connector(models)
    messages = {str(e) for e in caught.value.errors}
    assert (
        'sources.project.models.auth.Usr: unknown model "auth.Usr"; write app_label.ModelName of an installed app'
        in messages
    )
    assert 'sources.project.models.auth.User.lookup: auth.User has no field "mail"' in messages


def test_hold_until_follows_the_last_kept_row(customer):
    LogEntry.objects.filter(user=customer).update(action_time=timezone.make_aware(dt.datetime(2021, 3, 1)))
    plan = project_connector().erasure_plan({"email": {"mette@example.dk"}})
    assert plan.tables[1].hold_until == "2026-12-31"
