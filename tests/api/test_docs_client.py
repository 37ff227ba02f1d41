"""A client written from docs/api.md alone: the quick start's commands, run against a live server over HTTP.

The key is created with the command the quick start shows, and the request is
filed with the quick start's body and headers, so a change that makes the page
wrong fails here.
"""

import io
import json
import re
import shlex
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOCUMENTED_HOST = "http://127.0.0.1:8000"


def _quick_start() -> str:
    text = DOCS.read_text()
    return text.split("## Quick start for an integration", 1)[1].split("\n## ", 1)[0]


def _commands(section: str) -> list[list[str]]:
    """Return the shell commands of the section's code blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(shlex.split(line))
    return commands


def _curl(argv: list[str], token: str, base_url: str) -> requests.Response:
    """Do what a curl command line of the docs does (-X, -H, -d), with $TOKEN and the host replaced."""
    method, headers, data, url = "GET", {}, None, ""
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, value = next(args).split(":", 1)
            headers[name.strip()] = value.strip().replace("$TOKEN", token)
        elif arg == "-d":
            data = next(args)
        elif arg.startswith("http"):
            url = arg.replace(DOCUMENTED_HOST, base_url)
    return requests.request(method, url, headers=headers, data=data, timeout=30)


@pytest.mark.django_db(transaction=True)
def test_the_quick_start_files_a_verified_request_and_follows_it(live_server):
    commands = _commands(_quick_start())
    create_key = next(c for c in commands if "dsr_apikey_create" in c)
    out = io.StringIO()
    call_command(*create_key[create_key.index("dsr_apikey_create") :], stdout=out, stderr=io.StringIO())
    token = out.getvalue().strip()
    assert token.startswith("dsr_")

    curls = [c for c in commands if c[0] == "curl"]
    assert len(curls) == 2, "the quick start shows filing and following"
    filed = _curl(curls[0], token, live_server.url)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["status"] == "in_progress"
    assert body["verification_required"] is False

    # The quick start's second command follows the reference it shows; follow ours instead.
    documented_reference = re.search(r"DSR-[A-Z0-9-]+", " ".join(curls[1])).group(0)
    follow = [arg.replace(documented_reference, body["reference"]) for arg in curls[1]]
    status = _curl(follow, token, live_server.url)
    assert status.status_code == 200, status.text
    shown = status.json()
    assert shown["reference"] == body["reference"]
    for field in ("status", "due_date", "days_left", "clock_stopped", "outcome_reasons", "refusal_ground", "jobs"):
        assert field in shown, field

    # A retry of the same POST (same Idempotency-Key, same body) files nothing new, as the page promises.
    again = _curl(curls[0], token, live_server.url)
    assert again.status_code == 200
    assert again.json()["reference"] == body["reference"]

    # The schema the page points to is served.
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30)
    assert "/api/v1/requests/{reference}/actions/refuse/" in json.loads(schema.text)["paths"]
