"""The `google_ads` connector: Google Ads API Customer Match user lists.

The person's identifiers are normalised as Google documents (email: trimmed,
lower case, without the dots before "@" in gmail.com and googlemail.com
addresses; phone: E.164, "+" and the country code), hashed with SHA-256 and
removed through an offline user data job: ``offlineUserDataJobs:create`` for
the list, ``:addOperations`` with ``remove`` operations of ``userIdentifiers``
(partial failure on), then ``:run``. Calls carry an OAuth2 access token got
from the refresh token, the ``developer-token`` and, for a manager account,
``login-customer-id``. Google answers that it accepted the operations and
started the job; it never says whether the person was on the list, and the job
itself runs later (up to 24 hours or more): that acceptance is what dsr reports.
"""

from typing import Any

import requests

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.audiences import AudienceConnector, audience_config_errors
from dsr.sources.placeholders import config_placeholder_errors

DEFAULT_VERSION = "v19"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret
BATCH_LIMIT = 10_000  # operations per addOperations call
IDENTIFIER_FIELDS = {"email": "hashedEmail", "phone": "hashedPhoneNumber"}
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


class GoogleAdsConnector(AudienceConnector):
    """Customer Match user lists of a Google Ads customer, reached with an OAuth2 refresh token."""

    kind = "google_ads"
    platform = "Google"
    secrets = ("developer_token", "client_id", "client_secret", "refresh_token", "customer_id")
    default_url = "https://googleads.googleapis.com"

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        keys = {*cls.secrets, "login_customer_id", "api_version", "token_url"}
        errors = audience_config_errors(config, path=path, keys=keys, secrets=cls.secrets, datamap=datamap)
        for key in ("login_customer_id", "token_url"):
            value = config.get(key)
            if value is not None and not isinstance(value, str):
                errors.append(DataMapError(f"{path}.{key}", "must be text"))
            elif isinstance(value, str):
                errors += [DataMapError(f"{path}.{key}", problem) for problem in config_placeholder_errors(value)]
        version = config.get("api_version", DEFAULT_VERSION)
        if not isinstance(version, str) or not version.startswith("v"):
            errors.append(DataMapError(f"{path}.api_version", 'must be a Google Ads API version such as "v19"'))
        return errors

    def normalise(self, kind: str, value: str) -> str | None:
        normal = super().normalise(kind, value)
        if normal and kind == "email":
            local, _, domain = normal.rpartition("@")
            if domain in GMAIL_DOMAINS:
                # Google: dots before the domain of a Gmail address are not part of it.
                return f"{local.replace('.', '')}@{domain}"
        return normal  # phone: already E.164 ("+4512345678")

    # --- transport ---------------------------------------------------------------------

    def _customer(self) -> str:
        return _digits(self._expand(self.config["customer_id"]))

    def _access_token(self) -> str:
        """Return an OAuth2 access token got with the refresh token (a new one per operation)."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self._expand(self.config["client_id"]),
            "client_secret": self._expand(self.config["client_secret"]),
            "refresh_token": self._expand(self.config["refresh_token"]),
        }
        url = self._expand(self.config.get("token_url") or TOKEN_URL)

        def call(timeout: float) -> requests.Response:
            return requests.post(url, data=form, timeout=timeout)

        return self.send(call, self._token_answer)

    def _token_answer(self, response: requests.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 500:
            raise self.error(f"Google's token service answered HTTP {response.status_code}", permanent=False)
        if response.status_code == 429:
            raise self.error("Google's token service is rate limiting, retrying later", permanent=False)
        if response.status_code >= 400 or not isinstance(data, dict) or not data.get("access_token"):
            code = data.get("error", "") if isinstance(data, dict) else ""
            raise self.error(
                f"Google refused the refresh token ({code or response.status_code}): it expired or was revoked, "
                "or the client id and secret are wrong; authorise again"
            )
        return data["access_token"]

    def _post(self, token: str, path: str, body: dict, *, audience: dict) -> dict:
        url = f"{self._url()}/{self.config.get('api_version', DEFAULT_VERSION)}/{path}"
        headers = {
            "Authorization": f"Bearer {token}",
            "developer-token": self._expand(self.config["developer_token"]),
            "Content-Type": "application/json",
        }
        login = self._expand(self.config.get("login_customer_id") or "")
        if login:
            headers["login-customer-id"] = _digits(login)

        def call(timeout: float) -> requests.Response:
            return requests.post(url, json=body, headers=headers, timeout=timeout)

        return self.send(call, lambda response: self._answer(response, audience))

    def _answer(self, response: requests.Response, audience: dict) -> dict:
        """Return Google's answer, or raise the error it means (naming the audience key, never the person)."""
        try:
            data = response.json()
        except ValueError:
            data = None
        where = f'audience "{audience["key"]}"'
        error = data.get("error") if isinstance(data, dict) else None
        status = error.get("status", "") if isinstance(error, dict) else ""
        if response.status_code == 429 or status == "RESOURCE_EXHAUSTED":
            raise self.error(f"Google Ads is rate limiting (RESOURCE_EXHAUSTED) for {where}", permanent=False)
        if response.status_code >= 500 or status in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"):
            raise self.error(f"Google Ads answered HTTP {response.status_code} {status} for {where}", permanent=False)
        if response.status_code == 401 or status == "UNAUTHENTICATED":
            raise self.error(f"Google Ads did not accept the access token (UNAUTHENTICATED) for {where}")
        if response.status_code == 403 or status == "PERMISSION_DENIED":
            raise self.error(
                f"Google Ads refused access (PERMISSION_DENIED) for {where}: check the developer token, "
                "customer_id and login_customer_id"
            )
        codes = _error_codes(error)
        if response.status_code == 404 or status == "NOT_FOUND" or any("USER_LIST" in code.upper() for code in codes):
            raise self.error(f"Google Ads knows no such user list for {where}; check its id and customer_id")
        if response.status_code >= 400 or not isinstance(data, dict):
            raise self.error(f"Google Ads refused the request for {where}: HTTP {response.status_code} {status}")
        return data

    # --- the removal -------------------------------------------------------------------

    def remove(self, audience: dict, hashed: dict[str, list[str]], *, reference: str) -> tuple[int, str]:
        token = self._access_token()
        customer = self._customer()
        job = self._post(
            token,
            f"customers/{customer}/offlineUserDataJobs:create",
            {
                "job": {
                    "type": "CUSTOMER_MATCH_USER_LIST",
                    "customerMatchUserListMetadata": {"userList": f"customers/{customer}/userLists/{audience['id']}"},
                }
            },
            audience=audience,
        )
        name = job.get("resourceName")
        if not isinstance(name, str) or not name.startswith(f"customers/{customer}/offlineUserDataJobs/"):
            raise self.error(f'Google Ads answered without the job\'s resource name for audience "{audience["key"]}"')
        operations = [
            {"remove": {"userIdentifiers": [{IDENTIFIER_FIELDS[kind]: value}]}}
            for kind, values in hashed.items()
            for value in values
        ]
        failed = 0
        for start in range(0, len(operations), BATCH_LIMIT):
            batch = operations[start : start + BATCH_LIMIT]
            answer = self._post(
                token,
                f"{name}:addOperations",
                {"enablePartialFailure": True, "operations": batch},
                audience=audience,
            )
            failed += len(_failed_operations(answer.get("partialFailureError")))
        if failed >= len(operations):
            raise self.error(f'Google Ads refused every remove operation for audience "{audience["key"]}"')
        self._post(token, f"{name}:run", {}, audience=audience)
        return len(operations) - failed, name

    def test_connection(self) -> None:
        if self.credentials_set():
            self._access_token()


def _error_codes(error: Any) -> list[str]:
    """Return a Google Ads failure's error codes as "kind:VALUE" ("userListError:USER_LIST_NOT_FOUND")."""
    codes = []
    if isinstance(error, dict):
        for detail in error.get("details") or []:
            for item in (detail or {}).get("errors") or []:
                for kind, value in ((item or {}).get("errorCode") or {}).items():
                    codes.append(f"{kind}:{value}")
    return codes


def _failed_operations(error: Any) -> set[int]:
    """Return the indexes of the operations a partial-failure error names."""
    failed: set[int] = set()
    if not isinstance(error, dict):
        return failed
    for detail in error.get("details") or []:
        for item in (detail or {}).get("errors") or []:
            for element in ((item or {}).get("location") or {}).get("fieldPathElements") or []:
                if element.get("fieldName") == "operations" and isinstance(element.get("index"), int):
                    failed.add(element["index"])
    if not failed and error.get("code"):
        failed.add(-1)  # a failure the answer does not place: one operation at least
    return failed
