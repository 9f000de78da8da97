"""Peer synthesizers (SDV, smartnoise-synth) fitted on the same split, in their own environment.

The peers' libraries pin versions that clash with ours (smartnoise-synth needs
``opacus==0.14`` and ``pandas<3``), so they live in a separate virtual environment,
``.venv-peers`` (``peers/requirements.txt``). This module is the pipeline's side:

1. turn the prepared training split into the table a peer fits, using **only the spec**:
   SDV peers get the modelled columns as plain floats, strings and dates; the
   marginal-based DP peers (AIM, MST) get every column as integer codes of a public
   grid (spec categories, and the same spec-bounded bins as our ``marginals`` floor),
   with the domain sizes written in the job file. smartnoise's own data-driven
   preprocessor is never used, so no privacy is spent outside the reported ε;
2. run ``peers/run_peer.py`` with the peers' Python on that table (a subprocess; files in
   a temporary folder);
3. check what comes back (columns, row count, codes inside the domain), decode it into the
   spec's form and write the same files our ``sample`` stage writes, so ``evaluate`` reads
   a peer like any of our models.

DP peers spend ``train_dp_tabular.epsilon`` and ``delta``: the same (ε, δ) as our models,
whose totals also include the sampling stage's small class-histogram ε.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field

from traumasynth.encoding import EncodedTable, TableEncoder
from traumasynth.errors import DataError, ParamsError, TrainingError
from traumasynth.io import write_json_atomic, write_parquet_atomic
from traumasynth.models.marginals import Grid, MarginalsConfig, numeric_grids
from traumasynth.params import FrozenParams
from traumasynth.prepare import read_split
from traumasynth.sampling import synthetic_columns, with_ids
from traumasynth.schema import empty_frame, validate
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)

PeerName = Literal["gaussian_copula", "ctgan", "tvae", "aim", "mst"]


@dataclass(frozen=True)
class PeerInfo:
    """What the pipeline needs to know of a peer.

    Attributes:
        library: ``sdv`` (no DP) or ``smartnoise`` (DP, marginal-based, on a discrete table).
        dp: whether the peer is differentially private (its ε is ``train_dp_tabular.epsilon``).
        description: one line for the report.
    """

    library: Literal["sdv", "smartnoise"]
    dp: bool
    description: str


PEERS: dict[str, PeerInfo] = {
    "gaussian_copula": PeerInfo("sdv", False, "SDV GaussianCopulaSynthesizer (no DP)"),
    "ctgan": PeerInfo("sdv", False, "SDV CTGANSynthesizer (no DP)"),
    "tvae": PeerInfo("sdv", False, "SDV TVAESynthesizer (no DP)"),
    "aim": PeerInfo("smartnoise", True, "smartnoise-synth AIM (DP, adaptive marginals)"),
    "mst": PeerInfo("smartnoise", True, "smartnoise-synth MST (DP, maximum spanning tree of 2-way marginals)"),
}

#: Keys of the worker's result JSON that the pipeline reads.
RESULT_KEYS: tuple[str, ...] = ("train_seconds", "sample_seconds", "epsilon", "delta", "library_version")


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


# -- the table a peer fits ----------------------------------------------------------------
@dataclass(frozen=True)
class DiscreteLayout:
    """The public grid of a discrete peer table: one integer column per encoder slot.

    A numeric slot of a nullable column has one extra code (its last, ``grid.size``) for
    "missing", standing in for the encoder's ``<column>.__missing__`` indicator.

    Attributes:
        columns: column names of the peer table (numeric slots, categorical features, target).
        sizes: domain size of each column (codes are ``0..size-1``).
    """

    encoder: TableEncoder
    grids: tuple[Grid, ...]
    num_missing: tuple[int, ...]  # for each numeric slot, its indicator's categorical slot or -1
    cat_slots: tuple[int, ...]  # categorical slots that are real columns (not missing indicators)
    columns: tuple[str, ...]
    sizes: tuple[int, ...]

    @classmethod
    def from_spec(cls, spec: DatasetSpec, *, params: BaselinesParams) -> DiscreteLayout:
        """The layout given by the spec's categories and bounds alone (no data is read)."""
        encoder = TableEncoder(spec)
        grids = tuple(
            numeric_grids(spec, encoder.num_names, MarginalsConfig(n_bins=params.n_bins, max_points=params.max_points))
        )
        num_missing = tuple(encoder.num_missing_slot)
        indicators = {i for i in num_missing if i >= 0}
        cat_slots = tuple(j for j in range(encoder.n_cat) if j not in indicators)
        columns = (
            *encoder.num_names,
            *(encoder.cat_names[j] for j in cat_slots),
            spec.target.name,
        )
        sizes = (
            *(g.size + int(m >= 0) for g, m in zip(grids, num_missing, strict=True)),
            *(encoder.cat_sizes[j] for j in cat_slots),
            encoder.n_classes,
        )
        return cls(encoder, grids, num_missing, cat_slots, columns, sizes)

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        """Integer codes of ``df`` (a frame in the spec's form) on this grid.

        Raises:
            SchemaError: the frame breaks the spec (see ``TableEncoder.encode``).
        """
        enc = self.encoder.encode(df)
        out: dict[str, np.ndarray] = {}
        for j, (grid, ind) in enumerate(zip(self.grids, self.num_missing, strict=True)):
            codes = grid.index(enc.x_num[:, j])
            if ind >= 0:
                codes = np.where(enc.x_cat[:, ind] == 1, grid.size, codes)
            out[self.encoder.num_names[j]] = codes
        for j in self.cat_slots:
            out[self.encoder.cat_names[j]] = enc.x_cat[:, j]
        out[self.encoder.spec.target.name] = enc.y
        return pd.DataFrame({c: out[c].astype(np.int64) for c in self.columns})

    def check_codes(self, codes: pd.DataFrame, *, what: str) -> None:
        """Raise one DataError listing every column that is missing or holds codes outside its domain."""
        problems = []
        for name, size in zip(self.columns, self.sizes, strict=True):
            if name not in codes.columns:
                problems.append(f"column '{name}' is missing")
                continue
            values = pd.to_numeric(codes[name], errors="coerce")
            bad = values.isna() | (values < 0) | (values >= size) | (values != np.floor(values))
            if bad.any():
                problems.append(f"column '{name}' has {int(bad.sum())} code(s) outside 0..{size - 1}")
        if problems:
            raise DataError(
                f"The {what} does not fit the public grid:\n  - "
                + "\n  - ".join(problems)
                + "\nCheck that .venv-peers has the versions of peers/requirements.txt, then rerun the stage."
            )

    def decode(self, codes: pd.DataFrame, *, seed: int) -> pd.DataFrame:
        """Rows in the spec's form from integer codes (a value uniform within its bin, as the floor does)."""
        self.check_codes(codes, what="peer output")
        n = len(codes)
        generator = torch.Generator().manual_seed(seed)
        x_num = np.zeros((n, self.encoder.n_num), dtype=np.float32)
        x_cat = np.zeros((n, self.encoder.n_cat), dtype=np.int64)
        for j, (grid, ind) in enumerate(zip(self.grids, self.num_missing, strict=True)):
            cells = codes[self.encoder.num_names[j]].to_numpy(dtype=np.int64)
            missing = cells == grid.size
            values = grid.value(torch.from_numpy(np.minimum(cells, grid.size - 1)), generator=generator).numpy()
            x_num[:, j] = np.where(missing, 0.0, values)
            if ind >= 0:
                x_cat[:, ind] = np.maximum(x_cat[:, ind], missing.astype(np.int64))
        for j in self.cat_slots:
            x_cat[:, j] = codes[self.encoder.cat_names[j]].to_numpy(dtype=np.int64)
        y = codes[self.encoder.spec.target.name].to_numpy(dtype=np.int64)
        return self.encoder.decode(EncodedTable(x_num=x_num, x_cat=x_cat, y=y), seed=seed)


