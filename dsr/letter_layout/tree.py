"""The letter's HTML as a tree of Nodes, and the one error by which the layout declines a letter."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements and the classes each may carry; anything else is not a letter this layout knows.
KNOWN = {
    "html": set(), "head": set(), "meta": set(), "title": set(), "style": set(), "body": set(),
    "h1": set(), "h2": set(), "p": {"legal", "sender-name", "sender-lines"}, "ul": set(), "li": set(),
    "table": set(), "thead": set(), "tbody": set(), "tr": set(), "th": {"count", "reference", "wide", "group"},
    "td": set(), "div": {"letterhead", "sender", "contact", "addresses", "recipient", "meta", "reasons",
                         "authority", "signature", "note"},
    "strong": set(), "b": set(), "em": set(), "i": set(), "br": set(), "span": {"law", "label"},
}  # fmt: skip
VOID = {"meta", "br"}


class LayoutUnsupported(Exception):
    """The HTML holds something this layout does not draw; WeasyPrint renders the letter instead."""


@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)  # Node or str

    @property
    def classes(self) -> set:
        return set((self.attrs.get("class") or "").split())

    def elements(self, tag: str | None = None) -> list:
        return [child for child in self.children if isinstance(child, Node) and tag in (None, child.tag)]

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        unknown = set((attrs.get("class") or "").split()) - KNOWN.get(tag, set())
        if tag not in KNOWN or unknown:
            raise LayoutUnsupported(f"<{tag} class={attrs.get('class')!r}> is not an element of the letters.")
        node = Node(tag, attrs)
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.open[-1].tag != tag:
            raise LayoutUnsupported(f"</{tag}> closes <{self.open[-1].tag}>.")
        self.open.pop()

    def handle_data(self, data):
        self.open[-1].children.append(data)


def html_tree(html: str) -> Node:
    """Return the HTML as a tree of Nodes; raise LayoutUnsupported for any element or class the letters never use."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    if len(builder.open) != 1:
        raise LayoutUnsupported(f"<{builder.open[-1].tag}> is never closed.")
    return builder.root
