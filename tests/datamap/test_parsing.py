"""Reading the data map file: validation with paths, texts in both languages, record groups, reachability."""

import pytest
import yaml

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMap, DataMapInvalid, sensitive_purposes
from tests.datamap.conftest import map_parse
from tests.sources.maps import CHAT_SOURCE


def _changed(text: str, change) -> str:
    document = yaml.safe_load(text)
    change(document)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _errors(text: str) -> list[str]:
    with pytest.raises(DataMapInvalid) as caught:
        datamap_parse(text)
    return [str(error) for error in caught.value.errors]


def _document_errors(document: dict) -> list[str]:
    with pytest.raises(DataMapInvalid) as caught:
        map_parse(document)
    return [str(error) for error in caught.value.errors]


def test_every_error_is_reported_with_its_path(demo_text):
    def breakage(document):
        document["sources"]["shop"]["tables"]["invoice"]["link"]["table"] = "invoices"
        document["purposes"]["payment"].pop("legitimate_interest")
        document["purposes"]["newsletter"]["name"] = "Nyhedsbrev"
        document["purposes"]["purchase"]["retention_rule"] = {"after": "forever"}
        document["recipients"]["adyen"]["purposes"] = ["payments"]
        document["recipients"]["genesys"]["role"] = "partner"
        document["controller"]["cvr"] = "1234"

    errors = _errors(_changed(demo_text, breakage))
    assert 'sources.shop.tables.invoice.link.table: unknown table "invoices"' in errors
    assert "purposes.payment.legitimate_interest: is required when the legal basis includes (f)" in errors
    assert "purposes.newsletter.name: must give the text in both languages: {da: ..., en: ...}" in errors
    assert any(e.startswith("purposes.purchase.retention_rule: 'after' must be one of") for e in errors)
    assert "purposes.purchase.retention_rule: give the length as years, months and/or days" in errors
    assert 'recipients.adyen.purposes: unknown purpose "payments"' in errors
    assert "recipients.genesys.role: must be processor or controller (got 'partner')" in errors
    assert "controller.cvr: a CVR number has 8 digits" in errors


def test_the_mark_of_sensitive_use_beyond_the_permitted_purposes_is_read_and_checked(demo_text):
    def marked(document):
        document["purposes"]["newsletter"]["sensitive_beyond_permitted"] = True

    parsed = datamap_parse(_changed(demo_text, marked))
    assert parsed.purposes["newsletter"]["sensitive_beyond_permitted"] is True
    assert parsed.purposes["purchase"]["sensitive_beyond_permitted"] is False
    assert sensitive_purposes(parsed) == ["newsletter", "other_marketing"]

    def wrong(document):
        document["purposes"]["newsletter"]["sensitive_beyond_permitted"] = "yes"

    assert "purposes.newsletter.sensitive_beyond_permitted: must be true or false" in _errors(
        _changed(demo_text, wrong)
    )


def test_a_map_stored_before_the_sensitive_mark_existed_marks_no_purpose(demo_text):
    document = datamap_parse(demo_text).document
    for purpose in document["purposes"].values():
        purpose.pop("sensitive_beyond_permitted")
    assert sensitive_purposes(DataMap(document)) == []


def test_unknown_keys_and_missing_sections_are_reported():
    errors = _errors("controller: {name: X}\nsourcez: {}\n")
    assert (
        "(top).sourcez: unknown key; expected one of categories, controller, corrections, legal_holds, purposes, "
        "recipients, sources"
    ) in errors
    assert "controller.address: is required" in errors
    assert "purposes: is required" in errors


def test_a_yaml_syntax_error_names_the_line():
    errors = _errors("controller:\n  name: [unclosed\n")
    assert errors[0].startswith("line 3, column 1: not valid YAML")


def test_a_file_that_is_not_a_mapping_is_refused():
    assert _errors("- just\n- a list\n") == ["(top): the file must be a mapping with controller, purposes, sources"]


def test_the_authority_defaults_to_datatilsynet(demo_text):
    datamap = datamap_parse(_changed(demo_text, lambda d: d["controller"].pop("authority")))
    assert datamap.controller["authority"]["email"] == "dt@datatilsynet.dk"


# --- Danish and English --------------------------------------------------------------------


def test_a_law_and_a_source_name_in_both_languages_are_kept_apart(demo_text):
    def both(document):
        document["legal_holds"]["bookkeeping"]["law"] = {"da": "Bogføringsloven § 10", "en": "Bookkeeping Act § 10"}
        document["sources"]["chats"]["name"] = {"da": "Kundeservice-chat", "en": "Customer-service chat"}

    datamap = datamap_parse(_changed(demo_text, both))
    assert datamap.legal_holds["bookkeeping"]["law"] == {"da": "Bogføringsloven § 10", "en": "Bookkeeping Act § 10"}
    assert datamap.sources["chats"]["name"] == {"da": "Kundeservice-chat", "en": "Customer-service chat"}


def test_a_plain_law_or_source_name_stands_for_both_languages(demo_text):
    def plain(document):
        document["legal_holds"]["bookkeeping"]["law"] = "Bogføringsloven § 10"
        document["sources"]["chats"]["name"] = "Genesys PureCloud"

    datamap = datamap_parse(_changed(demo_text, plain))
    assert datamap.legal_holds["bookkeeping"]["law"] == {"da": "Bogføringsloven § 10", "en": "Bogføringsloven § 10"}
    assert datamap.sources["chats"]["name"] == {"da": "Genesys PureCloud", "en": "Genesys PureCloud"}


