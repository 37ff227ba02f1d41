"""The `saas` connector: a hosted system reached through its own API, as a catalogue entry describes it.

The description (dsr/sources/saas/catalogue/<system>.yaml, format in
README.md) says how to find the person (``identify``), how to read each
record group (``groups``) and how to erase it (``erase``). The data map's
source names the entry and gives the address, the secrets (as placeholders
only), the settings, and maps the entry's categories and holds to its own.

Erasure reports what the system answered: a group deleted counts the
records of each subject whose deletion the system accepted; a group kept
says under which legal hold; an asynchronous job (submitted, then polled) is
a request whose confirmation comes when the system reports the job done. The
job's id is kept in the dsr job's state as soon as the system gives it, so a
worker stopped while polling is followed by one that polls the same job.
"""

import time
from collections.abc import Iterator
from typing import Any

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    ASYNC,
    CONSENT_WITHDRAWAL,
    ERASURE,
    RECTIFICATION,
    RESTRICTION,
    ChangeResult,
    Connector,
    Correction,
    ErasurePlan,
    ErasureResult,
    Fact,
    Identifiers,
    Record,
)
from dsr.sources.groups import group_lineage_errors
from dsr.sources.placeholders import config_expand, config_placeholder_errors
from dsr.sources.resolution import identifier_normalise
from dsr.sources.saas.changes import consent_withdraw, corrections_apply, rectify, restrict
from dsr.sources.saas.client import SaasClient
from dsr.sources.saas.erasure import erasure_plan_make, erasure_run, subject_key
from dsr.sources.saas.paths import path_value
from dsr.sources.saas.spec import SpecError, spec_categories, spec_errors, spec_file, spec_load
from dsr.sources.state import JobState

