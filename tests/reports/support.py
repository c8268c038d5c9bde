"""A tiny HTML reader for the report tests: links, tables, text and SVG shapes.

Built on html.parser so the tests need no dependency beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


@dataclass
class Table:
    attrs: dict[str, str]
    caption: str = ""
    # Rows as lists of (tag, text, attrs) per cell, header rows included.
    rows: list[list[tuple[str, str, dict[str, str]]]] = field(default_factory=list)
    head_rows: int = 0

    def body_rows(self) -> list[list[tuple[str, str, dict[str, str]]]]:
        """The rows after the <thead>."""
        return self.rows[self.head_rows :]


_VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source"}


class Page(HTMLParser):
    """Parse one page; afterwards `elements`, `tables`, `text` and `links` hold what it had."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.elements: list[Element] = []
        self.tables: list[Table] = []
        self.text_parts: list[str] = []
        self.title = ""
        self.lang = ""
        self._stack: list[str] = []
        self._table: list[Table] = []
        self._cell: tuple[str, list[str], dict[str, str]] | None = None
        self._in_caption = False
        self._in_title = False
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append(Element(tag, a))
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "table":
            self._table.append(Table(a))
            self.tables.append(self._table[-1])
        elif tag == "tr" and self._table:
            self._table[-1].rows.append([])
            if "thead" in self._stack:
                self._table[-1].head_rows += 1
        elif tag in ("td", "th") and self._table:
            self._cell = (tag, [], a)
        elif tag == "caption":
            self._in_caption = True
        elif tag == "title" and not self._stack.count("svg"):
            self._in_title = True
        if tag not in _VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell and self._table:
            ctag, parts, a = self._cell
            self._table[-1].rows[-1].append((ctag, " ".join("".join(parts).split()), a))
            self._cell = None
        elif tag == "table" and self._table:
            self._table.pop()
        elif tag == "caption":
            self._in_caption = False
        elif tag == "title":
            self._in_title = False
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._cell:
            self._cell[1].append(data)
        if self._in_caption and self._table:
            self._table[-1].caption += data
        if self._in_title:
            self.title += data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes)]

    def links(self) -> list[str]:
        return [e.attrs[key] for e in self.elements for key in ("href", "src") if key in e.attrs]

    def table(self, cls: str) -> Table:
        (found,) = [t for t in self.tables if cls in t.attrs.get("class", "").split()]
        return found
