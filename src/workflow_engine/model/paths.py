"""JSON paths for findings: `elements[4].outgoing[1]`, `process.variables.email.type`.

Paths are written the way a person reads them, not as strict JSONPath: the document root is `$`
on its own, and top-level keys start a path without a `$.` prefix. A key that is not a plain
word (spaces, dots, quotes) is written in brackets as a JSON string: `process.variables["a b"]`.
"""

from __future__ import annotations

import json

ROOT = "$"


def _plain(key: str) -> bool:
    return bool(key) and all(c.isalnum() or c in "_-" for c in key)


def key_path(base: str, key: str) -> str:
    """The path of `key` inside the object at `base` (`ROOT` or `""` for the document)."""
    if base in ("", ROOT):
        return key if _plain(key) else f"{ROOT}[{json.dumps(key, ensure_ascii=False)}]"
    if _plain(key):
        return f"{base}.{key}"
    return f"{base}[{json.dumps(key, ensure_ascii=False)}]"


def index_path(base: str, index: int) -> str:
    """The path of item `index` of the list at `base`."""
    return f"{base}[{index}]"
