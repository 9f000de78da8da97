"""`dvc.yaml` deps cannot drift from the code: every package module a stage runs is one of its deps.

For each stage, the test follows the imports of its script through the ``traumasynth`` package
(parent packages included, and the registry's lazily imported model modules, named as strings)
and checks that each module file is a dep of the stage, itself or through a folder. A change to
any of them then makes ``dvc status`` report the stage as changed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "traumasynth"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _direct_imports(path: Path) -> set[str]:
    """Package modules ``path`` imports: import statements, and string constants naming a module (lazy imports)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in MODULES:
                out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value.split(":")[0]  # "traumasynth.models.vae:VAESynthesizer"
            if name in MODULES:
                out.add(name)
    # importing a.b.c runs a/__init__.py and a/b/__init__.py too
    return out | {".".join(m.split(".")[:i]) for m in out for i in range(1, m.count(".") + 1)} & set(MODULES)


def imported_files(script: Path) -> set[Path]:
    """Every package file that running ``script`` may execute."""
    seen: set[str] = set()
    todo = list(_direct_imports(script))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _direct_imports(MODULES[name]) - seen
    return {MODULES[m] for m in seen}


def _stages() -> dict[str, dict]:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def _covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(REPO)
    return any(rel == Path(d) or Path(d) in rel.parents for d in deps)


def test_every_stage_depends_on_every_package_file_it_runs():
    problems = []
    for name, stage in _stages().items():
        script = re.search(r"python (stages/\S+\.py)", stage["cmd"])
        assert script, f"stage {name}: no `python stages/<x>.py` in its cmd"
        deps = [str(d) for d in stage.get("deps", [])]
        assert script.group(1) in deps, f"stage {name} does not depend on its own script {script.group(1)}"
        runs = imported_files(REPO / script.group(1))
        missing = sorted(str(p.relative_to(REPO)) for p in runs if not _covered(p, deps))
        if missing:
            problems.append(f"{name}: add to deps: {', '.join(missing)}")
    assert not problems, "\n".join(problems)


def test_the_import_walk_sees_lazy_and_parent_imports():
    files = {str(p.relative_to(REPO)) for p in imported_files(REPO / "stages/train_dp_tabular.py")}
    assert "traumasynth/models/vae.py" in files  # imported by the registry from a string
    assert "traumasynth/__init__.py" in files and "traumasynth/models/__init__.py" in files
