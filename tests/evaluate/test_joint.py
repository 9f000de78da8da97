"""The joint fidelity metrics: 2-way and 3-way TVD on the peers' public grid, on cases with a known answer."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from traumasynth.core.errors import DataError
from traumasynth.evaluate import fidelity, joint
from traumasynth.evaluate.joint import JointWorkload, joint_fidelity, marginal_subsets, marginal_tvds
from traumasynth.peers.stage import BaselinesParams
from traumasynth.spec import DatasetSpec


@pytest.fixture(scope="module")
def workload(sim_spec: DatasetSpec) -> JointWorkload:
    return JointWorkload.from_spec(sim_spec, grid=BaselinesParams(), max_triples=5000, seed=0)


def _shuffled_columns(df: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """Every column permuted on its own: the same 1-way marginals, the joint broken."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns}).astype(df.dtypes)


def test_identical_tables_are_at_zero(workload: JointWorkload, real_train: pd.DataFrame):
    codes = workload.codes(real_train)
    assert len(workload.pairs) == 300 and len(workload.triples) == 2300  # 25 grid columns, all of them
    assert workload.tvd(codes, codes.copy()) == {"tvd_2way": 0.0, "tvd_3way": 0.0}
    assert workload.tvd(codes, codes[::-1]) == {"tvd_2way": 0.0, "tvd_3way": 0.0}  # row order does not count


def test_hand_made_codes_give_the_known_distance():
    real = np.array([[0, 0, 0], [1, 1, 1]])  # the columns always agree
    swapped = np.array([[0, 1, 0], [1, 0, 1]])  # the same 1-way shares, column 1 now disagrees
    sizes = (2, 2, 2)
    pairs = marginal_subsets(3, k=2)
    assert marginal_tvds(real, swapped, sizes=sizes, subsets=pairs).tolist() == [1.0, 0.0, 1.0]  # (0,1) (0,2) (1,2)
    assert marginal_tvds(real, swapped, sizes=sizes, subsets=marginal_subsets(3, k=1)).tolist() == [0.0, 0.0, 0.0]
    assert marginal_tvds(real, swapped, sizes=sizes, subsets=marginal_subsets(3, k=3)).tolist() == [1.0]
    # 3 rows vs 1: shares (2/3, 1/3) against (0, 1) in cells (0,0) and (1,1)
    assert marginal_tvds(real[[0, 0, 1]], real[[1]], sizes=sizes, subsets=pairs[:1])[0] == pytest.approx(2 / 3)


