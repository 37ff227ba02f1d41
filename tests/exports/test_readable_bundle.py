"""The bundle for people: index.html shows the data as labelled tables, and a CSV opens as columns in Excel."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dsr.exports import bundle, readable
from dsr.exports.cells import value_cell
from dsr.exports.readable import value_html
from tests.exports.readable_helpers import HOSTILE, access_opened, data_tables
from tests.rights.conftest import company_map_load, shop_execute
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
DA_MONTHS = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
]
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
DECIMAL = re.compile(r"^-?\d+\.\d+$")


def _spreadsheet(value, language: str) -> str:
    """Return what the readable CSV's cell must say for a JSON value (not a number), independently of the code."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return {"da": ("nej", "ja"), "en": ("no", "yes")}[language][value]
    if isinstance(value, str) and ISO_DATE.match(value):
        day = date.fromisoformat(value)
        return day.strftime("%d-%m-%Y" if language == "da" else "%Y-%m-%d")
    if isinstance(value, str) and ISO_DATETIME.match(value):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo:
            moment = moment.astimezone(COPENHAGEN)
        return moment.strftime("%d-%m-%Y %H:%M:%S" if language == "da" else "%Y-%m-%d %H:%M:%S")
    return str(value)


def _cell_equal(cell: str, value, language: str) -> bool:
    if (isinstance(value, str) and DECIMAL.match(value)) or isinstance(value, float):
        mark = "," if language == "da" else "."
        return "." not in cell.replace(mark, "") and Decimal(cell.replace(mark, ".")) == Decimal(str(value))
    return cell == _spreadsheet(value, language)


def _readable_rows(opened, path: str, language: str) -> list[list[str]]:
    data = opened.files[path]
    assert data.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would misread æ, ø and å"
    delimiter = ";" if language == "da" else ","
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


# --- index.html --------------------------------------------------------------------------------------


def test_danish_index_shows_each_table_with_the_maps_danish_labels_and_values(company, run, staff):
    _request, opened = access_opened(run, staff, language="da")
    index = opened.files["index.html"].decode()
    tables = data_tables(index)
    customer = opened.json("data/shop/customer.json")["records"][0]

    account = tables["Kundekonto"]
    assert account["headings"][:4] == ["Kunde-id*", "Kundenummer", "Fornavn", "Efternavn"]
    assert "Behandling begrænset" in account["headings"]
    (row,) = account["rows"]
    shown = dict(zip(account["headings"], row, strict=True))
    assert shown["Kundenummer"] == customer["customer_no"]
    assert shown["Behandling begrænset"] == "nej"
    birth = date.fromisoformat(customer["birth_date"])
    assert shown["Fødselsdato"] == f"{birth.day}. {DA_MONTHS[birth.month - 1]} {birth.year}"
    assert shown["Deaktiveret"] == "—"

    orders = opened.json("data/shop/orders.json")["records"]
    first = dict(zip(tables["Ordrer"]["headings"], tables["Ordrer"]["rows"][0], strict=True))
    placed = datetime.fromisoformat(orders[0]["placed_at"])
    assert first["Bestilt"] == f"{placed.day}. {DA_MONTHS[placed.month - 1]} {placed.year} kl. {placed:%H:%M}"
    assert first["I alt (kr.)"] == f"{Decimal(orders[0]['total_dkk']):.2f}".replace(".", ",")
    assert len(tables["Ordrer"]["rows"]) == len(orders)

    # Grouped by the kind of data each table mostly holds, in the map's order of categories.
    assert index.index("<h3>Identitetsoplysninger</h3>") < index.index("<h4>Kundekonto")
    assert index.index("<h3>Transaktionsoplysninger</h3>") < index.index("<h4>Ordrer")
    assert index.index("<h4>Kundekonto") < index.index("<h3>Transaktionsoplysninger</h3>")
    # The ids are explained, and the reader is told which file to open in Excel.
    assert "Kunde-id: vores interne nummer for rækken." in index
    assert "Ordre-id: vores interne nummer for en række i en anden af vores tabeller" in index
    assert "<code>.da.csv</code>" in index
    assert 'href="data/shop/customer.da.csv"' in index


