"""The manual connector: a system worked by hand, which says what its owner must do and does nothing itself."""

import pytest

from dsr.datamap.schema import DataMapInvalid
from dsr.models import Operation
from dsr.sources.base import ASYNC, SourceUnsupported
from dsr.sources.manual import ManualConnector
from tests.sources.maps import CHAT_SOURCE, map_build

METTE = {"email": {"mette@example.dk"}}


def chats_connector(**changes) -> ManualConnector:
    datamap = map_build({"chats": {**CHAT_SOURCE, **changes}})
    return ManualConnector(datamap.sources["chats"], datamap)


def test_a_task_is_asked_for_each_operation_the_owner_has_instructions_for():
    chats = chats_connector()
    assert chats.task_for(Operation.ACCESS) == {
        "source": "chats",
        "operation": "access",
        "owner": "Customer service team lead",
        "instructions": {"da": "Eksportér samtalerne", "en": "Export the conversations"},
    }
    assert chats.task_for(Operation.ERASURE)["instructions"]["en"] == "Delete the conversations"
    assert chats.task_for(Operation.RECTIFICATION) is None
    assert chats.task_for(Operation.RESTRICTION_LIFT) is None


def test_lifting_a_restriction_has_its_own_instructions():
    instructions = {
        **CHAT_SOURCE["instructions"],
        "restriction": {"da": "Markér", "en": "Mark as restricted"},
        "restriction_lift": {"da": "Fjern markeringen", "en": "Remove the mark"},
    }
    chats = chats_connector(instructions=instructions)
    assert chats.task_for(Operation.RESTRICTION)["instructions"]["en"] == "Mark as restricted"
    assert chats.task_for(Operation.RESTRICTION_LIFT) == {
        "source": "chats",
        "operation": "restriction_lift",
        "owner": "Customer service team lead",
        "instructions": {"da": "Fjern markeringen", "en": "Remove the mark"},
    }


def test_a_manual_source_does_nothing_itself():
    chats = chats_connector()
    assert chats.capabilities() == {ASYNC}
    assert not any(chats.supports(operation) for operation in Operation.values)
    assert chats.informs_recipients is False
    assert chats.accepts_callbacks is False
    # Its data is never silently empty: the engine asks task_for instead.
    with pytest.raises(SourceUnsupported):
        list(chats.records(METTE))
    with pytest.raises(SourceUnsupported):
        chats.erasure_plan(METTE)
    with pytest.raises(SourceUnsupported):
        chats.rectify(METTE, [{"field": "name", "correct": "x"}])
    with pytest.raises(SourceUnsupported):
        chats.restrict(METTE, restricted=True)
    with pytest.raises(SourceUnsupported):
        chats.consent_withdraw(METTE, ["newsletter"])


def test_its_one_record_group_holds_the_categories_the_map_lists():
    assert ManualConnector.groups_describe(chats_connector().config) == {
        "task": {"purposes": None, "recipients": None, "categories": ["contact", "usage"]}
    }


def test_a_manual_source_without_owner_or_instructions_is_rejected():
    broken = {key: value for key, value in CHAT_SOURCE.items() if key not in ("owner", "instructions")}
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"chats": broken})
    assert {str(e).split(":")[0] for e in caught.value.errors} == {"sources.chats.owner", "sources.chats.instructions"}


def test_instructions_for_something_that_is_no_operation_are_rejected():
    instructions = {**CHAT_SOURCE["instructions"], "portability": {"da": "x", "en": "x"}}
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"chats": {**CHAT_SOURCE, "instructions": instructions}})
    assert [str(e) for e in caught.value.errors] == [
        "sources.chats.instructions.portability: unknown operation; use access, erasure, rectification, "
        "restriction, restriction_lift, consent_withdrawal"
    ]
