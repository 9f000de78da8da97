"""The ``baselines`` stage: fit one peer on the prepared split and write what ``sample`` writes for a model.

DP peers spend ``train_dp_tabular.epsilon`` and ``delta``: the same (ε, δ) as our models,
whose totals also include the sampling stage's small class-histogram ε.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from traumasynth.core.errors import DataError, ParamsError
from traumasynth.core.io import write_json_atomic, write_parquet_atomic
from traumasynth.core.params import FrozenParams
from traumasynth.encoding.discrete import DiscreteLayout
from traumasynth.peers.discretise import from_sdv_frame, to_sdv_frame
from traumasynth.peers.registry import PEERS, PeerName, peer_info
from traumasynth.peers.worker import run_worker
from traumasynth.prepare import read_split
from traumasynth.sampling.draw import synthetic_columns, with_ids
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import empty_frame


class BaselinesParams(FrozenParams):
    """Section ``baselines`` of ``params.yaml``.

    Attributes:
        peers: peers fitted by the ``baselines`` stage (empty: the stage does nothing, and a
            fresh clone's ``dvc repro`` never needs ``.venv-peers``).
        n_bins: equal-width bins (on the spec bounds) of a continuous or wide integer column
            for AIM/MST, as in ``train_dp_tabular.marginals``.
        max_points: an integer column with at most this many values keeps one code per value.
        epochs: training epochs of CTGAN and TVAE (SDV's default is 300).
        n_rows: synthetic rows drawn; ``None`` = the training split's size (published in
            ``metrics/prepare.json``).
        aim_max_model_size: AIM's cap on its graphical model, in MB (smartnoise's default is 80);
            smaller is faster on a small machine.
        aim_rounds: AIM's planned rounds (each refits its model); ``None`` = smartnoise's default
            of 16 x columns (400 for ``ed_trauma_sim``: hours on two CPU cores). Fewer rounds
            spend more of ε per measured marginal; the guarantee is the same.
    """

    peers: tuple[PeerName, ...] = ()
    n_bins: int = Field(default=16, ge=2, le=256)
    max_points: int = Field(default=24, ge=2, le=256)
    epochs: int = Field(default=100, ge=1)
    n_rows: int | None = Field(default=None, ge=1)
    aim_max_model_size: float = Field(default=20.0, gt=0)
    aim_rounds: int | None = Field(default=50, ge=1)


@dataclass(frozen=True)
class PeerRun:
    """A peer's synthetic rows (spec form, with ids) and what its worker reported."""

    table: pd.DataFrame
    result: dict[str, Any]
    wall_seconds: float


def build_job(
    *,
    peer: str,
    columns: list[dict[str, Any]],
    epsilon: float | None,
    delta: float,
    seed: int,
    n_rows: int,
    params: BaselinesParams,
) -> dict[str, Any]:
    """The job file of ``peers/run_peer.py``: which peer, its budget, and the public column layout.

    Raises:
        ParamsError: unknown peer, or a DP peer without ε.
    """
    info = peer_info(peer)
    if info.dp and epsilon is None:
        raise ParamsError(
            f"Peer '{peer}' is differentially private and needs train_dp_tabular.epsilon, which is null. "
            f"Set an ε, or leave '{peer}' out of baselines.peers in non-private (ε = none) experiments."
        )
    if peer == "aim" and params.aim_rounds is not None and params.aim_rounds <= len(columns):
        # AIM first measures every one-way marginal at 0.9 / rounds of its budget each: with
        # rounds <= columns nothing is left for the rounds themselves (smartnoise then fails with NaNs).
        raise ParamsError(
            f"baselines.aim_rounds = {params.aim_rounds} leaves AIM no budget: its one-way marginals alone take "
            f"0.9 x {len(columns)} columns / rounds of it. Set aim_rounds to at least {2 * len(columns)} "
            "(2 x columns), or null for smartnoise's default (16 x columns)."
        )
    return {
        "peer": peer,
        "library": info.library,
        "epsilon": epsilon if info.dp else None,
        "delta": delta if info.dp else None,
        "seed": seed,
        "n_rows": n_rows,
        "epochs": params.epochs,
        "aim_max_model_size": params.aim_max_model_size,
        "aim_rounds": params.aim_rounds,
        "columns": columns,
    }


