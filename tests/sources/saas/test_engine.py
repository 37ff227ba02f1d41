"""The saas engine's parts: paths, templates, page and link pagination, an API key header, Retry-After as a date."""

import email.utils
import hashlib
import time
from pathlib import Path

import pytest

from dsr.demo.vendors.base import Call, Reply, VendorFake, serve
from dsr.sources.base import DELETE, SourcePermanentError
from dsr.sources.saas.client import _retry_after, answer_failure
from dsr.sources.saas.paths import TemplateError, path_errors, path_values, template_errors, template_fill
from tests.sources.saas.conftest import saas_connector

# A system of one's own: a YAML file and a stand-in, no Python in dsr.
ACME = """
# Acme CRM (test): contacts paged by number, their orders by Link header.
name: Acme CRM
version: 1
api_version: "1"
base_url: https://api.acme.example
secrets: [key]
auth: {kind: header, name: X-Api-Key, value: "{secrets.key}"}
identify:
  - by: email
    request: {method: GET, path: "/contacts/{identity|lower|md5}"}
    records: "[*]"
    subject: {id: id}
groups:
  contacts:
    request: {method: GET, path: /contacts, query: {owner: "{subject.id}"}}
    records: items[*]
    paginate: {kind: page, param: page, start: 1, size: 2, size_param: per_page}
    key: id
    fields: {name: identity}
  orders:
    request: {method: GET, path: "/contacts/{subject.id}/orders", query: {sort: id}}
    records: "[*]"
    paginate: {kind: link, max_pages: 3}
    key: id
    fields: {total: transaction}
erase:
  orders:
    action: delete
    steps:
      - request: {method: DELETE, path: "/orders/{record.key}"}
        per: record
        gone: [404]
  contacts:
    action: delete
    steps:
      - request: {method: DELETE, path: "/contacts/{subject.id}"}
"""
KEY = "acme-test-key"


class AcmeFake(VendorFake):
    routes = (
        ("GET", r"/contacts/(?P<digest>[0-9a-f]{32})", "lookup"),
        ("GET", r"/contacts", "contacts"),
        ("GET", r"/contacts/(?P<contact>c\d+)/orders", "orders"),
        ("DELETE", r"/orders/(?P<order>o\d+)", "order_delete"),
        ("DELETE", r"/contacts/(?P<contact>c\d+)", "contact_delete"),
    )

    def authenticated(self, call: Call) -> bool:
        return call.headers.get("x-api-key") == KEY

    def lookup(self, call: Call, digest: str) -> Reply:
        return Reply(
            200, [{"id": "c1"}] if digest == hashlib.md5(b"mette@example.dk", usedforsecurity=False).hexdigest() else []
        )

    def contacts(self, call: Call) -> Reply:
        page, size = int(call.param("page")), int(call.param("per_page"))
        items = [{"id": f"p{index}", "name": f"Person {index}"} for index in range(5)]
        return Reply(200, {"items": items[(page - 1) * size : page * size]})

    def orders(self, call: Call, contact: str) -> Reply:
        page = int(call.param("page") or 1)
        orders = self.store.items("orders")
        chunk = orders[(page - 1) * 2 : page * 2]
        headers = (
            {"Link": f'<{self.url}/contacts/{contact}/orders?page={page + 1}>; rel="next"'}
            if page * 2 < len(orders)
            else {}
        )
        return Reply(200, chunk, headers)

    def order_delete(self, call: Call, order: str) -> Reply:
        return Reply(204) if self.store.delete("orders", order) else self.error(404, "no such order")

    def contact_delete(self, call: Call, contact: str) -> Reply:
        return Reply(204)


