"""The `manual` connector: a system dsr cannot reach, worked by hand by a named owner with instructions.

The connector carries out nothing itself (``supports`` is False for every
operation). It says what a person must do and who: ``task_for(operation)``.
The engine stores that as a ManualTask (dsr.engine.manual); the owner
completes it with what they found and did, and, for access, an optional
file that joins the export. Those findings are the facts.
"""

from dsr.datamap.schema import DataMap, DataMapError
from dsr.models import Operation
from dsr.sources.base import ASYNC, Connector

# The operations a person can be asked to do in a system dsr cannot reach.
OPERATIONS = (
    Operation.ACCESS.value,
    Operation.ERASURE.value,
    Operation.RECTIFICATION.value,
    Operation.RESTRICTION.value,
    Operation.RESTRICTION_LIFT.value,
    Operation.CONSENT_WITHDRAWAL.value,
)
CONFIG_KEYS = {"owner", "instructions", "categories"}
TASK_GROUP = "task"


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

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        categories = list(dict.fromkeys(config.get("categories", [])))
        return {TASK_GROUP: {"purposes": None, "recipients": None, "categories": categories}}

    def capabilities(self) -> frozenset[str]:
        # Results arrive when the owner attests; the operations themselves are tasks (task_for).
        return frozenset({ASYNC})

    def supports(self, operation: str) -> bool:
        return False

    def task_for(self, operation: str) -> dict | None:
        instructions = self.config["instructions"].get(operation)
        if operation not in OPERATIONS or instructions is None:
            return None
        return {
            "source": self.key,
            "operation": str(operation),
            "owner": self.config["owner"],
            "instructions": {"da": instructions["da"], "en": instructions["en"]},
        }

    def test_connection(self) -> None:
        """A manual source has nothing to connect to; its configuration was checked when loaded."""
