"""Restriction: set in every source or a task, kept in the register, lifted only after the person was told."""

import pytest
from django.core import mail

from dsr.models import Job, JobStatus, Operation, RecipientNotification, Status
from dsr.restrictions import RestrictionError, restriction_check, restriction_subject_tell
from dsr.rights.restriction import restriction_lift
from tests.rights.conftest import PERSON, shop_rows
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(company, file, run, staff):
    request = file("restriction", ground="accuracy_contested")
    tasks_finish(request, staff, run)
    return request


def test_restriction_flags_the_shop_and_enters_the_register_for_every_purpose(company, restricted):
    assert restricted.status == Status.COMPLETED
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(1,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE processing_restricted = 1") == [(1,)]
    assert restriction_check(PERSON, "newsletter")
    assert restriction_check(" Luisg@Embraer.com.br ", "purchase")
    assert not restriction_check("someone.else@example.dk", "newsletter")
    assert RecipientNotification.objects.filter(request=restricted, operation=Operation.RESTRICTION).count() == 4


def test_the_register_keeps_no_plain_identifier(restricted):
    for entry in restricted.restrictions.all():
        assert PERSON not in entry.digest
        assert len(entry.digest) == 64


def test_lifting_before_telling_the_person_is_refused(restricted, staff):
    with pytest.raises(RestrictionError, match=r"18\(3\)"):
        restriction_lift(request=restricted, actor=staff)

    assert restriction_check(PERSON, "newsletter")


def test_lifting_after_telling_the_person_unflags_every_source(company, restricted, run, staff):
    mail.outbox.clear()
    run(restriction_subject_tell, request=restricted, actor=staff, reasons="The data was verified as accurate.")
    assert [message.to for message in mail.outbox] == [[PERSON]]
    assert "verified as accurate" in mail.outbox[0].body

    run(restriction_lift, request=restricted, actor=staff)

    assert not restriction_check(PERSON, "newsletter")
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(0,)]
    lift = Job.objects.get(request=restricted, source_key="shop", operation=Operation.RESTRICTION_LIFT)
    assert lift.status == JobStatus.DONE


def test_a_restriction_cannot_be_lifted_twice(company, restricted, run, staff):
    run(restriction_subject_tell, request=restricted, actor=staff)
    run(restriction_lift, request=restricted, actor=staff)

    with pytest.raises(RestrictionError):
        restriction_lift(request=restricted, actor=staff)
