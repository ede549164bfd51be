"""Parsed models, cached by content hash (the workflow parses each pinned version once)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from workflow_engine.model.json_export import content_hash
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import ProcessModel

_MAX = 256
_cache: OrderedDict[str, ProcessModel] = OrderedDict()
_lock = threading.Lock()


class DefinitionError(ValueError):
    """The pinned document cannot run (hash mismatch or parse errors); names the cause."""


def load_model(document: dict[str, Any], expected_hash: str) -> ProcessModel:
    """Parse `document`, checking it against `expected_hash`; cached by hash.

    Raises:
        DefinitionError: when the hash differs (an empty expected hash skips the check) or the
            document has errors.
    """
    actual = content_hash(document)
    if expected_hash and expected_hash != actual:
        raise DefinitionError(
            f"content_hash {expected_hash!r} does not match the document (sha256 {actual!r})"
        )
    with _lock:
        cached = _cache.get(actual)
        if cached is not None:
            _cache.move_to_end(actual)
            return cached
    model, issues = parse_definition(document)
    errors = [i for i in issues if i.severity.value == "error"]
    if model is None or errors:
        detail = "; ".join(f"{i.path}: {i.message}" for i in errors[:5]) or "no model"
        raise DefinitionError(f"the definition cannot run: {detail}")
    with _lock:
        _cache[actual] = model
        while len(_cache) > _MAX:
            _cache.popitem(last=False)
    return model
