"""System checks for the data map's sources (ids dsr.E101-E199, dsr.I101-I199).

The map was validated when it was loaded, but code changes since then can make
it wrong (a connector kind removed, a Django model renamed): start-up says so.
"""

from django.core.checks import Error, Info, register
from django.db import DatabaseError

from dsr.datamap.schema import DataMap
from dsr.datamap.selectors import datamap_active
from dsr.sources.registry import connector_class, connector_kinds


def _active_map() -> DataMap | None:
    return datamap_active()


@register()
def check_sources(app_configs, **kwargs) -> list[Error | Info]:
    """dsr.E101 unknown connector kind, dsr.E102 invalid source configuration, dsr.I101 no data map loaded."""
    try:
        datamap = _active_map()
    except DatabaseError:
        # Before `migrate` there is no table to read; the migrate run itself must not fail here.
        return []
    if datamap is None:
        return [
            # Information, not a warning: a fresh deployment is migrated before its map is loaded.
            Info(
                "No data map has been loaded: requests cannot reach any source.",
                hint="Load one with `python manage.py dsr_load_datamap FILE` (see docs/datamap.md).",
                id="dsr.I101",
            )
        ]
    problems: list[Error | Info] = []
    for key, source in datamap.sources.items():
        cls = connector_class(source["kind"])
        if cls is None:
            problems.append(
                Error(
                    f"Source {key!r} has the unknown connector kind {source['kind']!r}.",
                    hint=f"Known kinds: {', '.join(connector_kinds())}. Fix the map and load it again.",
                    id="dsr.E101",
                )
            )
            continue
        for error in cls.config_errors(source["config"], path=f"sources.{key}", datamap=datamap):
            problems.append(
                Error(
                    f"The active data map is no longer valid: {error}",
                    hint="Fix the map file and load it again with `python manage.py dsr_load_datamap FILE`.",
                    id="dsr.E102",
                )
            )
    return problems
