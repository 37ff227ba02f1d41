"""The data map's labels for tables and columns: checked at load with paths, read back for the export bundle."""

import copy

import pytest
import yaml

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid
from dsr.sources.django_models import DjangoConnector
from dsr.sources.sql import SqlConnector
from tests.rights.conftest import DEMO_MAP
from tests.sources.django_models.test_connector import MODELS
from tests.sources.maps import map_build


def _demo_errors(change) -> list[str]:
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    change(document["sources"]["shop"]["tables"]["customer"])
    with pytest.raises(DataMapInvalid) as invalid:
        datamap_parse(yaml.safe_dump(document, allow_unicode=True))
    return [str(error) for error in invalid.value.errors]


def test_the_demo_maps_labels_are_read_back_per_table_and_column():
    datamap = datamap_parse(DEMO_MAP.read_text(encoding="utf-8"))
    labels = SqlConnector.column_labels(datamap.sources["shop"]["config"])
    assert labels["customer"]["label"] == {"da": "Kundekonto", "en": "Customer account"}
    assert labels["customer"]["columns"]["customer_no"] == {"da": "Kundenummer", "en": "Customer number"}
    assert labels["orders"]["columns"]["total_dkk"] == {"da": "I alt (kr.)", "en": "Total (DKK)"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda t: t["labels"].update(email="E-mail"),
            "sources.shop.tables.customer.labels.email: must give the label in both languages: {da: ..., en: ...}",
        ),
        (
            lambda t: t["labels"].update(email={"da": "E-mail"}),
            "sources.shop.tables.customer.labels.email: must give the label in both languages: {da: ..., en: ...}",
        ),
        (
            lambda t: t["labels"].update(email={"da": "E-mail", "en": " "}),
            "sources.shop.tables.customer.labels.email: must give the label in both languages as text, neither empty",
        ),
        (
            lambda t: t.update(labels=["email"]),
            "sources.shop.tables.customer.labels: must map columns to labels, e.g. {customer_no: {da: ..., en: ...}}",
        ),
        (
            lambda t: t.update(label="Kunde"),
            "sources.shop.tables.customer.label: must give the label in both languages: {da: ..., en: ...}",
        ),
    ],
)
def test_a_bad_label_is_refused_with_its_path(change, error):
    assert error in _demo_errors(change)


def test_a_table_without_labels_has_none():
    datamap = datamap_parse(DEMO_MAP.read_text(encoding="utf-8"))
    config = copy.deepcopy(datamap.sources["shop"]["config"])
    del config["tables"]["address"]["label"], config["tables"]["address"]["labels"]
    assert SqlConnector.column_labels(config)["address"] == {"label": None, "columns": {}}


def _project(models: dict) -> dict:
    return {
        "project": {
            "name": "Shop accounts",
            "kind": "django",
            "purposes": ["account"],
            "origin": {"da": "Fra dig", "en": "From you"},
            "models": models,
        }
    }


def test_a_django_models_labels_name_its_fields():
    models = copy.deepcopy(MODELS)
    models["auth.User"]["label"] = {"da": "Konto", "en": "Account"}
    models["auth.User"]["labels"] = {"date_joined": {"da": "Oprettet", "en": "Joined"}}
    datamap = map_build(_project(models))
    labels = DjangoConnector.column_labels(datamap.sources["project"]["config"])
    assert labels["auth.User"] == {
        "label": {"da": "Konto", "en": "Account"},
        "columns": {"date_joined": {"da": "Oprettet", "en": "Joined"}},
    }

    models["auth.User"]["labels"]["nickname"] = {"da": "Kaldenavn", "en": "Nickname"}
    with pytest.raises(DataMapInvalid) as invalid:
        map_build(_project(models))
    assert 'sources.project.models.auth.User.labels.nickname: auth.User has no field "nickname"' in [
        str(error) for error in invalid.value.errors
    ]
