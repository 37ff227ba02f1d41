"""Staff roles: the groups and their permissions, the sync command, the start-up check, what each role may do."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection

from dsr.roles import (
    AUDITOR,
    EXPORT_AUDIT,
    HANDLE_REQUEST,
    PRIVACY_ADMIN,
    PRIVACY_AGENT,
    ROLES,
    VIEW_DASHBOARD,
    check_roles,
    roles_sync,
    team_members,
    user_role,
    user_role_set,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(db):
    roles_sync()


def _user(django_user_model, name: str, role: str | None):
    user = django_user_model.objects.create_user(name)
    if role:
        user_role_set(user=user, role=role)
    return django_user_model.objects.get(pk=user.pk)  # fresh permission cache


def test_each_role_holds_exactly_what_it_needs(synced, django_user_model):
    admin = _user(django_user_model, "lead", PRIVACY_ADMIN)
    agent = _user(django_user_model, "agent", PRIVACY_AGENT)
    auditor = _user(django_user_model, "auditor", AUDITOR)
    assert admin.has_perms([VIEW_DASHBOARD, HANDLE_REQUEST, EXPORT_AUDIT, "auth.change_user", "dsr.view_source"])
    assert agent.has_perms([VIEW_DASHBOARD, HANDLE_REQUEST, "dsr.change_manualtask"])
    assert not agent.has_perm(EXPORT_AUDIT)
    assert not agent.has_perm("auth.change_user")
    assert auditor.has_perms([VIEW_DASHBOARD, EXPORT_AUDIT, "dsr.view_auditevent"])
    assert not auditor.has_perm(HANDLE_REQUEST)
    assert all(user.is_staff for user in (admin, agent, auditor))


def test_sync_is_idempotent_and_restores_a_tampered_group(synced):
    agents = Group.objects.get(name=PRIVACY_AGENT)
    agents.permissions.clear()
    first = roles_sync()
    second = roles_sync()
    assert first == second
    assert Group.objects.filter(name__in=ROLES).count() == 3
    assert agents.permissions.filter(codename="handle_request").exists()


def test_the_command_prints_each_role(db, capsys):
    call_command("dsr_roles_sync")
    out = capsys.readouterr().out
    assert "Privacy admin:" in out
    assert "Privacy agent:" in out
    assert "Auditor:" in out


def test_a_user_has_one_role_at_a_time(synced, django_user_model):
    user = _user(django_user_model, "mover", PRIVACY_AGENT)
    user_role_set(user=user, role=AUDITOR)
    assert list(user.groups.values_list("name", flat=True)) == [AUDITOR]
    assert user_role(user) == AUDITOR
    with pytest.raises(ValueError, match="unknown role"):
        user_role_set(user=user, role="Intern")


def test_only_members_who_handle_requests_can_be_assigned(synced, django_user_model):
    agent = _user(django_user_model, "agent", PRIVACY_AGENT)
    _user(django_user_model, "auditor", AUDITOR)
    _user(django_user_model, "nobody", None)
    assert list(team_members()) == [agent]


def test_the_system_check_warns_while_the_groups_are_missing(db):
    assert [w.id for w in check_roles(None, databases=["default"])] == ["dsr.W301"]
    roles_sync()
    assert check_roles(None, databases=["default"]) == []
    assert check_roles(None) == []  # only with a database to look at


def test_the_check_stays_quiet_before_migrations(db, django_db_blocker):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE auth_group RENAME TO auth_group_away")
    try:
        assert check_roles(None, databases=["default"]) == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE auth_group_away RENAME TO auth_group")


def test_the_demo_seed_gives_each_demo_login_its_role(settings, tmp_path, django_user_model, capsys):
    settings.VAR_DIR = tmp_path
    call_command("dsr_seed_demo", force=True, customers=20)
    out = capsys.readouterr().out
    roles = {user.username: user_role(user) for user in django_user_model.objects.all()}
    assert roles == {"privacy": PRIVACY_ADMIN, "agent": PRIVACY_AGENT, "auditor": AUDITOR}
    for name, role in (("agent", PRIVACY_AGENT), ("auditor", AUDITOR)):
        password = (tmp_path / f"demo-login-{name}.txt").read_text().strip()
        assert f"{role} login: {name} / {password}" in out
        assert django_user_model.objects.get(username=name).check_password(password)