def test_english_index_uses_the_english_labels_and_humanises_columns_the_map_does_not_label(company, run, staff):
    _request, opened = access_opened(run, staff, language="en")
    index = opened.files["index.html"].decode()
    tables = data_tables(index)
    customer = opened.json("data/shop/customer.json")["records"][0]

    account = dict(zip(tables["Customer account"]["headings"], tables["Customer account"]["rows"][0], strict=True))
    assert account["Customer number"] == customer["customer_no"]
    assert account["Processing restricted"] == "no"
    birth = date.fromisoformat(customer["birth_date"])
    assert account["Date of birth"] == f"{birth.day} {EN_MONTHS[birth.month - 1]} {birth.year}"
    consents = tables["Consents"]
    assert {dict(zip(consents["headings"], row, strict=True))["Granted"] for row in consents["rows"]} == {"yes"}

    # Chinook has no labels in the map: its table and column names are made into words.
    assert tables["Invoice"]["headings"][:2] == ["Invoice id*", "Customer id*"]
    assert "Billing address" in tables["Invoice"]["headings"]
    assert "Invoice id: our internal number for a row in another of our tables" in index
    assert "<code>.en.csv</code>" in index
    assert "Kundekonto" not in index


def test_a_hostile_value_and_a_hostile_label_are_shown_as_text(company, run, staff):
    shop_execute(company.shop, "UPDATE customer SET first_name = ? WHERE id = 1", HOSTILE)
    company_map_load(
        company,
        lambda document: document["sources"]["shop"]["tables"]["customer"]["labels"].update(
            customer_no={"da": "<b>Nr</b>", "en": "<b>No</b>"}
        ),
    )
    _request, opened = access_opened(run, staff, language="en")
    index = opened.files["index.html"].decode()

    assert "<script" not in index.lower()
    assert "<b>No</b>" not in index
    assert "&lt;b&gt;No&lt;/b&gt;" in index
    account = data_tables(index)["Customer account"]
    assert dict(zip(account["headings"], account["rows"][0], strict=True))["First name"] == HOSTILE
    # The files keep the value as the source holds it, quoted where the separator needs it.
    assert opened.json("data/shop/customer.json")["records"][0]["first_name"] == HOSTILE
    header, row = _readable_rows(opened, "data/shop/customer.en.csv", "en")
    assert row[header.index("First name")] == HOSTILE


def test_a_large_table_shows_its_first_rows_and_says_how_many_more_are_in_the_csv(company, run, staff, monkeypatch):
    monkeypatch.setattr(readable, "PREVIEW_ROWS", 5)
    _request, opened = access_opened(run, staff, language="en")
    index = opened.files["index.html"].decode()

    lines = opened.json("data/chinook/InvoiceLine.json")["records"]
    assert len(lines) == 38
    assert len(data_tables(index)["Invoice line"]["rows"]) == 5
    assert (
        'Only the first 5 rows are shown here; the other 33 are in <a href="data/chinook/InvoiceLine.en.csv">' in index
    )
    assert len(_readable_rows(opened, "data/chinook/InvoiceLine.en.csv", "en")) == 1 + 38


# --- the readable CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["da", "en"])
def test_readable_csv_opens_as_columns_and_matches_the_json_row_for_row(company, run, staff, language):
    _request, opened = access_opened(run, staff, language=language)
    tables = [path for path in opened.files if path.startswith("data/") and path.endswith(".json")]
    assert len(tables) >= 10

    for path in tables:
        document = opened.json(path)
        rows = _readable_rows(opened, f"{path[: -len('.json')]}.{language}.csv", language)
        header, body = rows[0], rows[1:]
        columns = list(document["records"][0]) if document["records"] else []
        assert len(header) == len(columns), path
        assert len(body) == document["records_count"] == len(document["records"]), path
        for record, row in zip(document["records"], body, strict=True):
            assert len(row) == len(columns), (path, row)
            for column, cell in zip(columns, row, strict=True):
                assert _cell_equal(cell, record[column], language), (path, column, cell, record[column])

    header = _readable_rows(opened, f"data/shop/orders.{language}.csv", language)[0]
    assert header == (
        ["Ordre-id", "Ordrenummer", "Kunde-id", "Bestilt", "Leveringsdato", "Status", "I alt (kr.)"]
        if language == "da"
        else ["Order id", "Order number", "Customer id", "Placed", "Delivery date", "Status", "Total (DKK)"]
    )