@pytest.fixture
def acme(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ACME_KEY", KEY)
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    fake = AcmeFake()
    for index in range(5):
        fake.store.put("orders", f"o{index}", {"id": f"o{index}", "total": 100 + index})
    server = serve(fake)
    fake.entry = str(tmp_path / "acme.yaml")
    yield fake
    server.shutdown()
    server.server_close()


def test_pages_by_number_and_by_link_header_are_all_read_with_the_key_in_its_header(acme):
    connector = saas_connector(acme.entry, acme.url, secrets={"key": "${env:ACME_KEY}"})

    records = list(connector.records({"email": {"Mette@Example.dk"}}))

    assert [record.row["id"] for record in records if record.table == "contacts"] == [f"p{i}" for i in range(5)]
    assert [record.row["id"] for record in records if record.table == "orders"] == [f"o{i}" for i in range(5)]
    assert [call.param("page") for call in acme.calls_to("GET", "/contacts") if call.path == "/contacts"] == [
        "1",
        "2",
        "3",
    ]
    lookup = acme.calls[0]
    assert lookup.path == "/contacts/" + hashlib.md5(b"mette@example.dk", usedforsecurity=False).hexdigest()
    # A next page is asked for at the address the Link header gave, as given: the first page's query is not added.
    pages = [call for call in acme.calls_to("GET", "/contacts/c1/orders")]
    assert [sorted(call.query) for call in pages] == [["sort"], ["page"], ["page"]]
    assert acme.refusals == []


def test_more_pages_than_max_pages_is_an_error_not_a_short_answer(acme):
    for index in range(5, 9):
        acme.store.put("orders", f"o{index}", {"id": f"o{index}", "total": 1})
    connector = saas_connector(acme.entry, acme.url, secrets={"key": "${env:ACME_KEY}"})

    with pytest.raises(SourcePermanentError, match="orders has more than 3 pages"):
        list(connector.records({"email": {"mette@example.dk"}}))


def test_records_erased_per_record_are_counted_from_the_answers(acme):
    connector = saas_connector(acme.entry, acme.url, secrets={"key": "${env:ACME_KEY}"})
    plan = connector.erasure_plan({"email": {"mette@example.dk"}})

    result = connector.erasure_execute(plan)

    assert [(fact.table, fact.action, fact.changed) for fact in result.facts] == [
        ("orders", DELETE, 5),
        ("contacts", DELETE, 5),
    ]
    assert acme.store.items("orders") == []
    again = connector.erasure_execute(plan)
    assert (again.facts[0].table, again.facts[0].found, again.facts[0].changed) == ("orders", 5, 0)


def test_paths_pick_what_they_name():
    answer = {"data": [{"id": "a", "tags": [1, 2]}, {"id": "b", "tags": [3]}], "meta": {"next": None}}

    assert path_values(answer, "data[*].id") == ["a", "b"]
    assert path_values(answer, "data[-1].id") == ["b"]
    assert path_values(answer, "data[*].tags[*]") == [1, 2, 3]
    assert path_values(answer, "meta.next") == [None]
    assert path_values(answer, "meta.missing") == []
    assert path_values([1, 2], "[*]") == [1, 2]
    assert path_values(answer, ".") == [answer]
    assert path_errors("data[*")
    assert path_errors("")
    assert path_errors("a..b")


def test_templates_fill_slots_encode_path_values_and_refuse_what_is_missing():
    values = {"identity": "Mette@Example.dk", "subject": {"id": "a/b", "obj": {"k": 1}}}

    assert template_fill("email:'{identity|lower}'", values) == "email:'mette@example.dk'"
    assert template_fill("/c/{subject.id}", values, quote_path=True) == "/c/a%2Fb"
    assert template_fill({"subject": "{subject.obj}", "n": 3}, values) == {"subject": {"k": 1}, "n": 3}
    with pytest.raises(TemplateError, match=r"\{subject.name\} has no value here"):
        template_fill("{subject.name}", values)
    assert template_errors("{nobody}") == [
        "{nobody}: unknown value; a slot starts with one of "
        "identity, subject, record, job, secrets, settings, reference, correct, value"
    ]


def test_retry_after_is_read_as_whole_or_decimal_seconds_or_as_a_date():
    assert _retry_after("7") == 7.0
    assert _retry_after("2.0") == 2.0
    assert _retry_after(" 0.5 ") == 0.5
    assert _retry_after("-1") is None
    assert _retry_after("1e3") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after(later) <= 31
    assert _retry_after("soon") is None
    assert _retry_after(None) is None


def test_templates_take_a_doubled_brace_as_one_brace():
    query = "mutation m($id: ID!) {{ erase(id: $id) {{ userErrors {{ code }} }} }}"

    assert template_errors(query) == []
    assert template_fill({"q": query, "id": "gid://c/{subject.id}"}, {"subject": {"id": 7}}) == {
        "q": "mutation m($id: ID!) { erase(id: $id) { userErrors { code } } }",
        "id": "gid://c/7",
    }
    assert template_errors("{ erase }") == [
        '"{ erase }" has a slot that is not {name}, {name.field} or {name|filter} '
        "(a brace that is meant as itself is written twice: {{ or }})"
    ]


GRAPHQL_RULES = [
    {"path": "errors[*]", "code": "extensions.code", "transient": ["THROTTLED"]},
    {"path": "data.erase.userErrors[*]", "code": "code", "missing": ["DOES_NOT_EXIST"], "permanent": ["FAILED"]},
]


def test_an_error_rule_tells_a_failure_inside_a_success_and_repeats_only_the_codes_it_lists():
    taken = {"data": {"erase": {"customerId": "c1", "userErrors": []}}}
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    gone = {"data": {"erase": {"userErrors": [{"message": "no such customer", "code": "DOES_NOT_EXIST"}]}}}
    refused = {"data": {"erase": {"userErrors": [{"message": "mette@example.dk is locked", "code": "LOCKED"}]}}}
    mixed = {"errors": [{"extensions": {"code": "THROTTLED"}}, {"extensions": {"code": "INTERNAL"}}]}

    assert answer_failure(taken, GRAPHQL_RULES) is None
    assert answer_failure(None, GRAPHQL_RULES) is None
    assert answer_failure(throttled, GRAPHQL_RULES) == ("transient", "errors[*]", ["THROTTLED"])
    assert answer_failure(gone, GRAPHQL_RULES) == ("missing", "data.erase.userErrors[*]", ["DOES_NOT_EXIST"])
    # A code the rule does not list is a permanent failure, and is not repeated: its text may be a person's.
    assert answer_failure(refused, GRAPHQL_RULES) == ("permanent", "data.erase.userErrors[*]", [])
    assert answer_failure(mixed, GRAPHQL_RULES) == ("permanent", "errors[*]", ["THROTTLED"])
    # Adyen's result: any value but the ones under ok is a failure.
    adyen = {"path": "result", "ok": ["SUCCESS"], "missing": ["PAYMENT_NOT_FOUND"]}
    assert answer_failure({"result": "SUCCESS"}, adyen) is None
    assert answer_failure({"result": "PAYMENT_NOT_FOUND"}, adyen) == ("missing", "result", ["PAYMENT_NOT_FOUND"])
    assert answer_failure({"result": "ACTIVE_RECURRING_TOKEN_EXISTS"}, adyen) == ("permanent", "result", [])
