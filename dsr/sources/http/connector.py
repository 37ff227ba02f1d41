"""The `http` connector: a processor's API speaking OpenGDPR.

dsr submits access, portability and erasure requests (``/opengdpr_requests``),
polls their status or receives a signed callback, and fetches the results.
Calls out are signed with HMAC-SHA256 over the timestamp and the body; a
callback's signature is verified before its body is parsed. Connection errors,
timeouts and 5xx answers are retried with backoff, then reported as transient;
4xx answers and anything that is not the expected JSON are permanent.
"""

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import requests
from django.utils import timezone

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    ASYNC,
    AUDIENCE_REMOVAL,
    ERASURE,
    REQUEST,
    ChangeResult,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fact,
    Identifiers,
    Record,
    TablePlan,
)
from dsr.sources.groups import group_lineage_errors
from dsr.sources.http.signing import SIGNATURE_HEADER, STATUSES, callback_parse, signature_make
from dsr.sources.placeholders import config_expand, config_placeholder_errors
from dsr.sources.resolution import identifier_normalise

API_VERSION = "0.1"
REQUEST_TYPES = ("access", "portability", "erasure")
IDENTITY_TYPES = ("email", "controller_customer_id")
IDENTITY_FORMATS = ("raw", "sha256")
CONFIG_KEYS = {
    "url",
    "secret",
    "controller_id",
    "identities",
    "request_types",
    "categories",
    "groups",
    "timeout_seconds",
    "retries",
    "backoff_seconds",
    "callback",
}
GROUP_KEYS = {"purposes", "recipients"}
# The subject_request_id is derived from these, so a retried submission is the same request.
REQUEST_ID_NAMESPACE = uuid.UUID("5b0c8d4e-8a4f-4a53-9a53-6d7372000001")


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


