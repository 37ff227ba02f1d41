"""A SaaS system's description (a catalogue entry, dsr/sources/saas/catalogue/<system>.yaml) and its checks.

The format is documented in dsr/sources/saas/README.md. Every problem is
reported with its dotted path inside the file, so the person who wrote the
entry can find it.
"""

import functools
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from dsr.sources.saas.paths import path_errors, template_errors, template_names

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
SPEC_KEYS = {
    "name",
    "version",
    "api_version",
    "docs",
    "base_url",
    "secrets",
    "settings",
    "auth",
    "headers",
    "timeout_seconds",
    "rate_limit",
    "retry",
    "identify",
    "groups",
    "erase",
    "rectify",
    "restrict",
    "withdraw",
}
AUTH_KINDS = {
    "none": set(),
    "header": {"name", "value"},
    "bearer": {"token"},
    "basic": {"username", "password"},
    "oauth2_client_credentials": {"token_url", "client_id", "client_secret", "scope", "client_auth"},
}
AUTH_REQUIRED = {
    "header": {"name", "value"},
    "bearer": {"token"},
    "basic": {"username"},
    "oauth2_client_credentials": {"token_url", "client_id", "client_secret"},
}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
REQUEST_KEYS = {"method", "path", "url", "query", "body", "form", "headers", "missing", "error"}
# A request's ``error`` rule: where an answer sent as a success says it failed, and what its codes mean.
ERROR_KEYS = {"path", "code", "ok", "missing", "transient", "permanent"}
PAGINATION_KINDS = {
    # The answer names the next page's cursor; it is sent back as ``param``.
    "cursor": {"kind", "param", "from", "more", "in", "max_pages"},
    # Pages are numbered from ``start``; the last page has fewer than ``size`` records (or none).
    "page": {"kind", "param", "start", "size", "size_param", "max_pages"},
    # The answer's Link header (rel="next") is the next page's address.
    "link": {"kind", "max_pages"},
    # The answer's ``from`` field is the next page's address (empty or null on the last page).
    "next_url": {"kind", "from", "max_pages"},
    # Records are counted from 0 in ``param``, ``size`` at a time; the last page has fewer than ``size``.
    "offset": {"kind", "param", "size", "size_param", "max_pages"},
}
LOOKUP_KEYS = {"by", "request", "records", "paginate", "subject"}
IDENTITY_KINDS = ("email", "phone", "customer_number")
GROUP_KEYS = {"label", "request", "job", "records", "paginate", "key", "fields", "provided"}
JOB_KEYS = {
    "submit",
    "id",
    "poll",
    "status",
    "done",
    "failed",
    "result",
    "result_signed",
    "wait_seconds",
    "interval_seconds",
}
ERASE_ACTIONS = ("delete", "keep", "request")
ERASE_KEYS = {"action", "steps", "with", "job", "hold", "fallback", "reference"}
STEP_KEYS = {"request", "per", "gone"}


class SpecError(Exception):
    """A catalogue entry cannot be read at all (missing file, not YAML)."""


def spec_file(system: str) -> Path:
    """Return the file of ``system``: a catalogue entry's name, or a path to a YAML file of one's own."""
    if system.endswith((".yaml", ".yml")):
        path = Path(system)
        return path if path.is_absolute() else Path(settings.BASE_DIR) / path
    return CATALOGUE_DIR / f"{system}.yaml"


def spec_load(system: str) -> dict:
    """Return the parsed description of ``system`` (shared: do not change it); raise SpecError if it cannot be read.

    Parsed once per version of the file: a job makes a fresh connector, and YAML is slow to read.
    """
    path = spec_file(system)
    try:
        version = path.stat().st_mtime_ns
    except FileNotFoundError:
        version = None
    return _spec_parse(str(path), system, version)


@functools.lru_cache(maxsize=64)
def _spec_parse(name: str, system: str, version: int | None) -> dict:
    path = Path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(catalogue_names())
        raise SpecError(f'no catalogue entry "{system}" ({path.name}); the catalogue has {known}') from None
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path.name} cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path.name} must be a YAML mapping")
    return data


