"""Building SVG elements with lxml: every attribute and text is escaped by the serializer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
Attrs = Mapping[str, str | float | int]
# lxml spells the default namespace with the key None (its stubs only accept str keys).
_NSMAP: Any = {None: SVG_NS}

# Characters XML 1.0 cannot carry at all (lxml refuses them): control characters, lone
# surrogates and the two non-characters. Names come from users, so they are dropped, not fatal.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """`text` without the characters XML cannot represent."""
    return _NOT_XML.sub("", text)


def num(value: float) -> str:
    """A coordinate as short text: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def points(items: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> str:
    """A `points` / path coordinate list."""
    return " ".join(f"{num(x)},{num(y)}" for x, y in items)


def _value(value: str | float | int) -> str:
    return clean(value) if isinstance(value, str) else num(float(value))


def element(tag: str, attrs: Attrs | None = None) -> etree._Element:
    """A root SVG element (the default namespace is SVG)."""
    node = etree.Element(f"{{{SVG_NS}}}{tag}", nsmap=_NSMAP)
    for key, value in (attrs or {}).items():
        node.set(key, _value(value))
    return node


def sub(
    parent: etree._Element, tag: str, attrs: Attrs | None = None, *, text: str | None = None
) -> etree._Element:
    """Append an SVG child element with attributes (and optional text) to `parent`."""
    node = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in (attrs or {}).items():
        node.set(key, _value(value))
    if text is not None:
        node.text = clean(text)
    return node
