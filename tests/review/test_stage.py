from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import load_stage
from tests.review.conftest import write_inputs
from tests.review.test_ingest import row, write_csv
from traumasynth.spec import DatasetSpec

runner = CliRunner()
app = load_stage("review")


@pytest.fixture()
def in_tmp(tmp_path: Path):
    old = Path.cwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def test_build_then_ingest(in_tmp: Path, public_spec: DatasetSpec) -> None:
    write_inputs(in_tmp, public_spec, n_rows=12)
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 0, result.output
    assert "real rows" in result.output
    key = json.loads(Path("review/key.json").read_text())
    items = sorted(key["items"])
    assert len(items) == 12  # 4 per source, 3 sources
    a = write_csv(in_tmp / "a.csv", [row("a", i, realism="3", guess="synthetic") for i in items])
    b = write_csv(in_tmp / "b.csv", [row("b", i, realism="3", guess="synthetic") for i in items[:6]])
    result = runner.invoke(app, ["ingest", str(a), str(b), "--metrics", "out/review.json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(Path("out/review.json").read_text())
    assert metrics["n_ratings"] == 18
    assert metrics["reviewers"]["a"]["guess_accuracy"] == pytest.approx(8 / 12, abs=1e-4)


def test_build_with_missing_narratives_exits_1(in_tmp: Path, public_spec: DatasetSpec) -> None:
    write_inputs(in_tmp, public_spec, n_rows=5)
    Path("data/narratives/ddpm.parquet").unlink()
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 1
    assert "dvc repro narrate@ddpm" in result.output
    assert not Path("review").exists()


def test_ingest_of_a_foreign_export_exits_1_and_writes_nothing(in_tmp: Path, public_spec: DatasetSpec) -> None:
    write_inputs(in_tmp, public_spec, n_rows=5)
    assert runner.invoke(app, ["build"]).exit_code == 0
    bad = write_csv(in_tmp / "bad.csv", [row("a", "item-000000000000", realism="9")])
    result = runner.invoke(app, ["ingest", str(bad)])
    assert result.exit_code == 1
    assert "unknown item_id 'item-000000000000'" in result.output
    assert "realism '9' is not an integer in 1..5" in result.output
    assert not Path("metrics/review.json").exists()
