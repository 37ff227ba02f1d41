"""Reading the data map file: validation with paths, and texts in both languages."""

import pytest
import yaml

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid


def _changed(text: str, change) -> str:
    document = yaml.safe_load(text)
    change(document)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _errors(text: str) -> list[str]:
    with pytest.raises(DataMapInvalid) as caught:
        datamap_parse(text)
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
    assert 'sources.shop.tables.invoice.link: unknown table "invoices"' in errors
    assert "purposes.payment.legitimate_interest: is required when the legal basis includes (f)" in errors
    assert "purposes.newsletter.name: must give the text in both languages: {da: ..., en: ...}" in errors
    assert any(e.startswith("purposes.purchase.retention_rule: 'after' must be one of") for e in errors)
    assert "purposes.purchase.retention_rule: give the length as years, months and/or days" in errors
    assert 'recipients.adyen.purposes: unknown purpose "payments"' in errors
    assert "recipients.genesys.role: must be processor or controller (got 'partner')" in errors
    assert "controller.cvr: a CVR number has 8 digits" in errors


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
