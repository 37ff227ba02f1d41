"""The saas kind's configuration: the map's keys and the catalogue entry, each error at its path."""

from pathlib import Path

import pytest
import yaml

from dsr.datamap.schema import DataMapInvalid
from dsr.sources.saas.spec import CATALOGUE_DIR, catalogue_names, spec_errors, spec_load
from tests.sources.saas.conftest import saas_connector

STRIPE_SECRETS = {"api_key": "${env:STRIPE_KEY}"}


def _errors(**config) -> list[str]:
    with pytest.raises(DataMapInvalid) as raised:
        saas_connector(config.pop("system", "stripe"), config.pop("url", "https://api.stripe.com"), **config)
    return [str(error) for error in raised.value.errors]


@pytest.mark.parametrize("name", catalogue_names())
def test_every_catalogue_entry_is_valid_and_says_what_it_can_and_cannot_do(name):
    assert spec_errors(spec_load(name)) == []
    header = (CATALOGUE_DIR / f"{name}.yaml").read_text(encoding="utf-8").split("\nname:")[0]
    assert "# Can:" in header
    assert "# Cannot:" in header
    assert "Follows" in header


def test_the_catalogue_holds_the_four_first_entries():
    assert {"genesys_cloud", "mailchimp", "stripe", "zendesk"} <= set(catalogue_names())


def test_a_secret_written_into_the_map_is_refused():
    errors = _errors(secrets={"api_key": "sk_live_abc"})

    assert "sources.vendor.secrets.api_key: must come from the environment (${env:NAME}), not the map" in errors


def test_missing_and_unknown_secrets_and_settings_are_named():
    errors = _errors(system="mailchimp", url=None, secrets={"token": "${env:X}"}, settings={"region": "x"})

    assert "sources.vendor.secrets.api_key: is required by mailchimp.yaml: give it as ${env:NAME}" in errors
    assert "sources.vendor.secrets.token: mailchimp.yaml declares no such secret" in errors
    assert "sources.vendor.settings.dc: is required by mailchimp.yaml" in errors
    assert "sources.vendor.settings.region: mailchimp.yaml declares no such setting" in errors


def test_an_unknown_system_names_the_catalogue():
    errors = _errors(system="acme")

    assert errors[0].startswith('sources.vendor.system: no catalogue entry "acme" (acme.yaml); the catalogue has ')
    assert "stripe" in errors[0]


def test_a_pinned_version_that_moved_on_is_reported():
    errors = _errors(secrets=STRIPE_SECRETS, version=0)

    assert errors == [
        "sources.vendor.version: the map was written for version 0 of stripe.yaml, which is now version 3; "
        "read its changes and set version: 3"
    ]


def test_categories_holds_groups_and_numbers_are_checked_against_the_map():
    errors = _errors(
        secrets=STRIPE_SECRETS,
        categories={"financial": "money"},
        holds={"charges": "tax", "customers": "bookkeeping"},
        groups={"invoices": {"purposes": ["account"]}, "charges": {"purposes": ["marketing"], "colour": "red"}},
        retries=-1,
        rate_limit={"per_second": 0},
        jobs={"wait": 3},
        colour="red",
    )

    assert set(errors) >= {
        'sources.vendor.categories.financial: unknown category "money"',
        "sources.vendor.holds.customers: stripe.yaml keeps no group 'customers'",
        "sources.vendor.holds.charges: stripe.yaml keeps charges under a legal hold: name one of the map's "
        "legal_holds (unknown: 'tax')",
        "sources.vendor.groups.invoices: stripe.yaml has no record group 'invoices'",
        'sources.vendor.groups.charges.purposes: unknown purpose "marketing"',
        "sources.vendor.groups.charges.colour: unknown key; expected purposes or recipients",
        "sources.vendor.retries: must be a number of 0 or more",
        "sources.vendor.rate_limit.per_second: must be a number above 0",
        "sources.vendor.jobs.wait: unknown key; expected wait_seconds or interval_seconds",
    }
    assert any(error.startswith("sources.vendor.colour: unknown key") for error in errors)


def test_an_entry_of_ones_own_is_checked_with_each_error_at_its_place_in_the_file(tmp_path: Path):
    entry = yaml.safe_load((CATALOGUE_DIR / "stripe.yaml").read_text(encoding="utf-8"))
    entry["auth"] = {"kind": "digest"}
    entry["groups"]["charges"]["paginate"] = {"kind": "cursor", "from": "data[-1].id"}
    entry["groups"]["charges"]["records"] = "data[*"
    entry["groups"]["charges"]["request"]["path"] = "/v1/charges/{subject.id|rot13}"
    entry["identify"][0]["request"]["query"]["query"] = "email:'{identity}' {secrets.password}"
    entry["erase"]["payment_methods"] = {"action": "delete"}
    entry["erase"]["refunds"] = {"action": "keep"}
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")

    errors = _errors(system=str(path), secrets=STRIPE_SECRETS)

    where = "sources.vendor.system (acme.yaml: "
    assert set(errors) >= {
        f"{where}auth.kind): must be one of none, header, bearer, basic, oauth2_client_credentials",
        f"{where}groups.charges.paginate.param): must name the query parameter the cursor is sent in",
        f'{where}groups.charges.records): "data[*" is not a path: use names, dots, [*] and [n] (e.g. data[*].id)',
        f"{where}groups.charges.request.path): {{subject.id|rot13}}: unknown filter 'rot13'; known: lower, upper, "
        "trim, md5, sha256, urlencode",
        f"{where}identify.0.request.query): {{secrets.password}}: "
        "the entry declares no secret 'password' under secrets",
        f"{where}erase.payment_methods): action delete needs exactly one of steps or with",
        f'{where}erase.refunds): unknown record group "refunds"; erase names groups of groups',
    }


