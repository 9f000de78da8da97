"""`dvc.yaml` spells the file contract of `traumasynth.core.layout`: every path a stage names is a layout path.

For each stage (``${item}`` read as a model or peer name), every path in its command's options,
deps, outs, metrics and plots that lies in the pipeline's folders must be one that
``traumasynth.core.layout`` gives; the stage scripts take their defaults from the same module.
"""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO
from traumasynth.core import layout

PIPELINE_FOLDERS = ("data/", "models/", "metrics/", "release", "prompts", "lexicons", "datasets")


def contract(model: str) -> set[str]:
    """Every path the layout defines for ``model``, as dvc.yaml writes them."""
    paths = [
        layout.RAW, layout.PREPARED, layout.SYNTHETIC, layout.NARRATIVES, layout.NARRATE_SHARDS,
        layout.EVALUATION, layout.PLOTS, layout.REPORT, layout.UTILITY_PLOT, layout.PREPARE_METRICS,
        layout.RELEASE, layout.TRAIN_SPLIT, layout.CHECKER_METRICS, layout.PROMPTS, layout.LEXICONS, layout.DATASETS,
        layout.model_dir(model), layout.synthetic(model), layout.augment(model),
        layout.narratives(model), layout.loss_curve(model), layout.evaluation_summary(model),
        *(layout.split(s) for s in ("train", "val", "test")),
        *(layout.stage_metrics(stage, model) for stage in layout.MODEL_METRICS_STAGES),
        *(layout.evaluate_plot(kind, model) for kind in layout.EVALUATE_PLOT_KINDS),
    ]  # fmt: skip
    return {str(p) for p in paths}


def _entries(items: list) -> list[str]:
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in items or []]


def _stage_paths(stage: dict, item: str) -> list[str]:
    text = yaml.safe_dump(stage).replace("${item}", item)
    stage = yaml.safe_load(text)
    found = re.findall(r"--[a-z-]+ (\S+)", stage["cmd"])
    for key in ("deps", "outs", "metrics", "plots"):
        found += _entries(stage.get(key))
    return [p for p in found if p.startswith(PIPELINE_FOLDERS)]


def test_every_pipeline_path_in_dvc_yaml_comes_from_the_layout():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    unknown = []
    for name, stage in stages.items():
        item = "aim" if name in ("baselines", "evaluate_peer") else "vae"
        allowed = contract(item)
        unknown += [f"{name}: {p}" for p in _stage_paths(stage.get("do", stage), item) if p not in allowed]
    assert not unknown, "paths in dvc.yaml that traumasynth.core.layout does not define:\n" + "\n".join(unknown)


def test_the_check_sees_a_path_outside_the_contract():
    stage = {"cmd": "python stages/x.py --out data/synthetic/${item}.pq", "deps": ["data/prepared"]}
    assert [p for p in _stage_paths(stage, "vae") if p not in contract("vae")] == ["data/synthetic/vae.pq"]


def test_stage_defaults_are_layout_paths():
    """A stage run by hand (no path options) reads and writes where dvc.yaml says."""
    scripts = "\n".join(p.read_text() for p in (REPO / "stages").glob("*.py"))
    literals = re.findall(r'Path\(\s*"((?:data/|models|metrics|release|review/)[^"]*)"\s*\)', scripts)
    assert literals == [], f"hard-coded pipeline paths in stages/: {literals}"