class HttpConnector(Connector):
    """A processor reached over HTTP (OpenGDPR 0.1 request types, identities and statuses)."""

    kind = "http"
    # The processor is sent the request itself: that is the message to it (GDPR Art. 19).
    informs_recipients = True
    accepts_callbacks = True

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        errors = [
            DataMapError(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(CONFIG_KEYS))}")
            for key in config
            if key not in CONFIG_KEYS
        ]
        for key in ("url", "secret"):
            value = config.get(key)
            if not isinstance(value, str) or not value:
                errors.append(DataMapError(f"{path}.{key}", "is required"))
            else:
                errors += [DataMapError(f"{path}.{key}", problem) for problem in config_placeholder_errors(value)]
        url = config.get("url")
        if isinstance(url, str) and not url.startswith(("http://", "https://", "${")):
            errors.append(DataMapError(f"{path}.url", "must be an http:// or https:// address"))
        identities = config.get("identities", [{"type": "email", "format": "sha256"}])
        if not isinstance(identities, list) or not identities:
            errors.append(DataMapError(f"{path}.identities", "must list {type, format} pairs"))
            identities = []
        for index, identity in enumerate(identities):
            identity = _mapping(identity)
            if identity.get("type") not in IDENTITY_TYPES:
                errors.append(DataMapError(f"{path}.identities.{index}.type", f"must be one of {IDENTITY_TYPES}"))
            if identity.get("format", "raw") not in IDENTITY_FORMATS:
                errors.append(DataMapError(f"{path}.identities.{index}.format", "must be raw or sha256"))
        types = config.get("request_types", list(REQUEST_TYPES))
        if not isinstance(types, list) or any(t not in REQUEST_TYPES for t in types):
            errors.append(DataMapError(f"{path}.request_types", f"must list some of {', '.join(REQUEST_TYPES)}"))
        for key in ("timeout_seconds", "backoff_seconds", "retries"):
            if key in config and not _positive_number(config[key]):
                errors.append(DataMapError(f"{path}.{key}", "must be a number of 0 or more"))
        categories = config.get("categories", {})
        if not isinstance(categories, dict) or not all(isinstance(fields, dict) for fields in categories.values()):
            errors.append(DataMapError(f"{path}.categories", "must map record groups to {field: category}"))
        for group, fields in _mapping(categories).items():
            for field, category in _mapping(fields).items():
                if category not in datamap.categories:
                    errors.append(DataMapError(f"{path}.categories.{group}.{field}", f'unknown category "{category}"'))
        groups = config.get("groups", {})
        if not isinstance(groups, dict) or not all(isinstance(group, dict) for group in groups.values()):
            errors.append(DataMapError(f"{path}.groups", "must map record groups to {purposes, recipients}"))
        for name, group in _mapping(groups).items():
            where = f"{path}.groups.{name}"
            group = _mapping(group)
            for key in group:
                if key not in GROUP_KEYS:
                    errors.append(DataMapError(f"{where}.{key}", "unknown key; expected purposes or recipients"))
            errors += group_lineage_errors(group, path=where, datamap=datamap)
        return errors

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        categories, groups = config.get("categories", {}), config.get("groups", {})
        described = {}
        for name in dict.fromkeys([*categories, *groups]):
            group = groups.get(name, {})
            described[name] = {
                "purposes": list(group["purposes"]) if group.get("purposes") is not None else None,
                "recipients": list(group["recipients"]) if group.get("recipients") is not None else None,
                "categories": list(dict.fromkeys(categories.get(name, {}).values())),
            }
        return described

    def capabilities(self) -> frozenset[str]:
        types = self.config.get("request_types", list(REQUEST_TYPES))
        found = {ASYNC}
        if "access" in types:
            found.add(ACCESS)
        if "erasure" in types:
            # An erasure request is also how a partner is asked to drop the person from its audiences.
            found |= {ERASURE, AUDIENCE_REMOVAL}
        return frozenset(found)

    # --- transport -------------------------------------------------------------

    def _base_url(self) -> str:
        return config_expand(self.config["url"], source=self.key).rstrip("/")

    def _secret(self) -> str:
        return config_expand(self.config["secret"], source=self.key)

    def _call(self, method: str, path_or_url: str, payload: dict | None = None, *, missing_ok: bool = False) -> Any:
        """Send one signed call, retrying transient failures; return the parsed JSON (None for a 404 if allowed)."""
        url = path_or_url if path_or_url.startswith("http") else self._base_url() + path_or_url
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        retries = int(self.config.get("retries", 3))
        backoff = float(self.config.get("backoff_seconds", 0.5))
        timeout = float(self.config.get("timeout_seconds", 10))
        secret = self._secret()
        problem = ""
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json",
                SIGNATURE_HEADER: signature_make(secret, body, timestamp=int(time.time())),
            }
            try:
                response = requests.request(method, url, data=body or None, headers=headers, timeout=timeout)
            except requests.Timeout:
                problem = f"the processor did not answer within {timeout:g} seconds"
                continue
            except requests.ConnectionError:
                problem = "the processor could not be reached"
                continue
            if response.status_code >= 500:
                problem = f"the processor answered HTTP {response.status_code}"
                continue
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code in (401, 403):
                # Processors answer a bad signature with 401 or with 403: both mean the shared secret is wrong.
                raise self.error(
                    f"the processor did not accept our signature on {method} {path_or_url}: "
                    f"HTTP {response.status_code}; check the shared secret"
                )
            if response.status_code >= 400:
                raise self.error(
                    f"the processor refused the call to {method} {path_or_url}: HTTP {response.status_code}"
                )
            try:
                return response.json()
            except ValueError:
                raise self.error(
                    f"the processor answered {method} {path_or_url} with something that is not JSON"
                ) from None
        raise self.error(f"{problem} (after {retries + 1} attempts)", permanent=False)

    def _expect(self, data: Any, keys: tuple[str, ...], what: str) -> dict:
        if not isinstance(data, dict) or any(key not in data for key in keys):
            raise self.error(f"the processor's answer to {what} lacks {', '.join(keys)}")
        return data

    # --- the protocol ----------------------------------------------------------

    def _identities(self, identifiers: Identifiers) -> list[dict]:
        """Return the subject_identities to send, hashed where the processor expects hashes."""
        identities = []
        for spec in self.config.get("identities", [{"type": "email", "format": "sha256"}]):
            kind = "email" if spec["type"] == "email" else "customer_number"
            for value in sorted(identifiers.get(kind, set())):
                value = identifier_normalise(kind, value) or ""
                if not value:
                    continue
                if spec.get("format", "raw") == "sha256":
                    value = hashlib.sha256(value.encode()).hexdigest()
                identities.append(
                    {
                        "identity_type": spec["type"],
                        "identity_value": value,
                        "identity_format": spec.get("format", "raw"),
                    }
                )
        return identities

    def _request_id(self, operation: str, identities: list[dict], reference: str) -> str:
        """Return the subject_request_id for ``operation`` of request ``reference``: the same on every retry."""
        # An audience removal is an erasure request of its own, beside any erasure of the same dsr request.
        request_type, seed_reference = {
            ACCESS: ("access", reference),
            ERASURE: ("erasure", reference),
            AUDIENCE_REMOVAL: ("erasure", f"{reference}:{AUDIENCE_REMOVAL}"),
        }[operation]
        seed = json.dumps([self.key, request_type, seed_reference, identities], sort_keys=True)
        return str(uuid.uuid5(REQUEST_ID_NAMESPACE, seed))

    def work_reference(self, operation: str, identifiers: Identifiers, reference: str) -> str:
        if operation not in (ACCESS, ERASURE, AUDIENCE_REMOVAL) or operation not in self.capabilities():
            raise self.unsupported(operation)
        return self._request_id(operation, self._identities(identifiers), reference)

    def callback_verify(self, body: bytes, signature: str | None, *, now: float | None = None) -> dict:
        data = callback_parse(secret=self._secret(), body=body, signature=signature, now=now)
        signed = data["_signed"]
        return {
            "reference": data["subject_request_id"],
            "status": data["request_status"],
            "event_id": signed.event_id,
            "timestamp": signed.timestamp,
            "signature": signed.digest,
        }

    def request_status(self, subject_request_id: str) -> dict | None:
        """Return the processor's status document for a request, or None if it does not know it."""
        data = self._call("GET", f"/opengdpr_requests/{subject_request_id}", missing_ok=True)
        if data is None:
            return None
        data = self._expect(data, ("subject_request_id", "request_status"), "a status query")
        if data["request_status"] not in STATUSES:
            raise self.error(f"the processor reported an unknown status {data['request_status']!r}")
        return data

    def request_submit(self, request_type: str, identities: list[dict], subject_request_id: str) -> tuple[dict, bool]:
        """Submit a request unless the processor already has it; return its status and whether it was new."""
        status = self.request_status(subject_request_id)
        if status is not None:
            return status, False
        payload = {
            "subject_request_id": subject_request_id,
            "subject_request_type": request_type,
            "submitted_time": timezone.now().isoformat(),
            "subject_identities": identities,
            "api_version": API_VERSION,
        }
        if self.config.get("controller_id"):
            payload["controller_id"] = self.config["controller_id"]
        if self.config.get("callback"):
            payload["status_callback_urls"] = [config_expand(self.config["callback"], source=self.key)]
        self._expect(self._call("POST", "/opengdpr_requests", payload), ("subject_request_id",), "a submission")
        return self.request_status(subject_request_id) or {"request_status": "pending"}, True

    def _erasure_submit(self, identities: list[dict], request_id: str, *, table: str, what: str) -> tuple[Fact, bool]:
        """Send an erasure request once; return its Fact and whether the processor says it is done."""
        if not identities:
            # Nothing identifies the person to this processor: nothing is sent, and nothing is there to erase.
            return Fact(table=table, action=REQUEST, found=0), True
        status, new = self.request_submit("erasure", identities, request_id)
        if status["request_status"] == "cancelled":
            raise self.error(f"the processor cancelled the {what} request")
        done = status["request_status"] == "completed"
        # ``changed`` says whether this run sent the request; the processor's rows are its own to count.
        fact = Fact(
            table=table,
            action=REQUEST,
            found=None,
            changed=int(new),
            confirmed=True if done else None,
            reference=request_id,
        )
        return fact, done

    def test_connection(self) -> None:
        data = self._expect(
            self._call("GET", "/discovery"), ("api_version", "supported_subject_request_types"), "discovery"
        )
        wanted = set(self.config.get("request_types", REQUEST_TYPES))
        missing = wanted - set(data["supported_subject_request_types"] or [])
        if missing:
            raise self.error(f"the processor does not support {', '.join(sorted(missing))} requests")

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        if ACCESS not in self.capabilities():
            raise self.unsupported("access")
        identities = self._identities(identifiers)
        if not identities:
            return
        request_id = self._request_id(ACCESS, identities, reference)
        status, _ = self.request_submit("access", identities, request_id)
        if status["request_status"] == "cancelled":
            raise self.error("the processor cancelled the access request")
        if status["request_status"] != "completed":
            raise self.error("the processor has not finished the access request yet", permanent=False)
        if not status.get("results_url"):
            return
        results = self._call("GET", status["results_url"])
        if not isinstance(results, dict):
            raise self.error("the processor's results are not a JSON object")
        categories = self.config.get("categories", {})
        for group, rows in results.items():
            if not isinstance(rows, list):
                continue
            for row in rows:
                if isinstance(row, dict):
                    yield Record(
                        source=self.key,
                        table=group,
                        row=row,
                        categories={f: c for f, c in categories.get(group, {}).items() if f in row},
                        provided=group in self.source.get("provided_by_subject", []),
                    )

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        if ERASURE not in self.capabilities():
            raise self.unsupported("erasure")
        identities = self._identities(identifiers)
        request_id = self._request_id(ERASURE, identities, reference)
        held = [category for fields in self.config.get("categories", {}).values() for category in fields.values()]
        table = TablePlan(
            table="processor", action=REQUEST, count=len(identities), categories=list(dict.fromkeys(held))
        )
        return ErasurePlan(
            source=self.key,
            kind=self.kind,
            tables=[table],
            extra={"subject_request_id": request_id, "subject_identities": identities},
        )

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        request_id = plan.extra["subject_request_id"]
        fact, done = self._erasure_submit(
            plan.extra["subject_identities"], request_id, table=plan.tables[0].table, what="erasure"
        )
        return ErasureResult(source=self.key, facts=[fact], complete=done, reference=fact.reference)

    def audience_remove(self, identifiers: Identifiers, *, reference: str = "") -> ChangeResult:
        # GDPR Art. 7(3), 21(3): the partner is sent an erasure request for the person; there is no plan to approve.
        if AUDIENCE_REMOVAL not in self.capabilities():
            raise self.unsupported("audience removal")
        identities = self._identities(identifiers)
        request_id = self._request_id(AUDIENCE_REMOVAL, identities, reference)
        fact, done = self._erasure_submit(identities, request_id, table="audience", what="audience removal")
        return ChangeResult(
            source=self.key, operation=AUDIENCE_REMOVAL, facts=[fact], complete=done, reference=fact.reference
        )
