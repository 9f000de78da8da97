"""Classes folded by `prepare.merge_classes` are gone from every stage after prepare, through the stage scripts.

A small simulated table (1,500 rows) runs prepare → train (the DP marginals floor) → sample → narrate
(no notes) → evaluate (tables only) → release with `work` and `self_harm` folded into
`domestic_leisure`. Before the folded classes left the spec of the later stages, the augment file
held rows of each (no training row had them), and the evaluation listed them as rare.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, load_stage
from traumasynth.spec import load_spec

FOLDED = ("work", "self_harm")
INTO = "domestic_leisure"
MODEL = "marginals"
runner = CliRunner()

PARAMS = {
    "base": {"seed": 5, "dataset": "ed_trauma_sim", "models": [MODEL]},
    "prepare": {
        "n_rows": 1500, "min_class_rows": 5, "rare_class_policy": "merge", "merge_classes": list(FOLDED),
        "merge_into": INTO,
    },
    "train_dp_tabular": {"epsilon": 4.0, "delta": 1e-5, MODEL: {}},
    "sample": {"strategy": "match", "augment_target": 300},
    "narrate": {"n_rows": 0},
    "evaluate": {
        "classifiers": ["logreg"], "headline_classifier": "logreg", "bootstrap": 20, "hgb_max_iter": 10,
        "discriminator_rows": 200, "max_triples": 20, "sdmetrics": False, "cv_folds": 2, "privacy_rows": 100,
        "require_narratives": False, "rare_class_share": 0.05,
    },
}  # fmt: skip


def _invoke(stage: str, *args: str) -> None:
    result = runner.invoke(load_stage(stage), list(args))
    assert result.exit_code == 0, f"{stage}: {result.output}"


@pytest.fixture(scope="module")
def merged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage's output of the small run, under one folder."""
    root = tmp_path_factory.mktemp("merged")
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(PARAMS))
    common = ("--params", str(params), "--datasets-dir", str(DATASETS))
    data, metrics = root / "data", root / "metrics"
    train = str(data / "prepared" / "train.parquet")
    _invoke("prepare", *common, "--raw-dir", str(root / "raw"), "--out-dir", str(data / "prepared"),
            "--metrics", str(metrics / "prepare.json"))  # fmt: skip
    _invoke("train_dp_tabular", *common, "--model", MODEL, "--train", train, "--out-dir", str(root / "models"),
            "--metrics", str(metrics / f"train_{MODEL}.json"), "--loss-curve", str(metrics / "loss.csv"))  # fmt: skip
    _invoke("sample", *common, "--model", MODEL, "--model-dir", str(root / "models"), "--train", train,
            "--train-metrics", str(metrics / f"train_{MODEL}.json"),
            "--out", str(data / "synthetic" / f"{MODEL}.parquet"),
            "--augment-out", str(data / "synthetic" / f"{MODEL}_augment.parquet"),
            "--metrics", str(metrics / f"sample_{MODEL}.json"))  # fmt: skip
    _invoke("narrate", *common, "--model", MODEL, "--synthetic", str(data / "synthetic" / f"{MODEL}.parquet"),
            "--out", str(data / "narratives" / f"{MODEL}.parquet"), "--metrics", str(metrics / f"narrate_{MODEL}.json"),
            "--shards-dir", str(data / "shards"))  # fmt: skip
    _invoke("evaluate", *common, "--model", MODEL, "--no-narratives", "--prepared-dir", str(data / "prepared"),
            "--synthetic-dir", str(data / "synthetic"), "--narratives-dir", str(data / "narratives"),
            "--metrics-dir", str(metrics), "--plots-dir", str(metrics / "plots"),
            "--summary-dir", str(data / "evaluation"))  # fmt: skip
    _invoke("release", *common, "--synthetic-dir", str(data / "synthetic"), "--narratives-dir",
            str(data / "narratives"), "--metrics-dir", str(metrics), "--out-dir", str(root / "release"))  # fmt: skip
    return root


def test_no_folded_class_is_sampled_augmented_evaluated_or_released(merged_run: Path) -> None:
    root, target = merged_run, "mechanism"
    tables = {
        "synthetic": root / "data" / "synthetic" / f"{MODEL}.parquet",
        "augment": root / "data" / "synthetic" / f"{MODEL}_augment.parquet",
        "released": root / "release" / "synthetic" / f"{MODEL}.parquet",
        "released augment": root / "release" / "synthetic" / f"{MODEL}_augment.parquet",
    }
    for name, path in tables.items():
        assert not set(FOLDED) & set(pd.read_parquet(path)[target]), name
    assert INTO in set(pd.read_parquet(tables["synthetic"])[target])
    released_spec = load_spec(root / "release" / "dataset_spec.yaml")
    assert not set(FOLDED) & set(released_spec.classes) and INTO in released_spec.classes
    summary = json.loads((root / "data" / "evaluation" / f"{MODEL}.json").read_text())
    assert not set(FOLDED) & set(summary["rare_classes"])
    prepared = json.loads((root / "metrics" / "prepare.json").read_text())
    assert prepared["merged_classes"] == list(FOLDED) and not set(FOLDED) & set(prepared["class_counts"]["train"])
    sampled = json.loads((root / "metrics" / f"sample_{MODEL}.json").read_text())
    assert not set(FOLDED) & set(json.dumps(sampled).replace('"', " ").split())