def test_danish_csv_uses_semicolons_decimal_commas_and_day_month_year(company, run, staff):
    _request, opened = access_opened(run, staff, language="da")
    text = opened.files["data/shop/orders.da.csv"].decode("utf-8-sig")
    order = opened.json("data/shop/orders.json")["records"][0]

    header, first = text.splitlines()[:2]
    assert header == "Ordre-id;Ordrenummer;Kunde-id;Bestilt;Leveringsdato;Status;I alt (kr.)"
    delivery = date.fromisoformat(order["delivery_date"])
    total = f"{Decimal(order['total_dkk']):.2f}".replace(".", ",")
    assert first.startswith(f"{order['id']};{order['order_no']};")
    assert f";{delivery:%d-%m-%Y};{order['status']};{total}" in first


def test_machine_readable_files_stay_as_the_source_holds_them_and_the_manifest_covers_the_readable_ones(
    company, run, staff
):
    request, opened = access_opened(run, staff, language="da")

    assert opened.files["data/shop/customer.csv"].decode("utf-8-sig").splitlines()[0].startswith("id,customer_no,")
    assert opened.csv("data/shop/customer.csv")[0]["processing_restricted"] == "false"
    listed = {entry["path"]: entry for entry in opened.manifest["files"]}
    readable_files = [path for path in listed if path.endswith(".da.csv")]
    assert len(readable_files) == len([path for path in listed if path.endswith(".json") and path.startswith("data/")])
    assert all(listed[path]["language"] == "da" and "records" not in listed[path] for path in readable_files)
    # The request's record count counts each table once (its JSON and CSV carry it, the readable CSV not).
    assert request.bundles.get().records == sum(entry.get("records", 0) for entry in listed.values()) // 2


def test_portability_bundle_has_no_readable_csv(company, file, run, staff):
    request = file("portability")
    tasks_finish(request, staff, run)
    from tests.exports.helpers import bundle_read

    opened = bundle_read(request.bundles.get())
    assert "data/shop/orders.csv" in opened.files
    assert not [path for path in opened.files if path.endswith((".da.csv", ".en.csv"))]


# --- values --------------------------------------------------------------------------------------------


def test_an_aware_time_is_shown_in_the_controllers_time_zone_and_an_empty_cell_as_a_dash():
    assert value_html("2025-06-30T22:30:00+00:00", "da") == "1. juli 2025 kl. 00:30"
    assert value_html("2025-06-30T22:30:15+00:00", "en") == "1 July 2025, 00:30:15"
    assert value_cell("2025-06-30T22:30:00+00:00", "da") == "01-07-2025 00:30:00"
    assert value_cell("2025-06-30T22:30:00.250000+00:00", "en") == "2025-07-01 00:30:00.250000"
    assert value_html(None, "en") == value_html("", "da") == "—"
    assert value_cell(None, "da") == ""


def test_numbers_nested_values_and_text_that_only_looks_like_a_date():
    assert value_html(1.5, "da") == "1,5"
    assert value_cell("1048.0000000000", "da") == "1048,00"
    assert value_cell("0.1250", "en") == "0.125"
    assert value_cell(42, "da") == "42"
    assert value_html({"a": [1, "ø"]}, "en") == '{"a": [1, "ø"]}'
    assert value_cell("2025-13-45", "da") == "2025-13-45"
    assert value_cell("192.168.0.1", "da") == "192.168.0.1"


@pytest.mark.parametrize(
    ("language", "used", "unused"),
    [
        ("en", "Used for: Orders and delivery.", "Not used for any purpose at present."),
        ("da", "Bruges til: Ordrer og levering.", "Bruges ikke til noget formål lige nu."),
    ],
)
def test_a_system_whose_data_serves_no_purpose_now_says_so_instead_of_an_empty_list(language, used, unused):
    # A source whose only purpose rests on a consent the person has not given: purposes_applying finds none.
    def source(name: str, purposes: list[str]) -> dict:
        return {"name": name, "tables": [], "files": [], "purposes": purposes, "recipients": []}

    purpose = "Orders and delivery" if language == "en" else "Ordrer og levering"
    info = {"found": True, "controller": {"name": "Shop"}, "sources": [source("Shop", [purpose]), source("News", [])]}
    page = bundle.index_html({"info": info, "reference": "DSR-TEST", "controller": info["controller"]}, language)
    notes = re.findall(r'<p class="note">(.*?)</p>', page.decode())
    assert notes == [used, unused]
