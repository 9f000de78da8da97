"""Fixtures of the evaluate tests: small simulated real splits and synthetic tables."""

from __future__ import annotations

import pandas as pd
import pytest

from traumasynth.datasets.ed_trauma_sim import simulate
from traumasynth.encoding.table import TableEncoder
from traumasynth.spec import DatasetSpec


def modelled(df: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The modelled columns of ``df`` (what a synthesizer emits)."""
    return df[[c.name for c in spec.modelled_columns]].reset_index(drop=True)


@pytest.fixture(scope="session")
def real_train(sim_spec: DatasetSpec) -> pd.DataFrame:
    """500 simulated rows standing for the real train split (modelled columns)."""
    return modelled(simulate(n_rows=500, seed=11, spec=sim_spec), sim_spec)


@pytest.fixture(scope="session")
def real_test(sim_spec: DatasetSpec) -> pd.DataFrame:
    """300 simulated rows standing for the real test split (same population, other rows)."""
    return modelled(simulate(n_rows=300, seed=12, spec=sim_spec), sim_spec)


@pytest.fixture(scope="session")
def synthetic(sim_spec: DatasetSpec) -> pd.DataFrame:
    """500 rows of the same population, standing for a good synthetic table."""
    return modelled(simulate(n_rows=500, seed=13, spec=sim_spec), sim_spec)


@pytest.fixture(scope="session")
def encoder(sim_spec: DatasetSpec) -> TableEncoder:
    return TableEncoder(sim_spec)
