"""`make bench-scale`'s bookkeeping: the stages it runs, the params it changes, the extrapolation, the verdicts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(name="bench")
def _bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """benchmarks/bench_scale.py as a module (a script, not in a package)."""
    spec = importlib.util.spec_from_file_location("bench_scale", REPO / "benchmarks/bench_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_scale", module)  # its dataclasses look their module up there
    monkeypatch.setattr(sys, "path", [*sys.path])  # it puts benchmarks/ on sys.path
    spec.loader.exec_module(module)
    return module


def test_every_pipeline_stage_is_run_once_per_model(bench: ModuleType) -> None:
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    names = [name for name, _ in bench.stage_commands(dvc, ["vae", "marginals"])]
    assert names == [
        "prepare", "train_dp_tabular@vae", "train_dp_tabular@marginals", "sample@vae", "sample@marginals",
        "narrate@vae", "narrate@marginals", "evaluate@vae", "evaluate@marginals", "compare", "release",
    ]  # fmt: skip
    commands = dict(bench.stage_commands(dvc, ["vae"]))
    assert commands["train_dp_tabular@vae"].startswith("python stages/train_dp_tabular.py --model vae ")
    assert "${" not in " ".join(commands.values())


def test_only_the_rows_narration_and_models_change(bench: ModuleType) -> None:
    base = yaml.safe_load((REPO / "params.yaml").read_text())
    params = bench.bench_params(base, rows=1_000_000, models=["vae", "ddpm", "marginals"])
    assert params["prepare"]["n_rows"] == 1_000_000 and params["narrate"]["n_rows"] == 0
    assert params["base"]["models"] == ["vae", "ddpm", "marginals"]
    assert params["evaluate"] == base["evaluate"] | {"require_narratives": False}
    for section in ("train_dp_tabular", "sample", "baselines"):
        assert params[section] == base[section]  # the defaults, untouched
    assert base["prepare"]["n_rows"] != 1_000_000  # the project's params are not modified


def test_training_time_is_extrapolated_from_the_steps_taken(bench: ModuleType) -> None:
    metrics = {"steps": 100, "step_limit": 100, "sgd_seconds": 20.0, "budget": {"sgd_steps": 1000}}
    seconds, extrapolated = bench.extrapolate_training(30.0, metrics)
    assert extrapolated and seconds == pytest.approx(10.0 + 200.0)
    full = {"steps": 510, "sgd_seconds": 20.0, "budget": {"sgd_steps": 510}}
    assert bench.extrapolate_training(30.0, full) == (30.0, False)  # a full run is not extrapolated
    assert bench.extrapolate_training(5.0, {"steps": None, "budget": None}) == (5.0, False)  # marginals


def test_verdicts_fail_superlinear_time_and_large_memory(bench: ModuleType) -> None:
    t = bench.StageTiming
    timings = [
        t("sample@vae", 200_000, 10.0, 500.0, 0, 10.0, False),
        t("sample@vae", 1_000_000, 50.0, 900.0, 0, 50.0, False),  # linear
        t("evaluate@vae", 200_000, 10.0, 500.0, 0, 10.0, False),
        t("evaluate@vae", 1_000_000, 70.0, 900.0, 0, 70.0, False),  # 1.4x per row
        t("release", 200_000, 1.0, 500.0, 0, 1.0, False),
        t("release", 1_000_000, 5.0, 7000.0, 0, 5.0, False),  # over 6 GB
    ]
    lines = bench.verdicts(timings, [20_000, 200_000, 1_000_000])
    assert [line.split()[:2] for line in lines] == [
        ["PASS", "sample@vae"], ["FAIL", "evaluate@vae"], ["FAIL", "release"],
    ]  # fmt: skip


def test_the_csv_has_the_issue_columns(bench: ModuleType, tmp_path: Path) -> None:
    t = bench.StageTiming
    path = tmp_path / "scaling.csv"
    bench.write_csv([t("prepare", 20_000, 1.234, 100.0, 16207.0, 1.234, False)], path)
    header, row = path.read_text().splitlines()
    assert header.split(",")[:4] == ["stage", "rows", "seconds", "peak_rss_mb"]
    assert row.startswith("prepare,20000,1.23,100.0,")


def test_an_earlier_csv_reads_back_for_its_verdicts(bench: ModuleType, tmp_path: Path) -> None:
    t = bench.StageTiming
    timings = [
        t("evaluate@vae", 200_000, 10.0, 500.0, 20000.0, 10.0, False),
        t("evaluate@vae", 1_000_000, 70.0, 900.0, 14285.7, 70.0, True),
    ]
    path = tmp_path / "scaling.csv"
    bench.write_csv(timings, path)
    assert bench.read_csv(path) == timings
    assert not bench.print_report(bench.read_csv(path), [200_000, 1_000_000])  # 1.4x per row: FAIL
