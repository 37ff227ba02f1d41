"""The HTTP engine of the `saas` kind: authentication, requests from templates, retries, rate limit, pages, jobs.

Connection errors, timeouts, 429 and 5xx answers are retried with backoff
(a ``Retry-After`` the system sends is respected up to ``max_wait_seconds``),
then reported as transient; other 4xx answers and answers that are not the
expected JSON are permanent. Messages name the system, the method and the
path as the description writes it (``/v1/customers/{subject.id}``), never
the person's values.
"""

import base64
import email.utils
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from dsr.sources.base import SourceError, SourcePermanentError, SourceTransientError
from dsr.sources.saas.paths import TemplateError, path_value, path_values, template_fill

DEFAULT_TRANSIENT = (408, 425, 429, 500, 502, 503, 504)
DEFAULT_MAX_PAGES = 1000
# A token is renewed this long before the system says it expires.
TOKEN_MARGIN_SECONDS = 30


@dataclass
class Answer:
    """One HTTP answer: its status, parsed JSON (None when empty or ``missing``), and next-page link."""

    status: int
    data: Any = None
    missing: bool = False
    links: dict = field(default_factory=dict)


class SaasClient:
    """Calls one SaaS system as its description says, for one source of the map."""

    def __init__(
        self,
        *,
        source: str,
        system: str,
        spec: dict,
        base_url: str,
        values: dict,
        timeout: float,
        attempts: int,
        backoff: float,
        max_wait: float,
        token_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source = source
        self.system = system
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        # secrets and settings, the values every template may use
        self.values = values
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.token_url = token_url
        self.transient_statuses = tuple((spec.get("retry") or {}).get("transient", DEFAULT_TRANSIENT))
        per_second = (spec.get("rate_limit") or {}).get("per_second")
        self.interval = 1 / per_second if per_second else 0.0
        self._last_call = 0.0
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self.session = requests.Session()

    @staticmethod
    def fill_base(base_url: str, values: dict, *, source: str) -> str:
        """Return the system's address with its settings filled in (``https://{settings.subdomain}.example.com``)."""
        try:
            return str(template_fill(base_url, values))
        except TemplateError as exc:
            raise SourcePermanentError(source, f"base_url: {exc}") from None

    def items_of(self, data: Any, records: str) -> list[Any]:
        """Return what ``records`` picks from an answer already fetched."""
        return path_values(data, records)

    # --- errors ------------------------------------------------------------------

    def permanent(self, problem: str) -> SourceError:
        return SourcePermanentError(self.source, f"{self.system}: {problem}")

    def transient(self, problem: str) -> SourceError:
        return SourceTransientError(self.source, f"{self.system}: {problem}")

    # --- authentication ----------------------------------------------------------

    def _fill(self, template: Any, values: dict, *, what: str, quote_path: bool = False) -> Any:
        try:
            return template_fill(template, values, quote_path=quote_path)
        except TemplateError as exc:
            raise self.permanent(f"{what}: {exc}") from None

    def _auth_headers(self) -> dict:
        auth = self.spec["auth"]
        kind = auth["kind"]
        if kind == "header":
            return {
                self._fill(auth["name"], self.values, what="auth.name"): self._fill(
                    auth["value"], self.values, what="auth.value"
                )
            }
        if kind == "bearer":
            return {"Authorization": f"Bearer {self._fill(auth['token'], self.values, what='auth.token')}"}
        if kind == "basic":
            user = self._fill(auth["username"], self.values, what="auth.username")
            password = self._fill(auth.get("password", ""), self.values, what="auth.password")
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        if kind == "oauth2_client_credentials":
            return {"Authorization": f"Bearer {self._oauth_token()}"}
        return {}

    def _oauth_token(self, *, renew: bool = False) -> str:
        """Return an OAuth2 access token from the client-credentials grant, fetched again when it expires."""
        with self._lock:
            if self._token and not renew and time.monotonic() < self._token[1]:
                return self._token[0]
            auth = self.spec["auth"]
            url = self.token_url or self._fill(auth["token_url"], self.values, what="auth.token_url")
            if url.startswith("/"):
                url = self.base_url + url
            client_id = self._fill(auth["client_id"], self.values, what="auth.client_id")
            client_secret = self._fill(auth["client_secret"], self.values, what="auth.client_secret")
            form = {"grant_type": "client_credentials"}
            if auth.get("scope"):
                form["scope"] = self._fill(auth["scope"], self.values, what="auth.scope")
            headers = {"Accept": "application/json"}
            if auth.get("client_auth", "basic") == "basic":
                secret = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
                headers["Authorization"] = f"Basic {secret}"
            else:
                form |= {"client_id": client_id, "client_secret": client_secret}
            answer = self._send("POST", url, "POST auth.token_url", headers=headers, data=form, authenticate=False)
            token = path_value(answer.data, "access_token")
            if not isinstance(token, str) or not token:
                raise self.permanent("the token endpoint's answer has no access_token")
            expires_in = path_value(answer.data, "expires_in")
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
            self._token = (token, time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 0))
            return token

    # --- one call -------------------------------------------------------------------

    def call(
        self,
        request: dict,
        values: dict,
        *,
        what: str,
        url: str | None = None,
        query: dict | None = None,
        body: dict | None = None,
        authenticate: bool = True,
    ) -> Answer:
        """Send the request a description's ``request`` block makes from ``values``; return its answer.

        ``url`` replaces the block's address (a next page the system gave, used as given: the block's own
        query is not added to it); ``query`` adds parameters (a cursor), ``body`` keys to the JSON body (a
        cursor HubSpot reads there); ``authenticate`` False sends no credentials (a signed download link).
        """
        values = {**self.values, **values}
        method = request["method"]
        label = f"{method} {request.get('path') or request.get('url')}"
        given = url is not None
        if url is None:
            if "url" in request:
                url = self._fill(request["url"], values, what=label)
            else:
                url = self.base_url + self._fill(request["path"], values, what=label, quote_path=True)
        # A next page's address is used as the system gave it: it carries what the system needs (Shopify
        # refuses page_info next to the first page's parameters).
        own_query = None if given else request.get("query")
        params = dict(self._fill(own_query or {}, values, what=label))
        params = {key: _param(value) for key, value in {**params, **(query or {})}.items() if value is not None}
        headers = {"Accept": "application/json"}
        headers |= {
            key: str(value) for key, value in self._fill(self.spec.get("headers") or {}, values, what="headers").items()
        }
        headers |= {
            key: str(value) for key, value in self._fill(request.get("headers") or {}, values, what=label).items()
        }
        kwargs: dict[str, Any] = {"params": params or None}
        if "body" in request:
            filled = self._fill(request["body"], values, what=label)
            for key, value in (body or {}).items():
                filled = _body_set(filled, key.split("."), value)
            kwargs["data"] = json.dumps(filled).encode()
            headers["Content-Type"] = "application/json"
        elif "form" in request:
            kwargs["data"] = {
                key: _param(value) for key, value in self._fill(request["form"], values, what=label).items()
            }
        # Credentials go only to the system's own address, never to a download link elsewhere or a signed one.
        authenticate = authenticate and (url.startswith(self.base_url + "/") or url == self.base_url)
        return self._send(
            method,
            url,
            label,
            headers=headers,
            missing=tuple(request.get("missing") or ()),
            errors=request.get("error") or (),
            authenticate=authenticate,
            **kwargs,
        )

    def _send(
        self,
        method: str,
        url: str,
        label: str,
        *,
        headers: dict,
        missing: tuple = (),
        errors: Any = (),
        authenticate: bool = True,
        **kwargs,
    ) -> Answer:
        problem = ""
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(headers)
            if authenticate:
                send_headers |= self._auth_headers()
            self._pace()
            try:
                response = self.session.request(method, url, headers=send_headers, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                problem = f"{label} did not answer within {self.timeout:g} seconds"
                wait = None
            except requests.ConnectionError:
                problem = f"{label}: the system could not be reached"
                wait = None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    answer = self._parse(response, label)
                    failure = answer_failure(answer.data, errors)
                    if failure is None:
                        return answer
                    kind, where, codes = failure
                    if kind == "missing":
                        return Answer(status=status, missing=True)
                    problem = f"{label} answered HTTP {status} with an error at {where}"
                    if codes:
                        problem += f" ({', '.join(codes)})"
                    if kind == "permanent":
                        raise self.permanent(problem)
                    wait = None
                    if attempt > self.attempts:
                        raise self.transient(f"{problem} (after {attempt} attempts)")
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                if status in missing:
                    return Answer(status=status, missing=True)
                if (
                    status == 401
                    and authenticate
                    and self.spec["auth"]["kind"] == "oauth2_client_credentials"
                    and not renewed
                ):
                    # The token may have been revoked or expired early: one new token, then the answer stands.
                    renewed = True
                    self._oauth_token(renew=True)
                    attempt -= 1
                    continue
                if status not in self.transient_statuses:
                    raise self.permanent(_refusal(label, status))
                problem = f"{label} answered HTTP {status}"
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is not None:
                    problem += f" and asked us to wait {wait:g} seconds"
                    if wait > self.max_wait:
                        raise self.transient(problem)
            if attempt > self.attempts:
                raise self.transient(f"{problem} (after {attempt} attempts)")
            self.sleep(wait if wait is not None else self.backoff * 2 ** (attempt - 1))

    def _pace(self) -> None:
        if self.interval:
            gap = self._last_call + self.interval - time.monotonic()
            if gap > 0:
                self.sleep(gap)
            self._last_call = time.monotonic()

    def _parse(self, response: requests.Response, label: str) -> Answer:
        links = {rel: link.get("url") for rel, link in response.links.items()}
        if not response.content:
            return Answer(status=response.status_code, links=links)
        try:
            data = response.json()
        except ValueError:
            raise self.permanent(f"{label} answered with something that is not JSON") from None
        return Answer(status=response.status_code, data=data, links=links)

    # --- many calls -----------------------------------------------------------------

    def items(self, request: dict, values: dict, *, records: str, paginate: dict | None, what: str) -> Iterator[Any]:
        """Yield what ``records`` picks from every page of the answers to ``request``."""
        paginate = paginate or {}
        kind = paginate.get("kind")
        max_pages = paginate.get("max_pages", DEFAULT_MAX_PAGES)
        query: dict = {}
        body: dict = {}  # a cursor sent in the JSON body (paginate: {kind: cursor, in: body})
        if kind in ("page", "offset"):
            query[paginate["param"]] = paginate.get("start", 1) if kind == "page" else 0
            if paginate.get("size_param") and paginate.get("size"):
                query[paginate["size_param"]] = paginate["size"]
        url = None
        for _ in range(max_pages):
            answer = self.call(request, values, what=what, url=url, query=query, body=body)
            if answer.missing:
                return
            found = path_values(answer.data, records)
            yield from found
            if not kind:
                return
            if paginate.get("more") and not path_value(answer.data, paginate["more"]):
                return
            if kind == "cursor":
                cursor = path_value(answer.data, paginate["from"])
                if cursor in (None, ""):
                    return
                if paginate.get("in") == "body":
                    body = {**body, paginate["param"]: cursor}
                else:
                    query = {**query, paginate["param"]: cursor}
            elif kind in ("page", "offset"):
                size = paginate.get("size")
                if not found or (size and len(found) < size):
                    return
                step = 1 if kind == "page" else len(found)
                query = {**query, paginate["param"]: query[paginate["param"]] + step}
            else:
                url = answer.links.get("next") if kind == "link" else path_value(answer.data, paginate["from"])
                if not url:
                    return
                if url.startswith("/"):
                    url = self.base_url + url
                query = {}
        raise self.permanent(f"{what} has more than {max_pages} pages; raise max_pages if that is expected")


def _body_set(body: dict, keys: list[str], value: Any) -> dict:
    """Return a copy of ``body`` with ``value`` at the dotted key (``variables.after``: a GraphQL cursor)."""
    head, rest = keys[0], keys[1:]
    inner = body.get(head) if isinstance(body.get(head), dict) else {}
    return {**body, head: _body_set(inner, rest, value) if rest else value}


def answer_failure(data: Any, rules: Any) -> tuple[str, str, list[str]] | None:
    """Return how an answer the system sent as a success says it failed, by a request's ``error`` rules, or None.

    Each rule names a ``path``; every value found there that is not empty is an error, with its code the value
    itself or, with ``code``, the value at that path inside it (GraphQL's ``extensions.code``). Codes listed
    under ``ok`` are no error. The answer is ``missing`` (nothing there) if every error's code is listed under
    ``missing``, ``transient`` if every code is under ``transient`` or ``missing``, else ``permanent``. Returns
    (kind, the rule's path, the codes found that the rule lists): anything else found is not repeated, as it
    may carry what a person entered.
    """
    if isinstance(rules, dict):
        rules = [rules]
    for rule in rules:
        ok, missing, transient = (list(rule.get(key) or ()) for key in ("ok", "missing", "transient"))
        named = ok + missing + transient + list(rule.get("permanent") or ())
        codes = []
        for value in path_values(data, rule["path"]):
            if value in (None, "", [], {}):
                continue
            code = path_value(value, rule["code"]) if rule.get("code") else value
            if code in ok:
                continue
            codes.append(code)
        if not codes:
            continue
        shown = sorted({code for code in codes if isinstance(code, str) and code in named})
        if all(code in missing for code in codes):
            return "missing", rule["path"], shown
        if all(code in transient or code in missing for code in codes):
            return "transient", rule["path"], shown
        return "permanent", rule["path"], shown
    return None


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks for (seconds, whole or decimal as Shopify's "2.0", or an
    HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _refusal(label: str, status: int) -> str:
    if status == 401:
        return f"{label} answered HTTP 401: the credentials were refused; check the source's secrets"
    if status == 403:
        return f"{label} answered HTTP 403: the credentials lack a permission this needs"
    if status == 404:
        return f"{label} answered HTTP 404: the system does not know this address or object"
    return f"{label} was refused with HTTP {status}"
