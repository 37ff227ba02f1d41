"""The registry of connector kinds and the start-up checks of the sources."""

import pytest
import yaml

from dsr.datamap.loading import datamap_load
from dsr.datamap.schema import DataMapInvalid
from dsr.sources.base import Connector, Record, SourcePermanentError
from dsr.sources.batches import RecordBatch
from dsr.sources.django_models import DjangoConnector
from dsr.sources.google_ads import GoogleAdsConnector
from dsr.sources.http import HttpConnector
from dsr.sources.manual import ManualConnector
from dsr.sources.meta_audience import MetaAudienceConnector
from dsr.sources.registry import connector_class, connector_for, connector_kinds
from dsr.sources.sql import SqlConnector
from tests.sources.maps import BASE_MAP, CHAT_SOURCE, map_build


def test_every_kind_maps_to_its_connector_class():
    assert connector_kinds() == ["django", "google_ads", "http", "manual", "meta_audience", "saas", "sql"]
    assert connector_class("meta_audience") is MetaAudienceConnector
    assert connector_class("google_ads") is GoogleAdsConnector
    assert connector_class("sql") is SqlConnector
    assert connector_class("django") is DjangoConnector
    assert connector_class("http") is HttpConnector
    assert connector_class("manual") is ManualConnector
    assert all(issubclass(connector_class(kind), Connector) for kind in connector_kinds())


def test_an_unknown_kind_is_refused_when_the_map_is_read():
    source = {"name": "Mainframe", "kind": "cobol", "purposes": ["account"], "origin": {"da": "x", "en": "x"}}
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"mainframe": source})
    assert str(caught.value.errors[0]).startswith("sources.mainframe.kind: unknown kind 'cobol'; known kinds: django")


def test_connector_for_an_unknown_source_is_a_permanent_error():
    with pytest.raises(SourcePermanentError, match="no such source"):
        connector_for("nowhere", map_build({}))


def test_connector_for_without_a_loaded_map_is_a_permanent_error(db):
    with pytest.raises(SourcePermanentError, match="no data map has been loaded"):
        connector_for("shop")


def test_connector_for_uses_the_active_map(db):
    datamap_load(text=yaml.safe_dump({**BASE_MAP, "sources": {"chats": CHAT_SOURCE}}), loaded_by="test")
    assert isinstance(connector_for("chats"), ManualConnector)


class _ConsentRows(Connector):
    """A kind that reads one record at a time: a consent row names its key when given."""

    kind = "consent_rows"

    def records(self, identifiers, *, reference=""):
        yield Record(
            source=self.key, table="consent", row={"key": "newsletter", "given": True}, categories={}, provided=True
        )
        yield Record(source=self.key, table="consent", row={"key": "sms", "given": False}, categories={}, provided=True)

    def consent_given(self, record):
        return record.row["key"] if record.row["given"] else None


def _consent_rows() -> _ConsentRows:
    return _ConsentRows({"key": "crm", "config": {}}, map_build({}))


def test_a_kind_that_reads_one_record_at_a_time_gives_its_records_where_batches_are_asked_for():
    connector = _consent_rows()

    read = list(connector.record_batches({"email": {"a@example.dk"}}))

    assert read == list(connector.records({"email": {"a@example.dk"}}))


def test_the_consents_a_batch_shows_are_those_each_of_its_rows_shows():
    connector = _consent_rows()
    batch = RecordBatch(
        source="crm",
        table="consent",
        columns=["key", "given"],
        rows=[("newsletter", True), ("sms", False), ("post", True)],
        categories={},
        provided=True,
    )

    assert connector.batch_consents(batch) == {"newsletter", "post"}
