"""The `meta_audience` connector: Meta Marketing API custom audiences (Facebook, Instagram).

The person's identifiers are normalised as Meta documents (email: trimmed,
lower case; phone: digits with the country code, no "+" and no leading zeros),
hashed with SHA-256 and removed with ``DELETE /{version}/{audience_id}/users``
and ``payload={"schema": [...], "data": [[...], ...]}``, at most 10,000 rows a
call (more go in one session of numbered batches). Meta answers with counts
(``num_received``, ``num_invalid_entries``), never whether the person was in
the audience: that count is what dsr reports.
"""

import json
import uuid
from typing import Any

import requests

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.audiences import AudienceConnector, audience_config_errors

BATCH_LIMIT = 10_000  # rows per call, Meta's limit for audience users
DEFAULT_VERSION = "v21.0"
SCHEMA_KEYS = {"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}
# Meta's error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
TOKEN_CODES = {190, 102, 10, 200}  # the access token expired, was revoked or lacks ads_management
RATE_CODES = {4, 17, 32, 613, 80003}  # application, user, page, call and custom-audience rate limits
TEMPORARY_CODES = {1, 2}  # unknown or temporary error: retry
UNKNOWN_OBJECT_CODES = {100, 803}  # invalid parameter: an audience id that does not exist or is not ours
SESSION_NAMESPACE = uuid.UUID("5b0c8d4e-8a4f-4a53-9a53-6d7372000002")


class MetaAudienceConnector(AudienceConnector):
    """Custom audiences in a Meta ad account, reached with a system user's access token."""

    kind = "meta_audience"
    platform = "Meta"
    secrets = ("access_token",)
    default_url = "https://graph.facebook.com"

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        errors = audience_config_errors(
            config, path=path, keys={"access_token", "api_version"}, secrets=cls.secrets, datamap=datamap
        )
        version = config.get("api_version", DEFAULT_VERSION)
        if not isinstance(version, str) or not version.startswith("v"):
            errors.append(DataMapError(f"{path}.api_version", 'must be a Graph API version such as "v21.0"'))
        return errors

    def normalise(self, kind: str, value: str) -> str | None:
        normal = super().normalise(kind, value)
        if normal and kind == "phone":
            # Meta: digits only, with the country code, without "+" or leading zeros.
            return normal.lstrip("+").lstrip("0") or None
        return normal

    def _session_id(self, audience: dict, reference: str) -> int:
        # The same on every retry of the same request, so Meta sees one session.
        return uuid.uuid5(SESSION_NAMESPACE, f"{self.key}:{audience['id']}:{reference}").int % 2**53

    def remove(self, audience: dict, hashed: dict[str, list[str]], *, reference: str) -> tuple[int, str]:
        hashed = {kind: values for kind, values in hashed.items() if values}
        schema = [SCHEMA_KEYS[kind] for kind in hashed]
        # One row per identifier: a row holds one hash in its column and empty strings elsewhere.
        rows = []
        for column, values in enumerate(hashed.values()):
            for value in values:
                row = [""] * len(schema)
                row[column] = value
                rows.append(row)
        batches = [rows[start : start + BATCH_LIMIT] for start in range(0, len(rows), BATCH_LIMIT)]
        session_id = self._session_id(audience, reference)
        accepted = 0
        for index, batch in enumerate(batches, start=1):
            payload: dict[str, Any] = {"schema": schema, "data": batch}
            session = {
                "session_id": session_id,
                "batch_seq": index,
                "last_batch_flag": index == len(batches),
                "estimated_num_total": len(rows),
            }
            answer = self._delete(audience, payload, session)
            accepted += int(answer.get("num_received", 0)) - int(answer.get("num_invalid_entries", 0))
        return max(accepted, 0), str(session_id)

    def _delete(self, audience: dict, payload: dict, session: dict) -> dict:
        url = f"{self._url()}/{self.config.get('api_version', DEFAULT_VERSION)}/{audience['id']}/users"
        body = {
            "payload": json.dumps(payload, separators=(",", ":")),
            "session": json.dumps(session, separators=(",", ":")),
            "access_token": self._expand(self.config["access_token"]),
        }

        def call(timeout: float) -> requests.Response:
            return requests.delete(url, data=body, timeout=timeout)

        return self.send(call, lambda response: self._answer(response, audience))

    def _answer(self, response: requests.Response, audience: dict) -> dict:
        """Return Meta's answer, or raise the error it means (naming the audience key, never the person)."""
        try:
            data = response.json()
        except ValueError:
            data = None
        where = f'audience "{audience["key"]}"'
        if not isinstance(data, dict):
            transient = response.status_code >= 500
            raise self.error(
                f"Meta answered HTTP {response.status_code} without JSON for {where}", permanent=not transient
            )
        error = data.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            described = f"Meta error {code}"
            if error.get("error_subcode"):
                described += f"/{error['error_subcode']}"
            if code in TOKEN_CODES:
                raise self.error(f"{described} for {where}: the access token expired or lacks ads_management; renew it")
            if code in RATE_CODES:
                raise self.error(f"{described} for {where}: rate limited, retrying later", permanent=False)
            if code in TEMPORARY_CODES or error.get("is_transient"):
                raise self.error(f"{described} for {where}: a temporary error at Meta", permanent=False)
            if code in UNKNOWN_OBJECT_CODES:
                raise self.error(f"{described} for {where}: Meta knows no such audience in this account; check its id")
            raise self.error(f"{described} for {where}: the removal was refused")
        if response.status_code >= 500:
            raise self.error(f"Meta answered HTTP {response.status_code} for {where}", permanent=False)
        if response.status_code >= 400 or "num_received" not in data:
            raise self.error(f"Meta answered HTTP {response.status_code} without a count for {where}")
        if int(data["num_received"]) and int(data.get("num_invalid_entries", 0)) >= int(data["num_received"]):
            raise self.error(f"Meta found every hashed identifier invalid for {where}")
        return data

    def test_connection(self) -> None:
        if not self.credentials_set():
            return
        for audience in self.audiences():
            url = f"{self._url()}/{self.config.get('api_version', DEFAULT_VERSION)}/{audience['id']}"
            params = {"fields": "id,name", "access_token": self._expand(self.config["access_token"])}

            def call(timeout: float, url: str = url, params: dict = params) -> requests.Response:
                return requests.get(url, params=params, timeout=timeout)

            self.send(call, lambda response, audience=audience: self._found(response, audience))

    def _found(self, response: requests.Response, audience: dict) -> dict:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and "error" not in data and response.status_code < 400:
            return data
        return self._answer(response, audience)