def test_an_entry_that_is_not_yaml_is_an_error_not_a_crash(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed", encoding="utf-8")

    errors = _errors(system=str(path))

    assert errors[0].startswith("sources.vendor.system: broken.yaml cannot be read as YAML")


def test_error_rules_a_body_cursor_and_a_request_reference_are_checked_where_they_stand(tmp_path: Path):
    entry = yaml.safe_load((CATALOGUE_DIR / "stripe.yaml").read_text(encoding="utf-8"))
    entry["groups"]["charges"]["request"]["error"] = [{"path": "errors[*", "code": 3, "transient": "THROTTLED"}]
    entry["groups"]["customers"]["request"]["error"] = {"paths": "errors"}
    entry["groups"]["charges"]["paginate"]["in"] = "body"
    entry["identify"][0]["paginate"]["in"] = "header"
    entry["erase"]["customers"]["reference"] = "id"
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")

    errors = _errors(system=str(path), secrets=STRIPE_SECRETS)

    where = "sources.vendor.system (acme.yaml: "
    assert set(errors) >= {
        f'{where}groups.charges.request.error.0.path): "errors[*" is not a path: use names, dots, [*] and [n] '
        "(e.g. data[*].id)",
        f"{where}groups.charges.request.error.0.code): must be a path such as data[*] or . (the whole answer)",
        f"{where}groups.charges.request.error.0.transient): must list the error codes (text) that mean transient",
        f"{where}groups.customers.request.error.paths): unknown key; expected one of code, missing, ok, path, "
        "permanent, transient",
        f"{where}groups.customers.request.error.path): must be a path such as data[*] or . (the whole answer)",
        f"{where}groups.charges.paginate.in): a cursor in the body needs a request with a JSON body (body: {{...}})",
        f"{where}identify.0.paginate.in): must be query (the cursor as a query parameter) or body (a key of the JSON "
        "body; dots for a key inside one, e.g. variables.after)",
        f"{where}erase.customers.reference): only a request sent by steps (no job) takes its reference so",
    }


def test_rectify_and_withdraw_are_checked_where_they_stand(tmp_path: Path):
    entry = yaml.safe_load((CATALOGUE_DIR / "stripe.yaml").read_text(encoding="utf-8"))
    entry["rectify"]["customers"]["name"]["steps"][0]["per"] = "subject"
    entry["rectify"]["customers"]["name"]["field"] = "name["
    entry["rectify"]["refunds"] = {"name": {"field": "name", "steps": []}}
    entry["rectify"]["charges"] = {
        "name": {"field": "billing_details.name", "steps": [{"request": {"path": "/x"}, "per": "record"}]}
    }
    entry["withdraw"] = {"customers": {"field": "status", "withdrawn": [], "steps": "PATCH"}}
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")

    errors = _errors(system=str(path), secrets=STRIPE_SECRETS)

    where = "sources.vendor.system (acme.yaml: "
    assert set(errors) >= {
        f"{where}rectify.customers.name.steps.0.per): a correction is sent per record (per: record)",
        f'{where}rectify.customers.name.field): "name[" is not a path: use names, dots, [*] and [n] (e.g. data[*].id)',
        f'{where}rectify.refunds): unknown record group "refunds"; rectify names groups of groups',
        f"{where}rectify.charges.name.steps.0.request.method): must be one of DELETE, GET, PATCH, POST, PUT",
        f"{where}withdraw.customers.withdrawn): must list the values of field that mean the consent is not given",
        f"{where}withdraw.customers.steps): must list the requests to send",
    }


def test_restrict_is_checked_where_it_stands(tmp_path: Path):
    entry = yaml.safe_load((CATALOGUE_DIR / "stripe.yaml").read_text(encoding="utf-8"))
    entry["restrict"]["customers"]["steps"][0]["per"] = "subject"
    entry["restrict"]["customers"]["lifted"] = "true"
    entry["restrict"]["refunds"] = {"field": "metadata.x", "restricted": "yes", "steps": []}
    entry["restrict"]["charges"] = {"field": "metadata[", "restricted": "", "colour": "red", "steps": "POST"}
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")

    errors = _errors(system=str(path), secrets=STRIPE_SECRETS)

    where = "sources.vendor.system (acme.yaml: "
    assert set(errors) >= {
        f"{where}restrict.customers.steps.0.per): a restriction mark is sent per record (per: record)",
        f"{where}restrict.customers.lifted): must give the value that means not restricted (text; empty: no value)",
        f'{where}restrict.refunds): unknown record group "refunds"; restrict names groups of groups',
        f'{where}restrict.charges.field): "metadata[" is not a path: use names, dots, [*] and [n] (e.g. data[*].id)',
        f"{where}restrict.charges.restricted): must give the value of field that means restricted (text)",
        f"{where}restrict.charges.steps): must list the requests to send",
    }
    assert any(error.startswith(f"{where}restrict.charges.colour)") for error in errors)
