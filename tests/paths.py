"""Where test data lives: the repository, its examples, and the shared conformance corpus.

`../shared` sits beside the checkout (on developer machines and in CI); WFE_SHARED_DIR overrides.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "user-registration.json"
SHARED = Path(os.environ.get("WFE_SHARED_DIR", str(ROOT.parent / "shared")))
CONFORMANCE = SHARED / "conformance"