def catalogue_names() -> list[str]:
    """Return the names of the catalogue's entries."""
    return sorted(path.stem for path in CATALOGUE_DIR.glob("*.yaml"))


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class _Checker:
    def __init__(self, spec: dict):
        self.spec = spec
        self.errors: list[tuple[str, str]] = []
        self.secrets = set(spec.get("secrets") or []) if _is_str_list(spec.get("secrets")) else set()
        self.settings = set(spec.get("settings") or []) if _is_str_list(spec.get("settings")) else set()

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def unknown(self, value: dict, known: set[str], path: str) -> None:
        for key in value:
            if key not in known:
                self.error(
                    f"{path}.{key}" if path else str(key), f"unknown key; expected one of {', '.join(sorted(known))}"
                )

    def mapping(self, value: Any, path: str, *, required: bool = True) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.error(path, "must be a mapping")
            return {}
        return value

    def template(self, value: Any, path: str, *, allowed: tuple[str, ...]) -> None:
        for problem in template_errors(value):
            self.error(path, problem)
        for name in template_names(value):
            root, _, rest = name.partition(".")
            if root not in allowed:
                self.error(path, f"{{{name}}} cannot be used here; here a slot may use {', '.join(allowed)}")
            elif root == "secrets" and rest not in self.secrets:
                self.error(path, f"{{{name}}}: the entry declares no secret {rest!r} under secrets")
            elif root == "settings" and rest not in self.settings:
                self.error(path, f"{{{name}}}: the entry declares no setting {rest!r} under settings")

    def path(self, value: Any, path: str) -> None:
        for problem in path_errors(value):
            self.error(path, problem)

    def request(self, value: Any, path: str, *, allowed: tuple[str, ...]) -> None:
        request = self.mapping(value, path)
        if not request:
            return
        self.unknown(request, REQUEST_KEYS, path)
        if request.get("method") not in METHODS:
            self.error(f"{path}.method", f"must be one of {', '.join(sorted(METHODS))}")
        if ("path" in request) == ("url" in request):
            self.error(path, "needs a path (under base_url) or a url (a whole address), not both")
        for key in ("path", "url"):
            if key in request:
                if not isinstance(request[key], str):
                    self.error(f"{path}.{key}", "must be text")
                self.template(request[key], f"{path}.{key}", allowed=allowed)
        if isinstance(request.get("path"), str) and not request["path"].startswith("/"):
            self.error(f"{path}.path", "must start with /")
        for key in ("query", "form", "headers"):
            if key in request:
                if not isinstance(request[key], dict):
                    self.error(f"{path}.{key}", "must be a mapping of names to values")
                self.template(request[key], f"{path}.{key}", allowed=allowed)
        if "body" in request:
            self.template(request["body"], f"{path}.body", allowed=allowed)
        if "body" in request and "form" in request:
            self.error(path, "sends either a JSON body or a form, not both")
        missing = request.get("missing", [])
        if not isinstance(missing, list) or not all(isinstance(code, int) for code in missing):
            self.error(f"{path}.missing", "must list HTTP statuses (e.g. [404]) that mean nothing is there")
        if "error" in request:
            rules = request["error"]
            rules = [rules] if isinstance(rules, dict) else rules
            if not isinstance(rules, list) or not rules:
                self.error(f"{path}.error", "must be a rule {path: ..., transient: [...]} or a list of them")
                rules = []
            for index, rule in enumerate(rules):
                where = f"{path}.error" if isinstance(request["error"], dict) else f"{path}.error.{index}"
                rule = self.mapping(rule, where)
                if not rule:
                    continue
                self.unknown(rule, ERROR_KEYS, where)
                self.path(rule.get("path"), f"{where}.path")
                if "code" in rule:
                    self.path(rule["code"], f"{where}.code")
                for key in ("ok", "missing", "transient", "permanent"):
                    if key in rule and not _is_str_list(rule[key]):
                        self.error(f"{where}.{key}", "must list the error codes (text) that mean " + key)

    def paginate(self, value: Any, path: str) -> None:
        if value is None:
            return
        paginate = self.mapping(value, path)
        kind = paginate.get("kind")
        if kind not in PAGINATION_KINDS:
            self.error(f"{path}.kind", f"must be one of {', '.join(sorted(PAGINATION_KINDS))}")
            return
        self.unknown(paginate, PAGINATION_KINDS[kind], path)
        if kind in ("cursor", "next_url"):
            self.path(paginate.get("from"), f"{path}.from")
        if kind == "cursor" and not isinstance(paginate.get("param"), str):
            self.error(f"{path}.param", "must name the query parameter the cursor is sent in")
        if kind == "cursor" and paginate.get("in", "query") not in ("query", "body"):
            self.error(
                f"{path}.in",
                "must be query (the cursor as a query parameter) or body (a key of the JSON body; dots for a key "
                "inside one, e.g. variables.after)",
            )
        if "more" in paginate:
            self.path(paginate["more"], f"{path}.more")
        if kind in ("page", "offset"):
            if not isinstance(paginate.get("param"), str):
                self.error(f"{path}.param", f"must name the query parameter of the {kind} number")
            if kind == "offset" and not (isinstance(paginate.get("size"), int) and paginate["size"] > 0):
                self.error(f"{path}.size", "must be the number of records asked for per page")
            for key in ("start", "size"):
                if key in paginate and not (isinstance(paginate[key], int) and paginate[key] >= 0):
                    self.error(f"{path}.{key}", "must be a whole number")
        if "max_pages" in paginate and not (isinstance(paginate["max_pages"], int) and paginate["max_pages"] > 0):
            self.error(f"{path}.max_pages", "must be a whole number above 0")

    def cursor_body(self, block: dict, path: str) -> None:
        """A cursor sent in the body needs a request with a JSON body that is a mapping."""
        paginate = block.get("paginate")
        if not isinstance(paginate, dict) or paginate.get("in") != "body":
            return
        request = block.get("request")
        if not isinstance(request, dict) or not isinstance(request.get("body"), dict):
            self.error(f"{path}.paginate.in", "a cursor in the body needs a request with a JSON body (body: {...})")

    def job(self, value: Any, path: str, *, allowed: tuple[str, ...]) -> None:
        job = self.mapping(value, path)
        if not job:
            return
        self.unknown(job, JOB_KEYS, path)
        self.request(job.get("submit"), f"{path}.submit", allowed=allowed)
        self.request(job.get("poll"), f"{path}.poll", allowed=(*allowed, "job"))
        for key in ("id", "status"):
            self.path(job.get(key), f"{path}.{key}")
        if "result" in job:
            self.path(job["result"], f"{path}.result")
        if "result_signed" in job and not isinstance(job["result_signed"], bool):
            self.error(f"{path}.result_signed", "must be true (a signed link, sent no credentials) or false")
        for key in ("done", "failed"):
            if not _is_str_list(job.get(key, [])) or (key == "done" and not job.get("done")):
                self.error(f"{path}.{key}", "must list the job statuses that mean it " + key)
        for key in ("wait_seconds", "interval_seconds"):
            if key in job and not _number(job[key]):
                self.error(f"{path}.{key}", "must be a number of 0 or more")

    def steps(self, steps: Any, path: str, *, group: dict, name: str, extra: tuple[str, ...] = ()) -> None:
        if not isinstance(steps, list) or not steps:
            self.error(path, "must list the requests to send")
            return
        per_record = ("subject", "secrets", "settings", "reference", *extra)
        for index, step in enumerate(steps):
            where = f"{path}.{index}"
            step = self.mapping(step, where)
            self.unknown(step, STEP_KEYS, where)
            per = step.get("per", "subject")
            if per not in ("subject", "record"):
                self.error(f"{where}.per", "must be subject or record")
            if per == "record" and "key" not in group:
                self.error(f"{where}.per", f"per record needs groups.{name}.key (the path of a record's id)")
            allowed = (*per_record, "record") if per == "record" else per_record
            self.request(step.get("request"), f"{where}.request", allowed=allowed)
            gone = step.get("gone", [])
            if not isinstance(gone, list) or not all(isinstance(code, int) for code in gone):
                self.error(f"{where}.gone", "must list HTTP statuses that mean it is already gone")

    def per_record_only(self, steps: Any, path: str, *, what: str) -> None:
        """A value set on each record (a correction, a restriction mark) is sent per record."""
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict) and step.get("per", "subject") != "record":
                self.error(f"{path}.{index}.per", f"{what} is sent per record (per: record)")

    def check(self) -> None:
        spec = self.spec
        self.unknown(spec, SPEC_KEYS, "")
        for key in ("name", "api_version"):
            if not isinstance(spec.get(key), str) or not spec.get(key):
                self.error(key, "is required (text)")
        if not isinstance(spec.get("version"), int):
            self.error("version", "is required: the entry's own version, a whole number raised on every change")
        base_url = spec.get("base_url")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://", "{settings.")):
            self.error("base_url", "must be an http:// or https:// address")
        else:
            self.template(base_url, "base_url", allowed=("settings",))
        for key in ("secrets", "settings"):
            if key in spec and not _is_str_list(spec[key]):
                self.error(key, "must list names")
        auth = self.mapping(spec.get("auth"), "auth")
        kind = auth.get("kind")
        if kind not in AUTH_KINDS:
            self.error("auth.kind", f"must be one of {', '.join(AUTH_KINDS)}")
        else:
            self.unknown(auth, AUTH_KINDS[kind] | {"kind"}, "auth")
            for key in AUTH_REQUIRED.get(kind, ()):
                if key not in auth:
                    self.error(f"auth.{key}", f"is required for {kind}")
            for key, value in auth.items():
                if key not in ("kind", "client_auth"):
                    self.template(value, f"auth.{key}", allowed=("secrets", "settings"))
            if auth.get("client_auth", "basic") not in ("basic", "body"):
                self.error("auth.client_auth", "must be basic (the client id and secret as HTTP basic) or body")
        self.template(
            self.mapping(spec.get("headers"), "headers", required=False), "headers", allowed=("secrets", "settings")
        )
        if "timeout_seconds" in spec and not _number(spec["timeout_seconds"]):
            self.error("timeout_seconds", "must be a number of 0 or more")
        rate = self.mapping(spec.get("rate_limit"), "rate_limit", required=False)
        self.unknown(rate, {"per_second"}, "rate_limit")
        if "per_second" in rate and not (_number(rate["per_second"]) and rate["per_second"] > 0):
            self.error("rate_limit.per_second", "must be a number above 0")
        retry = self.mapping(spec.get("retry"), "retry", required=False)
        self.unknown(retry, {"attempts", "backoff_seconds", "max_wait_seconds", "transient"}, "retry")
        for key in ("attempts", "backoff_seconds", "max_wait_seconds"):
            if key in retry and not _number(retry[key]):
                self.error(f"retry.{key}", "must be a number of 0 or more")
        if "transient" in retry and not (
            isinstance(retry["transient"], list) and all(isinstance(code, int) for code in retry["transient"])
        ):
            self.error("retry.transient", "must list HTTP statuses worth retrying")
        lookups = spec.get("identify")
        if not isinstance(lookups, list) or not lookups:
            self.error("identify", "must list at least one lookup that finds the person")
            lookups = []
        for index, lookup in enumerate(lookups):
            where = f"identify.{index}"
            lookup = self.mapping(lookup, where)
            self.unknown(lookup, LOOKUP_KEYS, where)
            if lookup.get("by") not in IDENTITY_KINDS:
                self.error(f"{where}.by", f"must be one of {', '.join(IDENTITY_KINDS)}")
            self.request(lookup.get("request"), f"{where}.request", allowed=("identity", "secrets", "settings"))
            self.path(lookup.get("records"), f"{where}.records")
            self.paginate(lookup.get("paginate"), f"{where}.paginate")
            self.cursor_body(lookup, where)
            subject = lookup.get("subject")
            if not isinstance(subject, dict) or not subject:
                self.error(f"{where}.subject", "must map names to the paths of the match's keys (e.g. {id: id})")
            else:
                for name, value in subject.items():
                    self.path(value, f"{where}.subject.{name}")
        groups = self.mapping(spec.get("groups"), "groups")
        if not groups:
            self.error("groups", "must name at least one record group")
        per_record = ("subject", "secrets", "settings", "reference")
        for name, group in groups.items():
            where = f"groups.{name}"
            group = self.mapping(group, where)
            self.unknown(group, GROUP_KEYS, where)
            if ("request" in group) == ("job" in group):
                self.error(where, "needs a request (read at once) or a job (submitted, then polled), not both")
            if "request" in group:
                self.request(group["request"], f"{where}.request", allowed=per_record)
            if "job" in group:
                self.job(group["job"], f"{where}.job", allowed=per_record)
            self.path(group.get("records"), f"{where}.records")
            self.paginate(group.get("paginate"), f"{where}.paginate")
            self.cursor_body(group, where)
            if "key" in group:
                self.path(group["key"], f"{where}.key")
            fields = group.get("fields")
            if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
                self.error(f"{where}.fields", "must map the record's fields to data categories")
            if "provided" in group and not isinstance(group["provided"], bool):
                self.error(f"{where}.provided", "must be true or false")
        erase = self.mapping(spec.get("erase"), "erase", required=False)
        for name, entry in erase.items():
            where = f"erase.{name}"
            if name not in groups:
                self.error(where, f'unknown record group "{name}"; erase names groups of groups')
            entry = self.mapping(entry, where)
            self.unknown(entry, ERASE_KEYS, where)
            action = entry.get("action")
            if action not in ERASE_ACTIONS:
                self.error(f"{where}.action", f"must be one of {', '.join(ERASE_ACTIONS)}")
                continue
            ways = [key for key in ("steps", "with", "job") if key in entry]
            if action == "keep":
                if ways:
                    self.error(where, "a group kept is not sent anything: no steps, with or job")
                if "hold" in entry and not isinstance(entry["hold"], str):
                    self.error(f"{where}.hold", "must name a legal hold")
                continue
            if "hold" in entry:
                self.error(f"{where}.hold", "only a group kept (action: keep) has a hold")
            wanted = {"delete": ("steps", "with"), "request": ("job", "steps")}[action]
            if len(ways) != 1 or ways[0] not in wanted:
                self.error(where, f"action {action} needs exactly one of {' or '.join(wanted)}")
            if "fallback" in entry:
                fallback = self.mapping(entry["fallback"], f"{where}.fallback")
                self.unknown(fallback, {"when", "steps"}, f"{where}.fallback")
                when = fallback.get("when")
                if not isinstance(when, list) or not when or not all(isinstance(code, int) for code in when):
                    self.error(f"{where}.fallback.when", "must list the HTTP statuses that mean the system refused")
                if "steps" not in entry or action != "delete":
                    self.error(f"{where}.fallback", "only a group deleted by steps has a fallback")
                self.steps(fallback.get("steps"), f"{where}.fallback.steps", group=groups.get(name, {}), name=name)
            if "reference" in entry:
                if action != "request" or "steps" not in entry:
                    self.error(f"{where}.reference", "only a request sent by steps (no job) takes its reference so")
                self.path(entry["reference"], f"{where}.reference")
            if "with" in entry and entry["with"] not in erase:
                self.error(f"{where}.with", "must name another group erased here, whose steps remove these too")
            if "job" in entry:
                self.job(entry["job"], f"{where}.job", allowed=per_record)
            if "steps" in entry:
                self.steps(entry["steps"], f"{where}.steps", group=groups.get(name, {}), name=name)
        self.rectify(groups)
        self.restrict(groups)
        self.withdraw(groups)

    def rectify(self, groups: dict) -> None:
        """GDPR Art. 16: per group, the map's correction fields the system holds, and the requests that set them."""
        rectify = self.mapping(self.spec.get("rectify"), "rectify", required=False)
        for name, fields in rectify.items():
            where = f"rectify.{name}"
            if name not in groups:
                self.error(where, f'unknown record group "{name}"; rectify names groups of groups')
                continue
            group = groups[name] if isinstance(groups[name], dict) else {}
            if "key" not in group:
                self.error(where, f"a group rectified needs groups.{name}.key (the path of a record's id)")
            for correction, entry in self.mapping(fields, where).items():
                at = f"{where}.{correction}"
                entry = self.mapping(entry, at)
                if not entry:
                    continue
                self.unknown(entry, {"field", "steps"}, at)
                self.path(entry.get("field"), f"{at}.field")
                self.steps(entry.get("steps"), f"{at}.steps", group=group, name=name, extra=("correct",))
                self.per_record_only(entry.get("steps"), f"{at}.steps", what="a correction")

    def restrict(self, groups: dict) -> None:
        """GDPR Art. 18: per group, the field marking a record restricted, its values, and the requests that set it."""
        restrict = self.mapping(self.spec.get("restrict"), "restrict", required=False)
        for name, entry in restrict.items():
            where = f"restrict.{name}"
            if name not in groups:
                self.error(where, f'unknown record group "{name}"; restrict names groups of groups')
                continue
            entry = self.mapping(entry, where)
            if not entry:
                continue
            self.unknown(entry, {"field", "restricted", "lifted", "steps"}, where)
            self.path(entry.get("field"), f"{where}.field")
            if not isinstance(entry.get("restricted"), str) or not entry.get("restricted"):
                self.error(f"{where}.restricted", "must give the value of field that means restricted (text)")
            if not isinstance(entry.get("lifted", ""), str) or entry.get("lifted", "") == entry.get("restricted"):
                self.error(f"{where}.lifted", "must give the value that means not restricted (text; empty: no value)")
            group = groups[name] if isinstance(groups[name], dict) else {}
            if "key" not in group:
                self.error(where, f"a group restricted needs groups.{name}.key (the path of a record's id)")
            self.steps(entry.get("steps"), f"{where}.steps", group=group, name=name, extra=("value",))
            self.per_record_only(entry.get("steps"), f"{where}.steps", what="a restriction mark")

    def withdraw(self, groups: dict) -> None:
        """GDPR Art. 7(3): per group, where the consent's state is and the requests that withdraw it."""
        withdraw = self.mapping(self.spec.get("withdraw"), "withdraw", required=False)
        for name, entry in withdraw.items():
            where = f"withdraw.{name}"
            if name not in groups:
                self.error(where, f'unknown record group "{name}"; withdraw names groups of groups')
                continue
            entry = self.mapping(entry, where)
            if not entry:
                continue
            self.unknown(entry, {"field", "withdrawn", "steps"}, where)
            self.path(entry.get("field"), f"{where}.field")
            if not _is_str_list(entry.get("withdrawn")) or not entry.get("withdrawn"):
                self.error(f"{where}.withdrawn", "must list the values of field that mean the consent is not given")
            group = groups[name] if isinstance(groups[name], dict) else {}
            self.steps(entry.get("steps"), f"{where}.steps", group=group, name=name)


def spec_errors(spec: dict) -> list[tuple[str, str]]:
    """Return every problem of a system's description as (dotted path in the file, message)."""
    checker = _Checker(spec)
    checker.check()
    return checker.errors


def spec_categories(spec: dict) -> set[str]:
    """Return the data categories the description's fields use."""
    return {
        category
        for group in (spec.get("groups") or {}).values()
        for category in ((group or {}).get("fields") or {}).values()
    }
