"""An external judge: SDMetrics' ``QualityReport`` (SDV's own evaluation library), run in ``.venv-peers``.

The report scores **column shapes** (each column's marginal: KS complement for numbers and dates,
TV complement for categories) and **column pair trends** (each pair: correlation similarity for two
numbers, contingency similarity otherwise); ``quality`` is their mean. All three are 0..1, higher
is better (goal: maximise). sdmetrics needs ``pandas<3``, so it runs in the peers' environment
(``peers/quality_report.py`` with the peers' Python, found as ``traumasynth.peers.worker`` finds it)
on a seeded subsample of each table, with metadata written from the dataset spec, never detected
from the data.

``evaluate.sdmetrics`` chooses: ``auto`` runs the judge when the peers' Python is there and
otherwise leaves its keys out with one INFO line; ``true`` requires it; ``false`` never runs it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.peers.discretise import to_sdv_frame
from traumasynth.peers.worker import PEERS_PYTHON_ENV, find_peers_python, worker_env
from traumasynth.release import rounded_as_released
from traumasynth.spec import DatasetSpec

log = logging.getLogger(__name__)

#: ``evaluate.sdmetrics``: run the judge when the peers' Python is found, always, or never.
JudgeMode = Literal["auto"] | bool

#: Keys of the script's result JSON, and the ``fidelity`` keys they are written under.
RESULT_KEYS: dict[str, str] = {
    "quality": "sdmetrics_quality",
    "column_shapes": "sdmetrics_column_shapes",
    "column_pair_trends": "sdmetrics_pair_trends",
}

#: The judge's thread limits (a child process does not inherit ``threadpool_limits``).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: SDMetrics' sdtype of each column type ``to_sdv_frame`` gives.
_SDTYPES = {"categorical": "categorical", "datetime": "datetime", "numerical": "numerical"}


def sdmetrics_metadata(columns: list[dict[str, Any]]) -> dict[str, Any]:
    """SDMetrics' single-table metadata from the column types of ``to_sdv_frame`` (read from the spec).

    Returns:
        ``{"columns": {name: {"sdtype": "numerical" | "categorical" | "datetime"}}}``.
    """
    return {"columns": {c["name"]: {"sdtype": _SDTYPES[c["type"]]} for c in columns}}


def subsample(df: pd.DataFrame, *, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``df``, drawn without replacement with ``seed`` (all of them, in order, if fewer)."""
    if len(df) <= rows:
        return df.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(df), size=rows, replace=False))
    return df.iloc[keep].reset_index(drop=True)


