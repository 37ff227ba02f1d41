"""The lineage rules hold on any small map: random purposes, recipients, sources and record groups.

The maps are built in the normalised shape dsr.datamap.parsing produces (each group with its
effective purposes and recipients), so these test dsr.datamap.lineage alone.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from dsr.datamap.lineage import (
    purposes_applying,
    recipients_applying,
    recipients_named,
    recipients_received,
)
from dsr.datamap.schema import DataMap

CATEGORIES = ["identity", "contact", "financial", "marketing"]


def _subset(keys: list[str]) -> st.SearchStrategy[list[str]]:
    """Return a strategy for a sub-list of ``keys``, in their order."""
    return (
        st.sets(st.sampled_from(keys)).map(lambda chosen: [key for key in keys if key in chosen])
        if keys
        else st.just([])
    )


@st.composite
def maps(draw) -> DataMap:
    purpose_keys = [f"p{index}" for index in range(draw(st.integers(1, 4)))]
    purposes = {
        key: {"key": key, "categories": draw(_subset(CATEGORIES)), "consent_key": key if draw(st.booleans()) else ""}
        for key in purpose_keys
    }
    recipient_keys = [f"r{index}" for index in range(draw(st.integers(1, 4)))]
    recipients = {
        key: {"key": key, "countries": ["DK"], "purposes": draw(_subset(purpose_keys))} for key in recipient_keys
    }
    sources = {}
    for index in range(draw(st.integers(1, 3))):
        source_purposes = draw(_subset(purpose_keys))
        source_recipients = draw(_subset(recipient_keys))
        groups = {}
        for group in [f"g{number}" for number in range(draw(st.integers(0, 3)))]:
            declared_purposes = draw(st.none() | _subset(purpose_keys))
            declared_recipients = draw(st.none() | _subset(recipient_keys))
            groups[group] = {
                "purposes": source_purposes if declared_purposes is None else declared_purposes,
                "purposes_declared": declared_purposes is not None,
                "recipients": source_recipients if declared_recipients is None else declared_recipients,
                "recipients_declared": declared_recipients is not None,
                "categories": draw(_subset(CATEGORIES)),
                "records_consents": draw(st.booleans()),
            }
        sources[f"s{index}"] = {
            "key": f"s{index}",
            "purposes": source_purposes,
            "recipients": source_recipients,
            "groups": groups,
        }
    return DataMap(
        {
            "categories": {key: {"key": key} for key in CATEGORIES},
            "purposes": purposes,
            "recipients": recipients,
            "sources": sources,
        }
    )


@st.composite
def maps_with_found(draw) -> tuple[DataMap, list, set[str] | None]:
    """Return a map, some groups found (including groups the map does not describe) and the consents given."""
    datamap = draw(maps())
    places = [(source_key, group) for source_key, source in datamap.sources.items() for group in source["groups"]]
    places += [(source_key, "undescribed") for source_key in datamap.sources]
    found = draw(
        st.lists(st.tuples(st.sampled_from(places), _subset(CATEGORIES)), max_size=4).map(
            lambda items: [(source, group, categories) for (source, group), categories in items]
        )
    )
    consent_keys = [purpose["consent_key"] for purpose in datamap.purposes.values() if purpose["consent_key"]]
    consents = draw(st.none() | _subset(consent_keys).map(set))
    return datamap, found, consents


def _lineage(datamap: DataMap, source_key: str, group: str) -> dict:
    source = datamap.sources[source_key]
    return source["groups"].get(group) or {"purposes": source["purposes"], "recipients": source["recipients"]}


def _covers(datamap: DataMap, purpose_key: str, category: str) -> bool:
    covered = datamap.purposes[purpose_key]["categories"]
    return not covered or category in covered


@settings(max_examples=150)
@given(maps_with_found())
def test_a_recipient_receives_only_categories_given_through_a_purpose_it_shares_with_the_group(case):
    datamap, found, _ = case
    named = recipients_named(datamap)
    for source_key, group, categories in found:
        lineage = _lineage(datamap, source_key, group)
        for key, received in recipients_received(datamap, source_key, group, categories).items():
            recipient = datamap.recipients[key]
            assert received
            assert set(received) <= set(categories)
            linked = key in lineage["recipients"] or (
                key not in named and set(recipient["purposes"]) & set(lineage["purposes"])
            )
            assert linked
            via = [p for p in lineage["purposes"] if p in recipient["purposes"] or not recipient["purposes"]]
            assert all(any(_covers(datamap, p, category) for p in via) for category in received)


@settings(max_examples=150)
@given(maps_with_found())
def test_a_recipient_named_somewhere_never_receives_from_a_group_that_does_not_name_it(case):
    datamap, found, _ = case
    named = recipients_named(datamap)
    for source_key, group, categories in found:
        lineage = _lineage(datamap, source_key, group)
        for key in recipients_received(datamap, source_key, group, categories):
            assert key not in named or key in lineage["recipients"]


@settings(max_examples=100)
@given(maps_with_found())
def test_a_purpose_nothing_uses_changes_nothing(case):
    datamap, found, consents = case
    before = (
        purposes_applying(datamap, found, consents),
        [recipients_received(datamap, s, g, c, consents_given=consents) for s, g, c in found],
    )
    document = {**datamap.document, "purposes": {**datamap.purposes, "unused": {"categories": [], "consent_key": ""}}}
    widened = DataMap(document)
    after = (
        purposes_applying(widened, found, consents),
        [recipients_received(widened, s, g, c, consents_given=consents) for s, g, c in found],
    )
    assert after == before
    assert recipients_applying(widened, found, after[0], consents) == recipients_applying(
        datamap, found, before[0], consents
    )


@settings(max_examples=100)
@given(maps_with_found(), st.data())
def test_fewer_purposes_or_consents_never_add_a_recipient_or_a_category(case, data):
    datamap, found, consents = case
    for source_key, group, categories in found:
        every = recipients_received(datamap, source_key, group, categories)
        purposes = data.draw(_subset(list(datamap.purposes)))
        fewer = recipients_received(datamap, source_key, group, categories, purposes=purposes, consents_given=consents)
        for key, received in fewer.items():
            assert set(received) <= set(every[key])


@settings(max_examples=150)
@given(maps_with_found())
def test_a_purpose_applies_only_through_a_found_group_that_serves_it_and_a_category_it_covers(case):
    datamap, found, consents = case
    applying = purposes_applying(datamap, found, consents)
    assert applying == [key for key in datamap.purposes if key in applying]
    for key in applying:
        assert any(
            key in _lineage(datamap, s, g)["purposes"]
            and (not datamap.purposes[key]["categories"] or set(datamap.purposes[key]["categories"]) & set(c))
            for s, g, c in found
        )


@settings(max_examples=150)
@given(maps_with_found())
def test_a_consent_purpose_without_its_consent_applies_only_where_the_map_cannot_tell(case):
    datamap, found, consents = case
    recorded = any(
        group["records_consents"] for source in datamap.sources.values() for group in source["groups"].values()
    )
    for key in purposes_applying(datamap, found, consents):
        consent_key = datamap.purposes[key]["consent_key"]
        if consents is None or not consent_key or consent_key in consents or not recorded:
            continue
        # Only a group that serves this purpose alone and records no consents shows it without the consent.
        assert any(
            (group := datamap.sources[s]["groups"].get(g))
            and group["purposes_declared"]
            and group["purposes"] == [key]
            and not group["records_consents"]
            for s, g, _ in found
        )


@settings(max_examples=100)
@given(maps_with_found())
def test_more_consents_never_take_a_purpose_away(case):
    datamap, found, consents = case
    every = {purpose["consent_key"] for purpose in datamap.purposes.values() if purpose["consent_key"]}
    assert set(purposes_applying(datamap, found, consents)) <= set(purposes_applying(datamap, found, every))
    assert set(purposes_applying(datamap, found, every)) <= set(purposes_applying(datamap, found, None))


@settings(max_examples=150)
@given(maps_with_found())
def test_a_recipient_named_in_the_answer_received_found_data_through_an_applying_purpose(case):
    datamap, found, consents = case
    purposes = purposes_applying(datamap, found, consents)
    recipients = recipients_applying(datamap, found, purposes, consents)
    assert recipients == [key for key in datamap.recipients if key in recipients]
    reachable = set()
    for source_key, group, categories in found:
        reachable.update(recipients_received(datamap, source_key, group, categories, purposes=purposes))
    assert set(recipients) <= reachable
    assert recipients_applying(datamap, [], purposes, consents) == []
