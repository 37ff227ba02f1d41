"""Read the data map's YAML within budgets, refusing a hostile or ambiguous file before it is built.

PyYAML's safe loader builds whatever the file describes: ten nested aliases
of ten aliases each (the "billion laughs") make a few kilobytes mean billions
of values, deep nesting ends in a RecursionError, and a key written twice
silently keeps the last value (a SQL source shadowed by a manual stub). Here
the document is composed node by node under a size, a depth, an alias and an
expanded-size budget, and a mapping with a key twice is refused; every error
names its line and never repeats a whole value.
"""

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

try:
    # libyaml's scanner and parser, shipped in PyYAML's wheels: about eight times faster than the pure-Python
    # ones. The composer stays in Python (below), where the budgets are counted.
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):
        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


MAX_BYTES = 1024 * 1024
MAX_DEPTH = 40
MAX_ALIASES = 50
# Values the document holds once every alias is expanded; a large real data map holds a few thousand.
MAX_EXPANDED_NODES = 100_000
_SHOWN_CHARACTERS = 40


class YamlRefused(Exception):
    """The file is not read: ``where`` is "line L, column C" (or "file"), ``problem`` says why."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "file"


def _where_in(text: str, mark) -> str:
    """Return where ``mark`` is, at most at the end of ``text``.

    libyaml places an error at the end of a file without a last line break on the line after it, which the file
    does not have.
    """
    lines = text.splitlines()
    if mark is not None and lines and not text.endswith(("\n", "\r")) and mark.line >= len(lines):
        return f"line {len(lines)}, column {len(lines[-1]) + 1}"
    return _where(mark)


def _shown(value: str) -> str:
    """Return ``value`` quoted, cut short: an error names a key, it never repeats a whole value."""
    if len(value) > _SHOWN_CHARACTERS:
        value = value[:_SHOWN_CHARACTERS] + "…"
    return repr(value)


class _BoundedLoader(Composer, _Parser, SafeConstructor, Resolver):
    """A safe loader whose composer counts depth, aliases and expanded size, and refuses duplicate keys.

    The composer comes first, so its node methods (in Python, counted here) are used rather than libyaml's.
    """

    def __init__(self, stream: str):
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0
        # Expanded size per composed node (by id: an alias returns the very node its anchor names).
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        collection = isinstance(event, (SequenceStartEvent, MappingStartEvent))
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlRefused(_where(event.start_mark), f"more than {MAX_ALIASES} aliases (*name)")
        elif collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise YamlRefused(_where(event.start_mark), f"nested deeper than {MAX_DEPTH} levels")
        node = super().compose_node(parent, index)
        if collection:
            self._depth -= 1
        if isinstance(event, AliasEvent) and id(node) not in self._sizes:
            # Only an alias to a collection still being read (a recursive structure) has no size yet.
            raise YamlRefused(_where(event.start_mark), "an alias refers to the collection it is in")
        size = self._size(node)
        if size > MAX_EXPANDED_NODES:
            raise YamlRefused(
                _where(event.start_mark),
                f"expands to more than {MAX_EXPANDED_NODES} values once its aliases are followed",
            )
        return node

    def _size(self, node: Node) -> int:
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, ScalarNode):
            size = 1
        else:
            children = node.value if isinstance(node, SequenceNode) else [part for pair in node.value for part in pair]
            size = 1 + sum(self._sizes[id(child)] for child in children)
        self._sizes[id(node)] = size
        return size

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Node] = {}
        for key, _value in node.value:
            if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            first = seen.setdefault((key.tag, key.value), key)
            if first is not key:
                raise YamlRefused(
                    _where(key.start_mark),
                    f"the key {_shown(key.value)} appears twice in one mapping "
                    f"(first on line {first.start_mark.line + 1}); the later one would silently replace it",
                )
        return node


def yaml_read(text: str) -> Any:
    """Return the document in ``text``; raise YamlRefused if it is too large, too deep, too aliased or ambiguous."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlRefused("file", f"larger than {MAX_BYTES // 1024} KiB; a data map is far smaller")
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise YamlRefused(_where_in(text, mark), f"not valid YAML: {problem}") from None
    except RecursionError:
        raise YamlRefused("file", f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