def test_one_column_moved_gives_the_known_means(
    sim_spec: DatasetSpec, workload: JointWorkload, real_train: pd.DataFrame
):
    """'sex' all female vs half male: every marginal with 'sex' is at 0.5, every other at 0."""
    a, b = real_train.copy(), real_train.copy()
    a["sex"] = "female"
    b["sex"] = ["female", "male"] * (len(b) // 2)
    n = len(workload.layout.columns)
    out = workload.tvd(workload.codes(a), workload.codes(b))
    assert out["tvd_2way"] == pytest.approx(0.5 * (n - 1) / (n * (n - 1) / 2))  # n - 1 of C(n, 2) pairs
    assert out["tvd_3way"] == pytest.approx(0.5 * 3 / n)  # C(n-1, 2) of C(n, 3) triples


def test_missing_is_its_own_cell(workload: JointWorkload, real_train: pd.DataFrame):
    gone = real_train.copy()
    gone["gcs"] = pd.array([pd.NA] * len(gone), dtype="Int64")  # nullable in the spec
    out = workload.tvd(workload.codes(real_train), workload.codes(gone))
    assert out["tvd_2way"] > 0 and out["tvd_3way"] > 0


def test_independent_columns_lose_the_joint_but_not_the_marginals(
    sim_spec: DatasetSpec, workload: JointWorkload, real_train: pd.DataFrame, synthetic: pd.DataFrame
):
    independent = _shuffled_columns(synthetic, seed=1)
    # 1-way: the same (per-column TVD, and on the grid)
    assert np.allclose(
        fidelity.tvd_table(real_train, synthetic, spec=sim_spec)["tvd"],
        fidelity.tvd_table(real_train, independent, spec=sim_spec)["tvd"],
    )
    train_codes = workload.codes(real_train)
    singles = marginal_subsets(len(workload.layout.columns), k=1)
    one_way = [marginal_tvds(train_codes, workload.codes(t), sizes=workload.layout.sizes, subsets=singles)
               for t in (synthetic, independent)]  # fmt: skip
    assert np.allclose(one_way[0], one_way[1])
    kept = workload.tvd(train_codes, workload.codes(synthetic))
    broken = workload.tvd(train_codes, workload.codes(independent))
    assert broken["tvd_2way"] > kept["tvd_2way"] + 0.01
    assert broken["tvd_3way"] > kept["tvd_3way"] + 0.01


def test_sampled_triples_are_capped_and_fixed_by_the_seed(sim_spec: DatasetSpec):
    full = np.array(list(itertools.combinations(range(25), 3)))
    first = marginal_subsets(25, k=3, max_subsets=100, seed=5)
    assert first.shape == (100, 3)
    assert np.array_equal(first, marginal_subsets(25, k=3, max_subsets=100, seed=5))
    assert not np.array_equal(first, marginal_subsets(25, k=3, max_subsets=100, seed=6))
    assert len({tuple(t) for t in first}) == 100 and {tuple(t) for t in first} <= {tuple(t) for t in full}
    assert [tuple(t) for t in first] == sorted(tuple(t) for t in first)  # in combinations order
    assert np.array_equal(marginal_subsets(25, k=3, max_subsets=2300, seed=5), full)  # at the cap: all of them
    capped = JointWorkload.from_spec(sim_spec, grid=BaselinesParams(), max_triples=50, seed=5)
    assert capped.triples.shape == (50, 3) and len(capped.pairs) == 300
    assert np.array_equal(capped.triples, JointWorkload.from_spec(
        sim_spec, grid=BaselinesParams(), max_triples=50, seed=5).triples)  # fmt: skip


def test_the_grid_follows_the_baselines_settings(sim_spec: DatasetSpec, real_train: pd.DataFrame):
    coarse = JointWorkload.from_spec(sim_spec, grid=BaselinesParams(n_bins=4, max_points=4), max_triples=10, seed=0)
    fine = JointWorkload.from_spec(sim_spec, grid=BaselinesParams(), max_triples=10, seed=0)
    age = fine.layout.columns.index("age")
    assert coarse.layout.sizes[age] == 4 < fine.layout.sizes[age] == 16


def test_chunks_and_the_wide_marginal_path_agree(
    workload: JointWorkload, real_train: pd.DataFrame, synthetic: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
):
    a, b = workload.codes(real_train), workload.codes(synthetic)
    sizes, triples = workload.layout.sizes, workload.triples[:200]
    expected = marginal_tvds(a, b, sizes=sizes, subsets=triples)
    monkeypatch.setattr(joint, "_CELLS_PER_CHUNK", 7 * len(a))  # 7 marginals a chunk
    assert np.allclose(marginal_tvds(a, b, sizes=sizes, subsets=triples), expected)
    monkeypatch.setattr(joint, "_BINS_PER_CHUNK", 10)  # every marginal too wide: only the cells seen are counted
    assert np.allclose(marginal_tvds(a, b, sizes=sizes, subsets=triples), expected)


def test_joint_fidelity_reports_the_test_split_as_reference(
    workload: JointWorkload, real_train: pd.DataFrame, real_test: pd.DataFrame, synthetic: pd.DataFrame
):
    out = joint_fidelity(real_train, synthetic, test=real_test, workload=workload)
    assert set(out) == {"tvd_2way", "tvd_3way", "reference"}
    assert out["reference"]["rows"] == len(real_test)
    assert 0 < out["reference"]["tvd_2way"] < out["reference"]["tvd_3way"] < 1  # finer marginals, more noise
    assert 0 < out["tvd_2way"] < out["tvd_3way"] < 1


def test_bad_input_raises_a_data_error(workload: JointWorkload, real_train: pd.DataFrame):
    codes = workload.codes(real_train)
    with pytest.raises(DataError, match="no rows"):
        workload.tvd(codes, codes[:0])
    with pytest.raises(DataError, match="same DiscreteLayout"):
        workload.tvd(codes, codes[:, :5])
