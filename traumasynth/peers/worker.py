"""Running ``peers/run_peer.py`` with the peers' Python, in their own virtual environment.

The job, the input table and the worker's output travel as files in a temporary folder; the
worker's log is relayed line by line and what comes back is checked before it is used.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections import deque
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core.errors import DataError, TrainingError

logger = logging.getLogger(__name__)

#: Keys of the worker's result JSON that the pipeline reads.
RESULT_KEYS: tuple[str, ...] = ("train_seconds", "sample_seconds", "epsilon", "delta", "library_version")

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
