"""SDMetrics' quality report as an outside judge: metadata from the spec, the peers' environment, real scores.

The scores come from real runs of `peers/quality_report.py` in `.venv-peers` (about 10 s each);
they are skipped, with the command that builds the environment, when `.venv-peers` is absent.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DATASETS, REPO
from traumasynth.core.errors import DataError
from traumasynth.evaluate.sdmetrics_quality import QualityJudge, as_released, sdmetrics_metadata, subsample
from traumasynth.peers.discretise import to_sdv_frame
from traumasynth.peers.worker import PEERS_PYTHON_ENV
from traumasynth.spec import DatasetSpec, load_spec

PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"
JUDGE = REPO / "peers" / "quality_report.py"
needs_peers_env = pytest.mark.skipif(
    not PEERS_PYTHON.is_file(), reason=".venv-peers is absent: build it with `make peers`"
)


def _empty(spec: DatasetSpec) -> pd.DataFrame:
    """A frame in the spec's form with no row: the metadata must not need any."""
    return pd.DataFrame({c.name: pd.Series(dtype=c.pandas_dtype) for c in spec.modelled_columns})


def test_metadata_types_every_modelled_column_from_the_spec(sim_spec: DatasetSpec):
    neiss = load_spec(DATASETS / "neiss.yaml")
    for spec in (sim_spec, neiss):
        _, columns = to_sdv_frame(_empty(spec), spec=spec)
        meta = sdmetrics_metadata(columns)["columns"]
        assert list(meta) == [c.name for c in spec.modelled_columns]
        expected = {"categorical": "categorical", "datetime": "datetime"}
        for col in spec.modelled_columns:
            assert meta[col.name] == {"sdtype": expected.get(col.kind, "numerical")}, col.name
    assert sdmetrics_metadata(to_sdv_frame(_empty(neiss), spec=neiss)[1])["columns"]["treatment_date"] == {
        "sdtype": "datetime"
    }


def test_the_judge_sees_numbers_at_the_decimals_the_release_gives(sim_spec: DatasetSpec, real_train: pd.DataFrame):
    """Temperature (``decimals: 1``) to 0.1 °C, as in ``release/``; categories and the input frame untouched."""
    drawn = real_train.copy()
    drawn["temperature"] = drawn["temperature"] + 0.0123
    judged = as_released(drawn, spec=sim_spec)
    recorded = drawn["temperature"].notna()
    assert np.allclose(judged.loc[recorded, "temperature"], real_train.loc[recorded, "temperature"])
    assert judged["temperature"].isna().equals(drawn["temperature"].isna())
    assert judged["mechanism"].equals(drawn["mechanism"])
    assert not np.allclose(drawn.loc[recorded, "temperature"], real_train.loc[recorded, "temperature"])


def test_subsample_is_seeded_and_keeps_a_small_table_whole(real_train: pd.DataFrame):
    first = subsample(real_train, rows=100, seed=3)
    assert len(first) == 100 and first.equals(subsample(real_train, rows=100, seed=3))
    assert not first.equals(subsample(real_train, rows=100, seed=4))
    assert subsample(real_train, rows=10_000, seed=3).equals(real_train.reset_index(drop=True))


def test_true_without_the_peers_environment_names_make_peers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(PEERS_PYTHON_ENV, str(tmp_path / "missing-python"))
    with pytest.raises(DataError, match="make peers"):
        QualityJudge.locate(mode=True, script=JUDGE)


def test_auto_without_the_peers_environment_is_one_info_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setenv(PEERS_PYTHON_ENV, str(tmp_path / "missing-python"))
    with caplog.at_level(logging.INFO, logger="traumasynth.evaluate.sdmetrics_quality"):
        assert QualityJudge.locate(mode="auto", script=JUDGE) is None
    assert [r.levelno for r in caplog.records] == [logging.INFO] and "make peers" in caplog.text
    assert QualityJudge.locate(mode=False, script=tmp_path / "no-script.py") is None  # off: nothing is looked for


def test_a_missing_script_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    python = tmp_path / "python"
    python.write_text("")
    monkeypatch.setenv(PEERS_PYTHON_ENV, str(python))
    with pytest.raises(DataError, match="--judge"):
        QualityJudge.locate(mode="auto", script=tmp_path / "no-script.py")


@needs_peers_env
def test_a_copy_scores_above_a_copy_with_its_columns_shuffled(sim_spec: DatasetSpec, real_train: pd.DataFrame):
    """Shuffling each column apart keeps every marginal and breaks every relation: only pair trends fall."""
    judge = QualityJudge.locate(mode=True, script=JUDGE)
    assert judge is not None
    rng = np.random.default_rng(0)
    shuffled = real_train.apply(lambda col: col.iloc[rng.permutation(len(col))].reset_index(drop=True))
    copy = judge.score(real_train, real_train.copy(), spec=sim_spec)
    broken = judge.score(real_train, shuffled, spec=sim_spec)
    for scores in (copy, broken):
        assert all(v is not None and 0.0 <= v <= 1.0 for v in scores.values()), scores
    assert copy == {"quality": 1.0, "column_shapes": 1.0, "column_pair_trends": 1.0}
    assert broken["column_shapes"] == pytest.approx(1.0)
    assert broken["column_pair_trends"] < copy["column_pair_trends"] - 0.1  # type: ignore[operator]
    assert broken["quality"] < copy["quality"]


@needs_peers_env
def test_fidelity_gives_the_model_keys_and_the_test_split_reference(
    sim_spec: DatasetSpec, real_train: pd.DataFrame, real_test: pd.DataFrame, synthetic: pd.DataFrame
):
    judge = QualityJudge.locate(mode="auto", script=JUDGE)
    assert judge is not None
    out = judge.fidelity(real_train, synthetic, test=real_test, spec=sim_spec, rows=400, seed=1)
    assert set(out) == {"sdmetrics_quality", "sdmetrics_column_shapes", "sdmetrics_pair_trends", "reference"}
    assert set(out["reference"]) == {"sdmetrics_quality"}
    # a fresh sample of the population scores like the real test split, both high
    assert 0.8 < out["sdmetrics_quality"] <= 1.0 and 0.8 < out["reference"]["sdmetrics_quality"] <= 1.0
    assert abs(out["sdmetrics_quality"] - out["reference"]["sdmetrics_quality"]) < 0.05