def to_sdv_frame(df: pd.DataFrame, *, spec: DatasetSpec) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The modelled columns as plain dtypes SDV reads (floats with NaN, strings, dates), and their types."""
    out: dict[str, pd.Series] = {}
    columns: list[dict[str, Any]] = []
    for col in spec.modelled_columns:
        series = df[col.name]
        if col.kind == "categorical":
            out[col.name] = series.astype(object).where(series.notna(), None)
            columns.append({"name": col.name, "type": "categorical"})
        elif col.kind == "datetime":
            out[col.name] = pd.to_datetime(series).astype("datetime64[ns]")
            columns.append({"name": col.name, "type": "datetime"})
        else:
            out[col.name] = pd.to_numeric(series).astype("float64")
            columns.append({"name": col.name, "type": "numerical", "integer": col.kind == "integer"})
    return pd.DataFrame(out), columns


def from_sdv_frame(df: pd.DataFrame, *, spec: DatasetSpec) -> pd.DataFrame:
    """Rows in the spec's form from an SDV sample: numbers clipped to the spec bounds, integers rounded.

    Raises:
        DataError: a modelled column is missing.
        SchemaError: values break the spec (an unknown category, a forbidden null), all listed at once.
    """
    missing = [c.name for c in spec.modelled_columns if c.name not in df.columns]
    if missing:
        raise DataError(f"The peer output lacks column(s) {', '.join(missing)}. Rerun the baselines stage.")
    out: dict[str, pd.Series] = {}
    for col in spec.modelled_columns:
        series = df[col.name].reset_index(drop=True)
        if col.kind == "categorical":
            out[col.name] = series.astype(object).where(series.notna(), None).astype("str")
        elif col.kind == "datetime":
            low, high = col.date_bounds
            stamps = pd.to_datetime(series, errors="coerce")
            out[col.name] = stamps.clip(pd.Timestamp(low), pd.Timestamp(high)).astype("datetime64[ns]")
        else:
            lo, hi = col.numeric_bounds
            values = pd.to_numeric(series, errors="coerce").astype("float64").clip(lo, hi)
            out[col.name] = values.round().astype("Int64") if col.kind == "integer" else values
    frame = pd.DataFrame(out)
    return validate(frame, spec, columns=list(frame.columns), what="peer synthetic table")


# -- running the worker -------------------------------------------------------------------
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


def peer_info(peer: str) -> PeerInfo:
    """The peer registered as ``peer``; raises ParamsError listing the valid names."""
    if peer not in PEERS:
        raise ParamsError(f"Unknown peer '{peer}'. Valid peers: {', '.join(sorted(PEERS))}. Fix baselines.peers.")
    return PEERS[peer]


#: Environment variable naming the peers' Python (overrides the search for ``.venv-peers``).
PEERS_PYTHON_ENV = "TRAUMASYNTH_PEERS_PYTHON"


def find_peers_python(start: Path) -> Path:
    """The peers' Python: ``$TRAUMASYNTH_PEERS_PYTHON``, else ``.venv-peers/bin/python`` in ``start`` or a parent.

    Searching the parents lets a queued experiment, which DVC runs in a copy of the project
    under ``.dvc/tmp/exps/``, use the project's ``.venv-peers`` (a virtual environment cannot be
    copied). When none is found, the path in ``start`` is returned and ``run_worker`` explains
    how to create it.
    """
    if named := os.environ.get(PEERS_PYTHON_ENV):
        return Path(named)
    start = start.resolve()
    for folder in (start, *start.parents):
        if (candidate := folder / ".venv-peers" / "bin" / "python").is_file():
            return candidate
    return start / ".venv-peers" / "bin" / "python"


def worker_env() -> dict[str, str]:
    """The worker's environment: ours, plus a persistent JAX compilation cache unless one is set.

    AIM and MST (private-pgm on JAX) spend most of a fit compiling small XLA programs, one per
    array shape; the shapes repeat from one fit to the next on the same dataset, so a disk cache
    (``$XDG_CACHE_HOME/traumasynth/jax``, default ``~/.cache/traumasynth/jax``) halves the fit time
    of later runs (MST on ed_trauma_sim: 101 s -> 52 s). It changes no result.
    """
    env = dict(os.environ)
    if "JAX_COMPILATION_CACHE_DIR" not in env:
        cache_home = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache_home / "traumasynth" / "jax")
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    return env


def run_worker(
    *, job: dict[str, Any], data: pd.DataFrame, python: Path, script: Path, workdir: Path
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run ``script`` with the peers' ``python`` on ``data`` and return its rows and result JSON.

    Raises:
        DataError: the peers' Python or the script is missing, or the output is not what was asked.
        TrainingError: the worker failed (its last lines of stderr are in the message).
    """
    if not python.is_file():
        raise DataError(
            f"The peers' Python {python} was not found. Create the peers environment once: "
            "`python3.11 -m venv .venv-peers && .venv-peers/bin/pip install -r peers/requirements.txt`, "
            f"or point {PEERS_PYTHON_ENV} (or --peers-python) at its Python."
        )
    if not script.is_file():
        raise DataError(f"The peer worker {script} was not found. Run from the project root or pass --worker.")
    paths = {name: workdir / name for name in ("input.parquet", "job.json", "output.parquet", "result.json")}
    data.to_parquet(paths["input.parquet"], index=False)
    paths["job.json"].write_text(json.dumps(job, indent=2))
    cmd = [str(python), str(script), *(f"--{k.split('.')[0]}={v}" for k, v in paths.items())]
    logger.info("Fitting peer %s (%s) in %s", job["peer"], job["library"], python)
    # The worker's own log is relayed line by line (a fit takes minutes); its last lines explain a failure.
    tail: deque[str] = deque(maxlen=15)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=worker_env()) as proc:
        assert proc.stdout is not None  # guaranteed by stdout=PIPE
        for line in proc.stdout:
            tail.append(line.rstrip())
            logger.info("%s | %s", job["peer"], line.rstrip())
        returncode = proc.wait()
    if returncode != 0:
        raise TrainingError(
            f"Peer '{job['peer']}' failed in {python} (exit {returncode}):\n" + "\n".join(tail) + "\n"
            "Check that .venv-peers was built from peers/requirements.txt."
        )
    if not paths["output.parquet"].is_file() or not paths["result.json"].is_file():
        raise DataError(f"Peer '{job['peer']}' exited without writing its output. Rerun the stage with --verbose.")
    rows = pd.read_parquet(paths["output.parquet"])
    result = json.loads(paths["result.json"].read_text())
    absent = [k for k in RESULT_KEYS if k not in result]
    if absent:
        raise DataError(f"Peer '{job['peer']}' result lacks {', '.join(absent)}. Update peers/run_peer.py.")
    if len(rows) != job["n_rows"]:
        raise DataError(f"Peer '{job['peer']}' returned {len(rows)} rows instead of {job['n_rows']}.")
    return rows, result


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


def run_baseline_stage(
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
    run = fit_peer(
        peer=peer, train=train, spec=spec, params=params, epsilon=epsilon, delta=delta, seed=seed, python=python,
        script=script,
    )  # fmt: skip
    metrics = peer_metrics(peer=peer, run=run, params=params, spec=spec)
    write_parquet_atomic(run.table, out_path)
    write_parquet_atomic(empty_frame(spec, synthetic_columns(spec)), augment_out_path)
    write_json_atomic(metrics, train_metrics_path)
    write_json_atomic(sample_metrics(peer=peer, run=run, spec=spec), sample_metrics_path)
    return metrics