def test_a_law_missing_a_language_or_of_the_wrong_shape_is_refused(demo_text):
    def broken(document):
        document["legal_holds"]["bookkeeping"]["law"] = {"da": "Bogføringsloven § 10"}
        document["legal_holds"]["consent_evidence"]["law"] = ["GDPR", "Art. 7"]
        document["sources"]["chats"].pop("name")

    errors = _errors(_changed(demo_text, broken))
    assert "legal_holds.bookkeeping.law.en: is required" in errors
    assert "legal_holds.consent_evidence.law: must be text, or the text in both languages: {da: ..., en: ...}" in errors
    assert "sources.chats.name: is required" in errors


def test_recipient_names_stay_plain_company_names(demo_text):
    errors = _errors(_changed(demo_text, lambda d: d["recipients"]["adyen"].update(name={"da": "A", "en": "A"})))
    assert "recipients.adyen.name: must be text" in errors


# --- record groups --------------------------------------------------------------------------


def test_each_group_carries_its_own_purposes_and_recipients_or_the_sources(payments):
    groups = payments.sources["shop"]["groups"]
    assert groups["card"] == {
        "purposes": ["card_payment"],
        "purposes_declared": True,
        "recipients": ["card_processor", "invoice_processor"],
        "recipients_declared": False,
        "categories": ["financial"],
        "records_consents": False,
        "identifiers": {},
        "hold": None,
    }
    assert groups["newsletter_subscription"]["recipients"] == ["mailer"]
    assert groups["newsletter_subscription"]["recipients_declared"] is True
    assert groups["consent"]["records_consents"] is True


def test_a_group_that_names_no_purposes_serves_its_sources(described_kind, payments_document):
    payments_document["sources"]["shop"]["tables"]["orders"] = {"purposes": None, "categories": ["transaction"]}
    payments_document["sources"]["shop"]["tables"]["archive"] = None
    groups = map_parse(payments_document).sources["shop"]["groups"]
    assert groups["orders"]["purposes"] == ["purchase", "card_payment", "invoice_payment", "newsletter", "ads"]
    assert groups["orders"]["purposes_declared"] is False
    assert groups["archive"] == {
        "purposes": ["purchase", "card_payment", "invoice_payment", "newsletter", "ads"],
        "purposes_declared": False,
        "recipients": ["card_processor", "invoice_processor"],
        "recipients_declared": False,
        "categories": [],
        "records_consents": False,
        "identifiers": {},
        "hold": None,
    }


def test_a_group_that_declares_no_recipients_has_none(described_kind, payments_document):
    payments_document["sources"]["shop"]["tables"]["orders"]["recipients"] = []
    groups = map_parse(payments_document).sources["shop"]["groups"]
    assert (groups["orders"]["recipients"], groups["orders"]["recipients_declared"]) == ([], True)


def test_unknown_keys_a_connector_describes_are_refused_where_the_file_names_the_group(
    described_kind, payments_document
):
    tables = payments_document["sources"]["shop"]["tables"]
    tables["card"]["purposes"] = ["card_payments"]
    tables["orders"]["recipients"] = ["courier"]
    tables["orders"]["categories"] = ["logistics"]
    errors = _document_errors(payments_document)
    assert 'sources.shop.tables.card.purposes: unknown purpose "card_payments"' in errors
    assert 'sources.shop.tables.orders.recipients: unknown recipient "courier"' in errors
    assert 'sources.shop.tables.orders.categories: unknown category "logistics"' in errors


def test_an_invalid_configuration_is_reported_and_not_described(described_kind, payments_document):
    payments_document["sources"]["shop"]["tables"]["card"] = "everything"
    assert _document_errors(payments_document) == ["sources.shop.tables.card: must be a mapping"]


def test_a_source_worked_by_hand_is_one_group_with_the_sources_purposes(demo_text):
    def by_hand(document):
        # The chats worked by hand, as the sources tests map them, for the demo's purposes.
        document["sources"]["chats"] = {
            **CHAT_SOURCE,
            "purposes": ["customer_service", "call_recording"],
            "recipients": ["genesys"],
        }

    datamap = datamap_parse(_changed(demo_text, by_hand))
    assert list(datamap.sources["chats"]["groups"]) == ["task"]
    task = datamap.sources["chats"]["groups"]["task"]
    assert (task["purposes"], task["purposes_declared"]) == (["customer_service", "call_recording"], False)


def test_the_demo_shop_says_which_identifier_is_which_kind_of_data_and_which_tables_are_kept(demo_text):
    groups = datamap_parse(demo_text).sources["shop"]["groups"]
    assert groups["customer"]["identifiers"] == {"email": "contact", "phone": "contact", "customer_number": "identity"}
    assert groups["invoice"]["hold"] == "bookkeeping"
    assert groups["consent"]["records_consents"] is True


# --- reachability -------------------------------------------------------------------------


def test_a_recipient_no_purpose_or_source_leads_to_is_refused(described_kind, payments_document):
    payments_document["recipients"]["courier"] = {
        "name": "Fragtfirma A/S",
        "role": "processor",
        "country": "DK",
        "safeguard": {"da": "Ikke nødvendig", "en": "None needed"},
    }
    assert _document_errors(payments_document) == [
        "recipients.courier: reachable from no purpose or source; name it under a source's recipients or give it "
        "purposes"
    ]


def test_a_recipient_named_only_on_a_group_is_reachable(described_kind, payments_document):
    payments_document["recipients"]["mailer"]["purposes"] = []
    datamap = map_parse(payments_document)
    assert datamap.recipients["mailer"]["purposes"] == []


def test_a_recipient_with_purposes_is_reachable_though_no_source_names_it(payments):
    assert payments.recipients["ad_platform"]["purposes"] == ["ads"]
