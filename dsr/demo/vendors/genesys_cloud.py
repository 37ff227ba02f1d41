"""A stand-in for Genesys Cloud's OAuth2 token endpoint and GDPR API (Platform API v2).

Checked as the Genesys Cloud developer documentation describes it: the
client-credentials grant with the client id and secret as HTTP basic,
bearer tokens that expire (``expires_in``) and can be revoked, subject
search by ``searchType`` (EMAIL, PHONE, NAME, ADDRESS, TWITTER) and
``searchValue``, GDPR requests (GDPR_EXPORT, GDPR_DELETE; a delete needs
``deleteConfirmed=true``) with a subject, whose status moves INITIATED,
SEARCHING, UPLOADING, FULFILLED as they are polled. A fulfilled export has a
``resultsUrl``, a signed link that refuses credentials. The export file's
content is this stand-in's own (``{"interactions": [...]}``): Genesys does
not document it.
"""

import base64
import uuid
from urllib.parse import parse_qs

from dsr.demo.vendors.base import Call, Reply, VendorFake

CLIENT_ID = "demo-genesys-client"
CLIENT_SECRET = "demo-genesys-secret-not-for-production"  # noqa: S105 - the demo map's default, not a secret
SEARCH_TYPES = ("EMAIL", "PHONE", "NAME", "ADDRESS", "TWITTER")
REQUEST_TYPES = ("GDPR_EXPORT", "GDPR_UPDATE", "GDPR_DELETE")
STATUSES = ("INITIATED", "SEARCHING", "UPLOADING", "FULFILLED")
SUBJECT_KEYS = ("userId", "externalContactId", "dialerContactId", "journeyCustomer", "socialHandle", "externalId")
SUBJECT_FIELDS = (*SUBJECT_KEYS, "name", "addresses", "phoneNumbers", "emailAddresses")


def subject(contact_id: str, *, name: str, emails: list[str], phones: list[str]) -> dict:
    """Return a GDPRSubject for an external contact, as the API reference shows one."""
    return {
        "name": name,
        "externalContactId": contact_id,
        "addresses": [],
        "phoneNumbers": phones,
        "emailAddresses": emails,
    }


def interaction(interaction_id: str, *, kind: str, start: str, name: str, text: str) -> dict:
    """Return one interaction of an export."""
    return {
        "id": interaction_id,
        "type": kind,
        "startTime": start,
        "participants": [{"purpose": "customer", "name": name}, {"purpose": "agent", "name": "Kundeservice"}],
        "transcript": text,
        "wrapUp": "Spørgsmål om levering",
    }


