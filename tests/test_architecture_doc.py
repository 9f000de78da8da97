"""docs/architecture.md names every module and folder of the package, so it cannot fall behind a move."""

from __future__ import annotations

import re

from tests.conftest import REPO

PACKAGE = REPO / "traumasynth"
DOC = REPO / "docs" / "architecture.md"


def _named(text: str) -> set[str]:
    """Module paths the page names in backticks: `core/io.py`, or `facts.py` in a row of `narrate/checking/`."""
    named: set[str] = set()
    for line in text.splitlines():
        folders = re.findall(r"`([a-z_/]+/)`", line)
        for path in re.findall(r"`([a-z_/]+\.py|[a-z_/]+/)`", line):
            named.add(path)
            if "/" not in path.rstrip("/"):
                named |= {f"{folder}{path}" for folder in folders}
    return named


def _modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        out.append(rel[: -len("__init__.py")] if rel.endswith("/__init__.py") else rel)
    return out


def test_every_package_module_is_named_in_the_architecture_page():
    named = _named(DOC.read_text())
    missing = [m for m in _modules() if m not in named]
    assert not missing, "docs/architecture.md does not name: " + ", ".join(missing)


def test_the_check_sees_a_module_the_page_does_not_name():
    assert "narrate/checking/facts.py" in _named("| `narrate/checking/` | `facts.py` (what a note states) |")
    assert "narrate/checking/repair.py" not in _named("| `narrate/checking/` | `facts.py` |")