CONFIG_KEYS = {
    "system",
    "version",
    "url",
    "token_url",
    "secrets",
    "settings",
    "categories",
    "holds",
    "groups",
    "operations",
    "timeout_seconds",
    "retries",
    "backoff_seconds",
    "max_wait_seconds",
    "jobs",
    "rate_limit",
}
OPERATIONS = (ACCESS, ERASURE, RECTIFICATION, RESTRICTION, CONSENT_WITHDRAWAL)
GROUP_KEYS = {"purposes", "recipients"}


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class SaasConnector(Connector):
    """A SaaS system described by a catalogue entry (or a YAML file of the controller's own)."""

    kind = "saas"
    # A request sent to the system (an asynchronous job) is itself the message to it as a recipient (Art. 19).
    informs_recipients = True

    def __init__(self, source: dict, datamap: DataMap):
        super().__init__(source, datamap)
        self.spec = spec_load(self.config["system"])
        # Shared by the per-job copies of a worker's connector (dsr.sources.state), so they reuse one
        # HTTP session and one OAuth2 token.
        self._shared: dict[str, SaasClient] = {}
        # Outside a job (a dry run, a connection test) the state lives as long as the connector.
        self.state = JobState()

    # --- configuration -------------------------------------------------------------------

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        errors = [
            DataMapError(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(CONFIG_KEYS))}")
            for key in config
            if key not in CONFIG_KEYS
        ]
        system = config.get("system")
        if not isinstance(system, str) or not system:
            return [*errors, DataMapError(f"{path}.system", "is required: a catalogue entry's name or a .yaml file")]
        try:
            spec = spec_load(system)
        except SpecError as exc:
            return [*errors, DataMapError(f"{path}.system", str(exc))]
        where = spec_file(system).name
        problems = spec_errors(spec)
        if problems:
            return errors + [DataMapError(f"{path}.system ({where}: {spot})", message) for spot, message in problems]
        if "version" in config and config["version"] != spec["version"]:
            errors.append(
                DataMapError(
                    f"{path}.version",
                    f"the map was written for version {config['version']} of {where}, which is now version "
                    f"{spec['version']}; read its changes and set version: {spec['version']}",
                )
            )
        for key in ("url", "token_url"):
            url = config.get(key)
            if url is None:
                continue
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "${")):
                errors.append(DataMapError(f"{path}.{key}", "must be an http:// or https:// address"))
            else:
                errors += [DataMapError(f"{path}.{key}", problem) for problem in config_placeholder_errors(url)]
        if "token_url" in config and spec["auth"]["kind"] != "oauth2_client_credentials":
            errors.append(DataMapError(f"{path}.token_url", f"{where} does not use OAuth2: it has no token address"))
        secrets = _mapping(config.get("secrets"))
        if "secrets" in config and not isinstance(config["secrets"], dict):
            errors.append(DataMapError(f"{path}.secrets", "must map the entry's secret names to ${env:NAME}"))
        for name in spec.get("secrets") or []:
            value = secrets.get(name)
            if not isinstance(value, str) or not value:
                errors.append(
                    DataMapError(f"{path}.secrets.{name}", f"is required by {where}: give it as ${{env:NAME}}")
                )
            elif "${env:" not in value:
                errors.append(
                    DataMapError(f"{path}.secrets.{name}", "must come from the environment (${env:NAME}), not the map")
                )
            else:
                errors += [DataMapError(f"{path}.secrets.{name}", p) for p in config_placeholder_errors(value)]
        for name in secrets:
            if name not in (spec.get("secrets") or []):
                errors.append(DataMapError(f"{path}.secrets.{name}", f"{where} declares no such secret"))
        settings = _mapping(config.get("settings"))
        for name in spec.get("settings") or []:
            if not isinstance(settings.get(name), str | int) or settings.get(name) == "":
                errors.append(DataMapError(f"{path}.settings.{name}", f"is required by {where}"))
        for name in settings:
            if name not in (spec.get("settings") or []):
                errors.append(DataMapError(f"{path}.settings.{name}", f"{where} declares no such setting"))
        renames = _mapping(config.get("categories"))
        for name, category in renames.items():
            if category not in datamap.categories:
                errors.append(DataMapError(f"{path}.categories.{name}", f'unknown category "{category}"'))
        for category in sorted(spec_categories(spec)):
            if renames.get(category, category) not in datamap.categories:
                errors.append(
                    DataMapError(
                        f"{path}.categories",
                        f'{where} uses the category "{category}", which the map lacks: add it under categories '
                        f"or map it here ({category}: <one of the map's categories>)",
                    )
                )
        erase = spec.get("erase") or {}
        holds = _mapping(config.get("holds"))
        for group in holds:
            entry = _mapping(erase.get(group))
            if entry.get("action") != "keep" and "fallback" not in entry:
                errors.append(DataMapError(f"{path}.holds.{group}", f"{where} keeps no group {group!r}"))
        for group, entry in erase.items():
            if entry.get("action") == "keep" or "fallback" in entry:
                hold = holds.get(group, entry.get("hold"))
                if hold not in datamap.legal_holds:
                    errors.append(
                        DataMapError(
                            f"{path}.holds.{group}",
                            f"{where} keeps {group} under a legal hold: name one of the map's legal_holds "
                            f"(unknown: {hold!r})",
                        )
                    )
        groups = config.get("groups", {})
        if not isinstance(groups, dict) or not all(isinstance(group, dict) for group in groups.values()):
            errors.append(DataMapError(f"{path}.groups", "must map record groups to {purposes, recipients}"))
        for name, group in _mapping(groups).items():
            if name not in spec["groups"]:
                errors.append(DataMapError(f"{path}.groups.{name}", f"{where} has no record group {name!r}"))
            for key in _mapping(group):
                if key not in GROUP_KEYS:
                    errors.append(
                        DataMapError(f"{path}.groups.{name}.{key}", "unknown key; expected purposes or recipients")
                    )
            errors += group_lineage_errors(_mapping(group), path=f"{path}.groups.{name}", datamap=datamap)
        operations = config.get("operations", list(OPERATIONS))
        if not isinstance(operations, list) or any(operation not in OPERATIONS for operation in operations):
            errors.append(DataMapError(f"{path}.operations", f"must list some of {', '.join(OPERATIONS)}"))
        for key in ("timeout_seconds", "retries", "backoff_seconds", "max_wait_seconds"):
            if key in config and not _number(config[key]):
                errors.append(DataMapError(f"{path}.{key}", "must be a number of 0 or more"))
        rate = config.get("rate_limit", {})
        if not isinstance(rate, dict) or set(rate) - {"per_second"}:
            errors.append(DataMapError(f"{path}.rate_limit", "must be {per_second: <calls a second>}"))
        elif "per_second" in rate and not (_number(rate["per_second"]) and rate["per_second"] > 0):
            errors.append(DataMapError(f"{path}.rate_limit.per_second", "must be a number above 0"))
        jobs = config.get("jobs", {})
        if not isinstance(jobs, dict):
            errors.append(DataMapError(f"{path}.jobs", "must be {wait_seconds, interval_seconds}"))
        for key, value in _mapping(jobs).items():
            if key not in ("wait_seconds", "interval_seconds"):
                errors.append(
                    DataMapError(f"{path}.jobs.{key}", "unknown key; expected wait_seconds or interval_seconds")
                )
            elif not _number(value):
                errors.append(DataMapError(f"{path}.jobs.{key}", "must be a number of 0 or more"))
        return errors

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        try:
            return set(spec_load(config["system"])["groups"])
        except (SpecError, KeyError, TypeError):
            return set()

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        spec = spec_load(config["system"])
        renames = config.get("categories") or {}
        groups = config.get("groups") or {}
        holds = config.get("holds") or {}
        described = {}
        for name, group in spec["groups"].items():
            own = groups.get(name, {})
            erase = (spec.get("erase") or {}).get(name) or {}
            described[name] = {
                "purposes": list(own["purposes"]) if own.get("purposes") is not None else None,
                "recipients": list(own["recipients"]) if own.get("recipients") is not None else None,
                "categories": list(dict.fromkeys(renames.get(c, c) for c in group["fields"].values())),
                "hold": holds.get(name, erase.get("hold")) if erase.get("action") == "keep" else None,
            }
        return described

    def capabilities(self) -> frozenset[str]:
        operations = self.config.get("operations", list(OPERATIONS))
        found = set()
        if ACCESS in operations:
            found.add(ACCESS)
        if ERASURE in operations and self.spec.get("erase"):
            found.add(ERASURE)
        if RECTIFICATION in operations and self.spec.get("rectify"):
            found.add(RECTIFICATION)
        if RESTRICTION in operations and self.spec.get("restrict"):
            found.add(RESTRICTION)
        if CONSENT_WITHDRAWAL in operations and any(
            self.consent_keys(name) for name in self.spec.get("withdraw") or {}
        ):
            found.add(CONSENT_WITHDRAWAL)
        jobs = [group for group in self.spec["groups"].values() if "job" in group]
        jobs += [entry for entry in (self.spec.get("erase") or {}).values() if "job" in entry]
        if jobs:
            found.add(ASYNC)
        return frozenset(found)

    # --- the system ------------------------------------------------------------------------

    @property
    def system(self) -> str:
        return self.spec["name"]

    def client(self) -> SaasClient:
        """Return the HTTP client of this source (one per connector, so an OAuth2 token is reused)."""
        if "client" not in self._shared:
            values = {
                "secrets": {
                    name: config_expand(value, source=self.key)
                    for name, value in (self.config.get("secrets") or {}).items()
                },
                "settings": {
                    name: config_expand(str(value), source=self.key)
                    for name, value in (self.config.get("settings") or {}).items()
                },
            }
            base_url = self.config.get("url") or self.spec["base_url"]
            base_url = SaasClient.fill_base(config_expand(base_url, source=self.key), values, source=self.key)
            retry = self.spec.get("retry") or {}
            self._shared["client"] = SaasClient(
                source=self.key,
                system=self.system,
                spec={
                    **self.spec,
                    "rate_limit": {**(self.spec.get("rate_limit") or {}), **(self.config.get("rate_limit") or {})},
                },
                base_url=base_url,
                values=values,
                timeout=float(self.config.get("timeout_seconds", self.spec.get("timeout_seconds", 30))),
                attempts=int(self.config.get("retries", retry.get("attempts", 3))),
                backoff=float(self.config.get("backoff_seconds", retry.get("backoff_seconds", 1))),
                max_wait=float(self.config.get("max_wait_seconds", retry.get("max_wait_seconds", 60))),
                token_url=config_expand(self.config["token_url"], source=self.key)
                if self.config.get("token_url")
                else None,
            )
        return self._shared["client"]

    def categories(self, group: str) -> dict[str, str]:
        """Return a group's fields and their categories, in the map's words."""
        renames = self.config.get("categories") or {}
        return {field: renames.get(c, c) for field, c in self.spec["groups"][group]["fields"].items()}

    def hold(self, group: str) -> str:
        """Return the legal hold a group is kept under: the map's, else the entry's."""
        return (self.config.get("holds") or {}).get(group) or self.spec["erase"][group].get("hold", "")

    def test_connection(self) -> None:
        # A lookup of an address no one has: proves the address, the credentials and the answer's shape.
        lookup = self.spec["identify"][0]
        probe = {"email": "dsr-connection-test@example.invalid", "phone": "+4500000000", "customer_number": "0"}
        list(self._lookup(lookup, probe[lookup["by"]]))

    # --- reading ---------------------------------------------------------------------------

    def _lookup(self, lookup: dict, identity: str) -> Iterator[dict]:
        client = self.client()
        for item in client.items(
            lookup["request"],
            {"identity": identity},
            records=lookup["records"],
            paginate=lookup.get("paginate"),
            what="identify",
        ):
            # A match has some of the keys the lookup names (a Genesys subject is a user or an external contact).
            subject = {name: path_value(item, where) for name, where in lookup["subject"].items()}
            subject = {name: value for name, value in subject.items() if value not in (None, "", [])}
            if subject:
                yield subject

    def subjects(self, identifiers: Identifiers) -> list[dict]:
        """Return the system's keys of the person (its customer, member or user ids), each once."""
        found: dict[str, dict] = {}
        for lookup in self.spec["identify"]:
            for value in sorted(identifiers.get(lookup["by"], set())):
                value = identifier_normalise(lookup["by"], value)
                if not value:
                    continue
                for subject in self._lookup(lookup, value):
                    found.setdefault(subject_key(subject), subject)
        return list(found.values())

    def group_items(self, name: str, subject: dict, *, reference: str, operation: str) -> Iterator[Any]:
        group = self.spec["groups"][name]
        values = {"subject": subject, "reference": reference}
        if "request" in group:
            yield from self.client().items(
                group["request"], values, records=group["records"], paginate=group.get("paginate"), what=name
            )
            return
        answer = self.job_run(group["job"], values, state_key=f"{operation}:{name}:{subject_key(subject)}", what=name)
        if answer is None:
            raise self.error(
                f"{self.system} has not finished the {name} job yet; it is asked again later", permanent=False
            )
        data = answer
        if group["job"].get("result"):
            url = path_value(answer, group["job"]["result"])
            if not isinstance(url, str) or not url:
                raise self.error(f"{self.system} reported the {name} job done without its result's address")
            signed = bool(group["job"].get("result_signed"))
            request = {"method": "GET", "url": f"<the {name} job's result>"}
            data = self.client().call(request, {}, what=name, url=url, authenticate=not signed).data
        yield from self.client().items_of(data, group["records"])

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        if ACCESS not in self.capabilities():
            raise self.unsupported("access")
        provided_by = set(self.source.get("provided_by_subject", []))
        for subject in self.subjects(identifiers):
            for name, group in self.spec["groups"].items():
                categories = self.categories(name)
                shared: dict[tuple, dict] = {}
                provided = name in provided_by or bool(group.get("provided"))
                for item in self.group_items(name, subject, reference=reference, operation=ACCESS):
                    row = item if isinstance(item, dict) else {"value": item}
                    shape = tuple(row)
                    if shape not in shared:
                        shared[shape] = {field: c for field, c in categories.items() if field in row}
                    yield Record(source=self.key, table=name, row=row, categories=shared[shape], provided=provided)

    # --- asynchronous jobs ----------------------------------------------------------------

    def job_run(self, job: dict, values: dict, *, state_key: str, what: str) -> Any:
        """Submit the job once (its id kept in the job state at once), poll it; return its final answer or None.

        None: the system has not finished within ``wait_seconds``; the next run polls the same job.
        """
        client = self.client()
        kept = self.state.get(state_key)
        if kept is None:
            answer = client.call(job["submit"], values, what=f"{what} (submit)")
            job_id = path_value(answer.data, job["id"])
            if job_id in (None, ""):
                raise self.error(f"{self.system} accepted the {what} job without giving its id")
            kept = {"id": job_id}
            self.state.set(state_key, kept)
        timing = {**job, **(self.config.get("jobs") or {})}
        deadline = time.monotonic() + float(timing.get("wait_seconds", 10))
        while True:
            answer = client.call(job["poll"], {**values, "job": kept}, what=f"{what} (poll)")
            status = path_value(answer.data, job["status"])
            if status in job["done"]:
                return answer.data
            if status in job.get("failed", []):
                # A retry by staff submits a new job.
                self.state.set(state_key, None)
                raise self.error(f"{self.system} reports the {what} job {kept['id']} as {status}")
            if time.monotonic() >= deadline:
                return None
            client.sleep(float(timing.get("interval_seconds", 1)))

    # --- erasure ---------------------------------------------------------------------------

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        if ERASURE not in self.capabilities():
            raise self.unsupported("erasure")
        return erasure_plan_make(self, identifiers, reference=reference)

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        return erasure_run(self, plan)

    # --- rectification -----------------------------------------------------------------------

    def rectification_preview(self, identifiers: Identifiers, corrections: list[Correction]) -> list[Fact]:
        if RECTIFICATION not in self.capabilities():
            raise self.unsupported("rectification")
        facts, _ = corrections_apply(self, identifiers, corrections, write=False)
        return facts

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 16: a field the description does not map is reported as not applicable, never guessed.
        if RECTIFICATION not in self.capabilities():
            raise self.unsupported("rectification")
        return rectify(self, identifiers, corrections, reference=reference)

    # --- restriction ---------------------------------------------------------------------------

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        # GDPR Art. 18(2): the system keeps the data; the mark it holds is what the company's integrations read.
        if RESTRICTION not in self.capabilities():
            raise self.unsupported("restriction")
        return restrict(self, identifiers, restricted=restricted, reference=reference)

    # --- consent withdrawal -------------------------------------------------------------------

    def consent_keys(self, group: str) -> set[str]:
        """Return the consent keys of the purposes a group serves (its own purposes in the map, else the source's)."""
        own = ((self.config.get("groups") or {}).get(group) or {}).get("purposes")
        purposes = own if own is not None else self.source.get("purposes") or []
        return {
            self.datamap.purposes[purpose]["consent_key"]
            for purpose in purposes
            if purpose in self.datamap.purposes and self.datamap.purposes[purpose].get("consent_key")
        }

    def consent_withdraw(self, identifiers: Identifiers, consents: list[str], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 7(3): withdrawing is as easy as giving; what the system accepted is what is reported.
        if CONSENT_WITHDRAWAL not in self.capabilities():
            raise self.unsupported("consent withdrawal")
        return consent_withdraw(self, identifiers, consents, reference=reference)