def fit_peer(
    *,
    peer: str,
    train: pd.DataFrame,
    spec: DatasetSpec,
    params: BaselinesParams,
    epsilon: float | None,
    delta: float,
    seed: int,
    python: Path,
    script: Path,
) -> PeerRun:
    """Fit ``peer`` on ``train`` in the peers' environment and return its rows in the spec's form.

    Raises:
        ParamsError, DataError, TrainingError, SchemaError: see the helpers.
    """
    info = peer_info(peer)
    n_rows = params.n_rows or len(train)
    layout = DiscreteLayout.from_spec(spec, params=params) if info.library == "smartnoise" else None
    if layout is not None:
        data = layout.encode(train)
        columns = [
            {"name": n, "type": "discrete", "size": s} for n, s in zip(layout.columns, layout.sizes, strict=True)
        ]
    else:
        data, columns = to_sdv_frame(train, spec=spec)
    job = build_job(peer=peer, columns=columns, epsilon=epsilon, delta=delta, seed=seed, n_rows=n_rows, params=params)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"traumasynth-{peer}-") as tmp:
        rows, result = run_worker(job=job, data=data, python=python, script=script, workdir=Path(tmp))
    wall = time.perf_counter() - start
    if info.dp and (result.get("epsilon") != epsilon or result.get("delta") != delta):
        raise DataError(
            f"Peer '{peer}' reports (ε={result.get('epsilon')}, δ={result.get('delta')}) instead of the "
            f"(ε={epsilon}, δ={delta}) it was given. Check peers/run_peer.py."
        )
    frame = layout.decode(rows, seed=seed) if layout is not None else from_sdv_frame(rows, spec=spec)
    return PeerRun(table=with_ids(frame, spec=spec, model=peer), result=result, wall_seconds=wall)


def peer_metrics(*, peer: str, run: PeerRun, params: BaselinesParams, spec: DatasetSpec) -> dict[str, Any]:
    """``metrics/train_<peer>.json``: budget, times and speed (same keys as our models where they apply)."""
    info = PEERS[peer]
    r = run.result
    rows = len(run.table)
    return {
        "model": peer,
        "peer": True,
        "library": info.library,
        "library_version": r["library_version"],
        "description": info.description,
        "dp": info.dp,
        "epsilon": r["epsilon"],
        "delta": r["delta"],
        "preprocessing": (
            f"public grid from the spec: categories, {params.n_bins} bins on the spec bounds, "
            f"one code per value for integers with at most {params.max_points} values (no privacy spent)"
            if info.library == "smartnoise"
            else "none (SDV fits its own transformers on the data; not private)"
        ),
        "train_seconds": round(float(r["train_seconds"]), 3),
        "sample_seconds": round(float(r["sample_seconds"]), 3),
        "wall_seconds": round(run.wall_seconds, 3),
        "rows": rows,
        "rows_per_second": round(rows / r["sample_seconds"], 1) if r["sample_seconds"] > 0 else None,
        "dataset": spec.name,
    }


def sample_metrics(*, peer: str, run: PeerRun, spec: DatasetSpec) -> dict[str, Any]:
    """``metrics/sample_<peer>.json``: what ``evaluate`` reads of a sample stage (rows, total (ε, δ))."""
    info = PEERS[peer]
    counts = run.table[spec.target.name].value_counts()
    r = run.result
    return {
        "model": peer,
        "strategy": "unconditional",
        "rows": len(run.table),
        "rows_per_class": {c: int(counts.get(c, 0)) for c in spec.classes},
        "augment_rows": 0,
        "rows_per_second": round(len(run.table) / r["sample_seconds"], 1) if r["sample_seconds"] > 0 else None,
        "epsilon_total": r["epsilon"] if info.dp else None,
        "delta_total": r["delta"] if info.dp else None,
        "composition": (
            f"{peer}: the whole (ε, δ) is spent by the peer; preprocessing uses only the spec"
            if info.dp
            else "none: this peer is not differentially private"
        ),
    }


def run(
    *,
    peer: str,
    spec: DatasetSpec,
    params: BaselinesParams,
    epsilon: float | None,
    delta: float,
    seed: int,
    train_path: Path,
    python: Path,
    script: Path,
    out_path: Path,
    augment_out_path: Path,
    train_metrics_path: Path,
    sample_metrics_path: Path,
) -> dict[str, Any]:
    """Fit one peer on the prepared split and write what our ``sample`` stage writes for a model.

    The augment file is written empty: peers have no class-conditional top-up.
    Nothing is written unless the whole run succeeds.

    Returns:
        The metrics written to ``train_metrics_path``.

    Raises:
        TraumaSynthError: see :func:`fit_peer`.
    """
    peer_info(peer)
    train = read_split(train_path, spec=spec)
    peer_run = fit_peer(
        peer=peer, train=train, spec=spec, params=params, epsilon=epsilon, delta=delta, seed=seed, python=python,
        script=script,
    )  # fmt: skip
    metrics = peer_metrics(peer=peer, run=peer_run, params=params, spec=spec)
    write_parquet_atomic(peer_run.table, out_path)
    write_parquet_atomic(empty_frame(spec, synthetic_columns(spec)), augment_out_path)
    write_json_atomic(metrics, train_metrics_path)
    write_json_atomic(sample_metrics(peer=peer, run=peer_run, spec=spec), sample_metrics_path)
    return metrics
