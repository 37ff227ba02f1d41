"""Data map files built to hurt a YAML reader: alias bombs, deep nesting, a key written twice."""

import textwrap
import tracemalloc

import yaml

from tests.sources.maps import BASE_MAP, CHAT_SOURCE


def alias_bomb(levels: int = 10, fanout: int = 10) -> str:
    """Return a valid-looking map whose ``x`` expands to ``fanout ** levels`` values (the "billion laughs")."""
    lines = [yaml.safe_dump({k: v for k, v in BASE_MAP.items() if k != "sources"}, allow_unicode=True), "x:"]
    lines.append("  l0: &l0 [" + ", ".join(['"lol"'] * fanout) + "]")
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


def deep_nesting(depth: int = 5000) -> str:
    """Return a map with one value nested ``depth`` lists deep."""
    return "controller:\n  name: " + "[" * depth + "]" * depth + "\n"


def duplicate_source() -> str:
    """Return a map whose second ``chats`` entry would silently replace the first (a stub shadowing a source)."""
    top = yaml.safe_dump({k: v for k, v in BASE_MAP.items() if k != "sources"}, allow_unicode=True, sort_keys=False)
    real = yaml.safe_dump({"chats": CHAT_SOURCE}, allow_unicode=True, sort_keys=False)
    stub = yaml.safe_dump(
        {"chats": {**CHAT_SOURCE, "owner": "nobody", "instructions": {"access": "x", "erasure": "x"}}},
        allow_unicode=True,
        sort_keys=False,
    )
    return top + "sources:\n" + textwrap.indent(real, "  ") + textwrap.indent(stub, "  ")


# Hostile files are refused before they are built: the reader's peak stays far below a web worker's memory.
PEAK_LIMIT_BYTES = 4 * 1024 * 1024


def peak_of(read) -> tuple[Exception | None, int]:
    """Call ``read``; return what it raised (or None) and the peak memory it traced."""
    tracemalloc.start()
    try:
        read()
    except Exception as exc:
        raised: Exception | None = exc
    else:
        raised = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


HOSTILE = {
    "alias bomb": (
        alias_bomb(),
        "line 115, column 7: expands to more than 100000 values once its aliases are followed",
    ),
    "too many aliases": (alias_bomb(levels=3, fanout=30), "line 113, column 112: more than 50 aliases"),
    "deep nesting": (deep_nesting(), "line 2, column 47: nested deeper than 40 levels"),
    "duplicate key": (
        duplicate_source(),
        "line 129, column 3: the key 'chats' appears twice in one mapping (first on line 110)",
    ),
}
