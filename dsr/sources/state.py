"""What a connector keeps between the runs of one job."""

import copy
from typing import Any


class JobState:
    """What a connector keeps between runs of one job (an asynchronous job's id at the system), by key.

    ``set`` keeps the value at once (the engine's state is saved to the job's row before ``set`` returns),
    so a worker stopped right after it is followed by one that finds it. Outside a job (a dry run, a
    connection test) the state lives as long as the connector.
    """

    def __init__(self, data: dict | None = None):
        self.data = dict(data or {})

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` (None forgets it)."""
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value
        self.save()

    def save(self) -> None:
        """Keep the state where the next run finds it (nothing to do for a state in memory)."""


def connector_with_state(connector: Any, state: JobState) -> Any:
    """Return a copy of ``connector`` working for one job, keeping what it remembers between runs in ``state``.

    A copy, because a worker reuses one connector per source for many jobs.
    """
    bound = copy.copy(connector)
    bound.state = state
    return bound