@dataclass(frozen=True)
class QualityJudge:
    """``peers/quality_report.py`` and the peers' Python that runs it.

    Attributes:
        python: the peers' Python (``.venv-peers/bin/python``).
        script: the judge script.
        threads: BLAS/OpenMP threads of the judge (``evaluate.threads``).
    """

    python: Path
    script: Path
    threads: int = 1

    @classmethod
    def locate(
        cls, *, mode: JudgeMode, script: Path, python: Path | None = None, threads: int = 1
    ) -> QualityJudge | None:
        """The judge to run under ``evaluate.sdmetrics``, or None when it is off or (``auto``) unavailable.

        Args:
            mode: ``evaluate.sdmetrics``.
            script: ``peers/quality_report.py`` (the stage's ``--judge``).
            python: the peers' Python; default ``$TRAUMASYNTH_PEERS_PYTHON``, else the nearest
                ``.venv-peers`` above the script's folder.
            threads: BLAS/OpenMP threads of the judge (``evaluate.threads``).

        Raises:
            DataError: ``mode`` is true and the peers' Python is missing, or the script is missing.
        """
        if mode is False:
            return None
        python = python or find_peers_python(script.parent)
        if not python.is_file():
            if mode == "auto":
                log.info("SDMetrics quality left out: no peers' Python at %s (`make peers` builds .venv-peers; "
                         "evaluate.sdmetrics=false silences this)", python)  # fmt: skip
                return None
            raise DataError(
                f"evaluate.sdmetrics is true but the peers' Python {python} was not found. Run `make peers` "
                f"(or point {PEERS_PYTHON_ENV} at its Python), or set evaluate.sdmetrics to auto or false."
            )
        if not script.is_file():
            raise DataError(f"The SDMetrics judge {script} was not found. Run from the project root or pass --judge.")
        return cls(python=python, script=script, threads=threads)

    def score(self, real: pd.DataFrame, synthetic: pd.DataFrame, *, spec: DatasetSpec) -> dict[str, float | None]:
        """``quality``, ``column_shapes`` and ``column_pair_trends`` of ``synthetic`` against ``real``.

        Both tables are in the spec's form; every modelled column is scored. ``column_pair_trends``
        is None when no pair of ``real``'s columns is related enough for SDMetrics to score it.

        Raises:
            DataError: the judge failed (its last lines are in the message) or wrote no usable result.
        """
        real_frame, columns = to_sdv_frame(real, spec=spec)
        synthetic_frame, _ = to_sdv_frame(synthetic, spec=spec)
        with tempfile.TemporaryDirectory(prefix="sdmetrics-") as tmp:
            folder = Path(tmp)
            paths = {
                "real": folder / "real.parquet", "synthetic": folder / "synthetic.parquet",
                "metadata": folder / "metadata.json", "result": folder / "result.json",
            }  # fmt: skip
            real_frame.to_parquet(paths["real"], index=False)
            synthetic_frame.to_parquet(paths["synthetic"], index=False)
            paths["metadata"].write_text(json.dumps(sdmetrics_metadata(columns)))
            self._run(paths)
            result = json.loads(paths["result"].read_text()) if paths["result"].is_file() else {}
        absent = [k for k in RESULT_KEYS if k not in result]
        if absent or not all(isinstance(result[k], int | float) for k in ("quality", "column_shapes")):
            lacking = ", ".join(absent) or "a score"
            raise DataError(f"The SDMetrics judge's result lacks {lacking}. Update {self.script}.")
        log.debug("%s: pair trends on %s of %s pairs, %.1f s", result.get("library_version"),
                  result.get("pairs_scored"), result.get("pairs"), result.get("seconds", float("nan")))  # fmt: skip
        return {k: None if result[k] is None else float(result[k]) for k in RESULT_KEYS}

    def _run(self, paths: dict[str, Path]) -> None:
        """Run the script on the files ``paths`` names; its log goes to DEBUG, its last lines into a failure."""
        cmd = [str(self.python), str(self.script), *(f"--{name}={path}" for name, path in paths.items())]
        env = worker_env() | {name: str(self.threads) for name in _THREAD_VARIABLES}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        for line in (done.stdout + done.stderr).splitlines():
            log.debug("sdmetrics | %s", line)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise DataError(
                f"The SDMetrics judge failed in {self.python} (exit {done.returncode}):\n{tail}\n"
                "Rebuild .venv-peers from peers/requirements.txt (`make peers`), or set evaluate.sdmetrics=false."
            )

    def fidelity(
        self, train: pd.DataFrame, synthetic: pd.DataFrame, *, test: pd.DataFrame, spec: DatasetSpec, rows: int,
        seed: int,
    ) -> dict[str, Any]:  # fmt: skip
        """The ``fidelity`` keys of ``evaluate``: the model's three scores and the test split's quality.

        Args:
            train: the real train split (spec form), what every table is compared with.
            synthetic: the model's rows, judged as the release gives them: numbers at the spec's
                ``decimals`` (``traumasynth.release``). Real values sit on recording grids (temperature
                to 0.1 °C): unrounded, a model's temperature column scored a KS complement of 0.85,
                rounded 0.93.
            test: the real test split: its quality against ``train`` is the sampling-noise reference.
            rows: ``evaluate.sdmetrics_rows``: each table is cut to a seeded subsample of this many
                rows (the same train rows for the model and the reference).
            seed: ``base.seed``.

        Returns:
            ``{"sdmetrics_quality", "sdmetrics_column_shapes", "sdmetrics_pair_trends",
            "reference": {"sdmetrics_quality"}}``, rounded to 6 decimals.
        """
        real = subsample(train, rows=rows, seed=seed)
        model = self.score(real, as_released(subsample(synthetic, rows=rows, seed=seed + 1), spec=spec), spec=spec)
        reference = self.score(real, subsample(test, rows=rows, seed=seed + 2), spec=spec)
        return {
            **{key: _rounded(model[name]) for name, key in RESULT_KEYS.items()},
            "reference": {"sdmetrics_quality": _rounded(reference["quality"])},
        }


def as_released(frame: pd.DataFrame, *, spec: DatasetSpec) -> pd.DataFrame:
    """``frame`` with every numeric column of the spec at the decimals ``release/`` gives it."""
    out = frame.copy()
    for col in spec.modelled_columns:
        if col.name in out.columns:
            out[col.name] = rounded_as_released(out[col.name], col)
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
