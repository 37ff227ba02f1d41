"""Each register and sealed value has its own key list: rotating SECRET_KEY loses nothing, old keys still verify."""

import pytest
from django.core.checks import run_checks
from django.db import transaction

from dsr import crypto, workflow
from dsr.audit import Actor
from dsr.models import Restriction, Right, Suppression
from dsr.restrictions import restriction_check, restrictions_record
from dsr.suppression import suppression_add, suppression_check

pytestmark = pytest.mark.django_db
PERSON = "kunde@example.dk"


@pytest.fixture
def request_row():
    return workflow.request_submit(
        right=Right.RESTRICTION, email=PERSON, actor=Actor.subject(), details={"ground": "accuracy_contested"}
    ).request


@pytest.fixture
def on_secret_key(settings):
    """Start as an installation that set no key of its own: everything keyed from SECRET_KEY."""
    settings.SECRET_KEY = "the-old-secret-key-" + "x" * 40
    settings.DSR_SUPPRESSION_KEY = ""
    settings.DSR_SUPPRESSION_KEYS = []
    settings.DSR_RESTRICTION_KEYS = []
    settings.DSR_MESSAGE_KEYS = []
    return settings


def _rotate(settings, **lists) -> None:
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "y" * 40
    for name, keys in lists.items():
        setattr(settings, name, [old if key == "OLD" else key for key in keys])


def test_rotating_secret_key_keeps_the_suppression_list_when_its_keys_are_listed(on_secret_key, request_row):
    suppression_add(request=request_row, identifiers={"email": [PERSON]}, reason="erasure")

    _rotate(on_secret_key, DSR_SUPPRESSION_KEYS=["own-suppression-key", "OLD"])

    assert suppression_check(" Kunde@Example.dk ")
    # Recorded again under the new key adds nothing: the old entry is the same person.
    assert suppression_add(request=request_row, identifiers={"email": [PERSON]}, reason="erasure") == 0
    suppression_add(request=request_row, identifiers={"email": ["ny@example.dk"]}, reason="erasure")
    assert Suppression.objects.count() == 2
    on_secret_key.DSR_SUPPRESSION_KEYS = ["own-suppression-key"]
    assert suppression_check("ny@example.dk")
    assert not suppression_check(PERSON)  # only the old key knew that entry: the list is what keeps it


def test_rotating_secret_key_keeps_the_restriction_register_when_its_keys_are_listed(on_secret_key, request_row):
    restrictions_record(request=request_row, identifiers={"email": [PERSON]}, ground="accuracy_contested")

    _rotate(on_secret_key, DSR_RESTRICTION_KEYS=["own-restriction-key", "OLD"])

    assert restriction_check(PERSON, "newsletter")
    assert restrictions_record(request=request_row, identifiers={"email": [PERSON]}, ground="accuracy_contested") == 0
    assert Restriction.objects.count() == 1


def test_the_restriction_register_keeps_the_suppression_key_it_was_written_with(on_secret_key, request_row):
    on_secret_key.DSR_SUPPRESSION_KEY = "the-single-key-of-before"
    restrictions_record(request=request_row, identifiers={"email": [PERSON]}, ground="accuracy_contested")

    _rotate(on_secret_key)

    assert restriction_check(PERSON, "newsletter")


def test_without_its_keys_a_rotation_would_lose_the_entries(on_secret_key, request_row):
    suppression_add(request=request_row, identifiers={"email": [PERSON]}, reason="erasure")
    restrictions_record(request=request_row, identifiers={"email": [PERSON]}, ground="accuracy_contested")

    _rotate(on_secret_key)

    assert not suppression_check(PERSON)
    assert not restriction_check(PERSON, "newsletter")
    assert any(message.id == "dsr.W401" for message in run_checks())


def test_sealed_values_open_with_an_old_key_and_are_sealed_with_the_newest(on_secret_key):
    sealed = crypto.seal({"secret": "whsec_abc"}, purpose="webhook-secret")

    _rotate(on_secret_key, DSR_MESSAGE_KEYS=["own-message-key", "OLD"])

    assert crypto.unseal(sealed, purpose="webhook-secret") == {"secret": "whsec_abc"}
    resealed = crypto.seal({"secret": "whsec_abc"}, purpose="webhook-secret")
    on_secret_key.DSR_MESSAGE_KEYS = ["own-message-key"]
    assert crypto.unseal(resealed, purpose="webhook-secret") == {"secret": "whsec_abc"}
    with pytest.raises(crypto.InvalidToken):
        crypto.unseal(sealed, purpose="webhook-secret")


def test_the_system_check_names_the_key_lists_on_secret_key(on_secret_key):
    warnings = [message for message in run_checks() if message.id == "dsr.W401"]
    assert len(warnings) == 1
    assert "DSR_SUPPRESSION_KEYS, DSR_RESTRICTION_KEYS, DSR_MESSAGE_KEYS" in warnings[0].msg

    on_secret_key.DSR_SUPPRESSION_KEYS = ["a"]
    on_secret_key.DSR_MESSAGE_KEYS = ["b"]
    # The register falls back to the suppression keys, not to SECRET_KEY.
    assert not [message for message in run_checks() if message.id == "dsr.W401"]


def test_an_entry_another_worker_added_meanwhile_is_left_as_it_is_and_counts_as_not_new(request_row, monkeypatch):
    from dsr import suppression

    assert suppression_add(request=request_row, identifiers={"email": [PERSON]}, reason="erasure") == 1
    written = suppression._add_statement.__wrapped__
    # As if the check for an entry ran before the other worker's insert committed: only the insert meets it.
    unchecked = "WHERE 1 = 1 OR NOT EXISTS"
    monkeypatch.setattr(suppression, "_add_statement", lambda n: written(n).replace("WHERE NOT EXISTS", unchecked))
    with transaction.atomic():
        assert suppression_add(request=request_row, identifiers={"email": [PERSON]}, reason="objection") == 0
        # No error either: the caller's transaction goes on.
        assert Suppression.objects.count() == 1
    assert Suppression.objects.get().reason == "erasure"
