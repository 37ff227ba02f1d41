"""The `manual` connector: a system dsr cannot reach, handled by a named owner with instructions.

Nothing is created at plan time: the connector says what must be done and by
whom. The worker stores the task (ManualTask); the owner completes it later
with an attestation and, for access, an optional file that joins the export.
"""

from collections.abc import Iterator

from dsr.datamap.schema import DataMap, DataMapError
from dsr.models import Operation
from dsr.sources.base import (
    ACCESS,
    ASYNC,
    CONSENT_WITHDRAWAL,
    ERASURE,
    RECTIFICATION,
    RESTRICTION,
    TASK,
    ChangeResult,
    Connector,
    Correction,
    ErasurePlan,
    ErasureResult,
    Fact,
    Identifiers,
    Record,
    TablePlan,
)

OPERATIONS = {
    ACCESS: Operation.ACCESS,
    ERASURE: Operation.ERASURE,
    RECTIFICATION: Operation.RECTIFICATION,
    RESTRICTION: Operation.RESTRICTION,
    CONSENT_WITHDRAWAL: Operation.CONSENT_WITHDRAWAL,
}
CONFIG_KEYS = {"owner", "instructions", "categories"}


class ManualConnector(Connector):
    """Work done by hand, e.g. chat logs in Genesys PureCloud or a paper archive."""

    kind = "manual"

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        errors = [
            DataMapError(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(CONFIG_KEYS))}")
            for key in config
            if key not in CONFIG_KEYS
        ]
        if not isinstance(config.get("owner"), str) or not config.get("owner", "").strip():
            errors.append(DataMapError(f"{path}.owner", "is required: the person or team who does the work"))
        instructions = config.get("instructions")
        if not isinstance(instructions, dict) or not instructions:
            errors.append(
                DataMapError(f"{path}.instructions", "give instructions per operation, e.g. access: {da, en}")
            )
            instructions = {}
        for operation, text in instructions.items():
            if operation not in OPERATIONS:
                errors.append(
                    DataMapError(f"{path}.instructions.{operation}", f"unknown operation; use {', '.join(OPERATIONS)}")
                )
            if not isinstance(text, dict) or not all(
                isinstance(text.get(lang), str) and text[lang] for lang in ("da", "en")
            ):
                errors.append(DataMapError(f"{path}.instructions.{operation}", "give the text as {da: ..., en: ...}"))
        categories = config.get("categories", [])
        if not isinstance(categories, list) or any(c not in datamap.categories for c in categories):
            errors.append(DataMapError(f"{path}.categories", "must list known category keys"))
        return errors

    def capabilities(self) -> frozenset[str]:
        return frozenset({ASYNC, *(op for op in self.config["instructions"] if op in OPERATIONS)})

    def task_spec(self, operation: str) -> dict:
        """Return what the task for ``operation`` says: operation, owner and instructions (da/en)."""
        if operation not in self.capabilities():
            raise self.unsupported(operation)
        return {
            "source": self.key,
            "operation": OPERATIONS[operation].value,
            "owner": self.config["owner"],
            "instructions": self.config["instructions"][operation],
        }

    def test_connection(self) -> None:
        """A manual source has nothing to connect to; its configuration was checked when loaded."""

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        # Data in this system is collected by a person: the worker creates a task from task_spec("access").
        raise self.error("data in this source is collected by hand; create a manual task from task_spec('access')")

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        spec = self.task_spec(ERASURE)
        table = TablePlan(table="manual", action=TASK, count=0, note=spec["instructions"]["en"])
        return ErasurePlan(source=self.key, kind=self.kind, tables=[table], extra={"task": spec})

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        return ErasureResult(
            source=self.key,
            facts=[Fact(table="manual", action=TASK)],
            complete=False,
            extra={"task": plan.extra["task"]},
        )

    def _pending(self, operation: str) -> ChangeResult:
        return ChangeResult(
            source=self.key, operation=operation, complete=False, extra={"task": self.task_spec(operation)}
        )

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        return self._pending(RECTIFICATION)

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        return self._pending(RESTRICTION)

    def consent_withdraw(self, identifiers: Identifiers, consents: list[str], *, reference: str = "") -> ChangeResult:
        return self._pending(CONSENT_WITHDRAWAL)