class GenesysCloudFake(VendorFake):
    """Genesys Cloud's /oauth/token and /api/v2/gdpr endpoints (one server plays login. and api.)."""

    name = "genesys_cloud"
    routes = (
        ("POST", r"/oauth/token", "token"),
        ("GET", r"/api/v2/gdpr/subjects", "subjects_search"),
        ("POST", r"/api/v2/gdpr/requests", "request_submit"),
        ("GET", r"/api/v2/gdpr/requests/(?P<request_id>[^/]+)", "request_read"),
        ("GET", r"/results/(?P<request_id>[^/]+)\.json", "results"),
    )

    def __init__(self, *args, polls_until_done: int = 3, token_seconds: int = 86400, **kwargs):
        super().__init__(*args, **kwargs)
        self.polls_until_done = polls_until_done
        self.token_seconds = token_seconds
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        # Genesys could not carry out the requests (their status becomes ERROR when polled).
        self.jobs_fail = False

    def authenticated(self, call: Call) -> bool:
        if call.path == "/oauth/token" or call.path.startswith("/results/"):
            return True  # checked by the handlers: the token endpoint takes basic auth, a signed link none
        auth = call.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def error(self, status: int, message: str) -> Reply:
        codes = {400: "bad.request", 401: "authentication.required", 403: "missing.permissions", 404: "not.found"}
        code = codes.get(status, "too.many.requests" if status == 429 else "service.unavailable")
        return Reply(status, {"message": message, "code": code, "status": status, "contextId": str(uuid.uuid4())})

    def tokens_revoke(self) -> None:
        """Revoke every token given, as an administrator resetting the OAuth client would."""
        self.tokens.clear()

    def token(self, call: Call) -> Reply:
        form = {key: values[-1] for key, values in parse_qs(call.body.decode()).items()}
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if call.headers.get("authorization") != expected or self.mode == "unauthorized":
            return Reply(401, {"error": "invalid_client", "description": "client not found or secret is wrong"})
        if form.get("grant_type") != "client_credentials":
            self.refusals.append(f"grant_type {form.get('grant_type')!r}")
            return Reply(400, {"error": "unsupported_grant_type"})
        self.tokens_issued += 1
        token = f"demo-genesys-token-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_seconds})

    def subjects_search(self, call: Call) -> Reply:
        search_type, value = call.param("searchType"), call.param("searchValue")
        if search_type not in SEARCH_TYPES or not value:
            return self.refuse("searchType must be one of EMAIL, PHONE, NAME, ADDRESS, TWITTER with a searchValue")
        field = {"EMAIL": "emailAddresses", "PHONE": "phoneNumbers"}.get(search_type)
        found = [
            item for item in self.store.items("subjects") if field and value.lower() in [v.lower() for v in item[field]]
        ]
        return Reply(200, {"entities": found})

    def _subject_known(self, given: dict) -> dict | None:
        for item in self.store.items("subjects"):
            if any(given.get(key) and given.get(key) == item.get(key) for key in SUBJECT_KEYS):
                return item
        return None

    def request_submit(self, call: Call) -> Reply:
        try:
            body = call.json()
        except ValueError:
            return self.refuse("the body is not JSON")
        if not isinstance(body, dict) or body.get("requestType") not in REQUEST_TYPES:
            return self.refuse("requestType must be GDPR_EXPORT, GDPR_UPDATE or GDPR_DELETE")
        given = body.get("subject")
        if (
            not isinstance(given, dict)
            or set(given) - set(SUBJECT_FIELDS)
            or not any(given.get(k) for k in SUBJECT_KEYS)
        ):
            return self.refuse("subject must be a GDPRSubject as the subject search returned it")
        if body["requestType"] == "GDPR_DELETE" and call.param("deleteConfirmed") != "true":
            return self.refuse("a GDPR_DELETE request needs deleteConfirmed=true")
        request_id = str(uuid.uuid4())
        request = {
            "id": request_id,
            "createdBy": {"id": CLIENT_ID},
            "requestType": body["requestType"],
            "createdDate": "2026-01-05T10:00:00.000Z",
            "status": "INITIATED",
            "subject": given,
            "polls": 0,
            "selfUri": f"/api/v2/gdpr/requests/{request_id}",
        }
        self.store.put("requests", request_id, request)
        return Reply(202, self._public(request))

    def _public(self, request: dict) -> dict:
        return {key: value for key, value in request.items() if key != "polls"}

    def request_read(self, call: Call, request_id: str) -> Reply:
        request = self.store.get("requests", request_id)
        if request is None:
            return self.error(404, f"GDPR request {request_id} not found")
        if self.jobs_fail and request["status"] != "FULFILLED":
            request["status"] = "ERROR"
        if request["status"] not in ("FULFILLED", "ERROR"):
            request["polls"] += 1
            request["status"] = STATUSES[min(request["polls"] * 3 // max(self.polls_until_done, 1), 3)]
            if request["polls"] >= self.polls_until_done:
                request["status"] = "FULFILLED"
            if request["status"] == "FULFILLED":
                self._fulfil(request)
            self.store.put("requests", request_id, request)
        return Reply(200, self._public(request))

    def _fulfil(self, request: dict) -> None:
        known = self._subject_known(request["subject"])
        key = (known or {}).get("externalContactId") or (known or {}).get("userId") or ""
        if request["requestType"] == "GDPR_EXPORT":
            request["resultsUrl"] = f"{self.url}/results/{request['id']}.json"
            self.store.put("exports", request["id"], {"interactions": self.interactions(key)})
        elif request["requestType"] == "GDPR_DELETE" and known is not None:
            for item in self.store.items("interactions"):
                if item["subject"] == key:
                    self.store.delete("interactions", item["id"])
            self.store.delete("subjects", key)

    def interactions(self, key: str) -> list[dict]:
        """Return the interactions held for the subject ``key``."""
        return [
            {name: value for name, value in item.items() if name != "subject"}
            for item in self.store.items("interactions")
            if item["subject"] == key
        ]

    def results(self, call: Call, request_id: str) -> Reply:
        if "authorization" in call.headers:
            return self.refuse("a signed link takes no Authorization header", 400)
        export = self.store.get("exports", request_id)
        if export is None:
            return self.error(404, "no such export")
        return Reply(200, export)

    def add_contact(self, contact_id: str, *, name: str, email: str, phone: str, interactions: int) -> None:
        """Put an external contact and ``interactions`` of theirs in the store."""
        self.store.put("subjects", contact_id, subject(contact_id, name=name, emails=[email], phones=[phone]))
        for index in range(interactions):
            item = interaction(
                f"{contact_id}-{index:03d}",
                kind="chat" if index % 2 == 0 else "call",
                start=f"2026-01-{index % 28 + 1:02d}T09:00:00.000Z",
                name=name,
                text="Hej, hvornår kommer min måltidskasse?",
            )
            self.store.put("interactions", item["id"], {**item, "subject": contact_id})
