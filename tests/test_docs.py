"""The documentation stays self-contained: no machine paths, no links out of the repository, and
every relative link points at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home|Users|tmp/[a-z]+-\w{6,})/")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_paths_and_no_links_outside(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert not _MACHINE_PATH.search(text), _MACHINE_PATH.search(text)
    links = _LINK.findall(text)
    outside = [link for link in links if link.startswith("../") and doc.parent == ROOT]
    outside += [link for link in links if "../shared" in link]
    assert not outside, f"the repository must stand alone: links out of it {outside}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in _LINK.findall(doc.read_text(encoding="utf-8")):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{doc.name}: links to missing files {broken}"


def test_the_readme_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in (ROOT / "docs").glob("*.md") if f"docs/{p.name}" not in readme]
    assert not unlinked, f"docs not linked from README.md: {unlinked}"
