"""Fit one peer synthesizer (SDV or smartnoise-synth) and sample from it: the worker of the ``baselines`` stage.

Run with the peers' environment (``.venv-peers/bin/python``), never with the project's:
smartnoise-synth pins ``opacus==0.14`` and ``pandas<3``, which clash with ours. The
pipeline side (``traumasynth/peers/``) prepares everything from the dataset spec and
calls this script with four files:

    .venv-peers/bin/python peers/run_peer.py --input=in.parquet --job=job.json \
        --output=out.parquet --result=result.json

``job.json`` names the peer, its (ε, δ), the seed, the rows to draw and the public column
layout. For ``aim``/``mst`` every column is an integer code with a known domain size; the
smartnoise table transformer is fitted on an enumeration of that public domain, never on the
private rows, so smartnoise's data-driven preprocessor spends no budget (and none is
subtracted from ε). AIM's and MST's rows are drawn from their fitted Private-PGM model by
``pgm_sampling.py`` (beside this file) rather than by ``synth.sample``, whose sampler makes
columns drawn from the same parents comonotone (see that module). ``result.json`` reports the
(ε, δ) actually given to the peer, its fit and sample seconds and the library version.

This file and ``pgm_sampling.py`` import only what ``peers/requirements.txt`` installs (no
traumasynth), and use ``argparse`` rather than Typer for that reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger("peers.run_peer")

SDV_CLASSES = {
    "gaussian_copula": "GaussianCopulaSynthesizer",
    "ctgan": "CTGANSynthesizer",
    "tvae": "TVAESynthesizer",
}
SMARTNOISE_PEERS = ("aim", "mst")
TABLE_NAME = "train"


def seed_all(seed: int) -> None:
    """Seed every generator the peers draw from (Python, NumPy, torch)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # the SDV copula does not need torch
        return
    torch.manual_seed(seed)


def sdv_metadata(columns: list[dict[str, Any]]) -> Any:
    """SDV metadata written from the job's column types (from the spec), not detected from the data."""
    from sdv.metadata import Metadata

    spec: dict[str, dict[str, str]] = {}
    for col in columns:
        if col["type"] == "categorical":
            spec[col["name"]] = {"sdtype": "categorical"}
        elif col["type"] == "datetime":
            spec[col["name"]] = {"sdtype": "datetime"}
        else:
            spec[col["name"]] = {"sdtype": "numerical"}
    return Metadata.load_from_dict({"tables": {TABLE_NAME: {"columns": spec}}}, single_table_name=TABLE_NAME)


def fit_sdv(job: dict[str, Any], data: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    """Fit an SDV single-table synthesizer and draw ``n_rows`` rows. Returns (rows, fit s, sample s)."""
    import sdv.single_table as single_table

    cls = getattr(single_table, SDV_CLASSES[job["peer"]])
    kwargs: dict[str, Any] = {"enforce_min_max_values": True, "enforce_rounding": True}
    if job["peer"] in ("ctgan", "tvae"):
        kwargs["epochs"] = int(job["epochs"])
    synth = cls(sdv_metadata(job["columns"]), **kwargs)
    start = time.perf_counter()
    synth.fit({TABLE_NAME: data})  # SDV 2 takes and returns {table name: frame}, even for one table
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = synth.sample(num_rows=int(job["n_rows"]))
    rows = rows[TABLE_NAME] if isinstance(rows, dict) else rows
    return rows, fit_s, time.perf_counter() - start


def public_domain_frame(columns: list[dict[str, Any]]) -> pd.DataFrame:
    """Every code of every column at least once: the public domain the table transformer is fitted on."""
    longest = max(int(c["size"]) for c in columns)
    return pd.DataFrame({c["name"]: np.arange(longest) % int(c["size"]) for c in columns})


def fit_smartnoise(job: dict[str, Any], data: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    """Fit AIM or MST on the integer-coded table with a transformer of the public domain."""
    from snsynth import Synthesizer
    from snsynth.transform import LabelTransformer, TableTransformer

    columns = job["columns"]
    names = [c["name"] for c in columns]
    transformer = TableTransformer([LabelTransformer(nullable=False) for _ in columns])
    transformer.fit(public_domain_frame(columns)[names], epsilon=0.0)
    cards = transformer.cardinality
    expected = [int(c["size"]) for c in columns]
    if cards != expected:
        raise SystemExit(f"public transformer has cardinalities {cards}, expected {expected}")
    kwargs: dict[str, Any] = {"epsilon": float(job["epsilon"]), "delta": float(job["delta"])}
    if job["peer"] == "aim":
        kwargs["max_model_size"] = float(job["aim_max_model_size"])
        kwargs["rounds"] = job.get("aim_rounds")  # None: smartnoise's default, 16 x columns
    synth = Synthesizer.create(job["peer"], **kwargs)
    start = time.perf_counter()
    synth.fit(data[names], transformer=transformer, preprocessor_eps=0.0)
    fit_s = time.perf_counter() - start
    if abs(float(synth.epsilon) - float(job["epsilon"])) > 1e-12:
        raise SystemExit(f"smartnoise spent part of ε on preprocessing ({synth.epsilon} left of {job['epsilon']})")
    start = time.perf_counter()
    rows = sample_smartnoise(synth, transformer, n_rows=int(job["n_rows"]), seed=int(job["seed"]))
    rows.columns = names
    return rows.astype("int64"), fit_s, time.perf_counter() - start


def sample_smartnoise(synth: Any, transformer: Any, *, n_rows: int, seed: int) -> pd.DataFrame:
    """Rows from a fitted AIM or MST, as ``synth.sample`` gives them but with siblings drawn independently.

    ``synth.sample`` calls mbi's ``synthetic_data`` with its rounding, which makes two columns
    drawn from the same parents comonotone; ``pgm_sampling.synthetic_data`` is mbi 2.0.0's
    fix of it. The rest is smartnoise's own path: MST's ``undo_compress_fn`` (codes merged for
    having too little mass are spread back over the merged codes) and the table transformer.
    """
    from pgm_sampling import synthetic_data  # beside this script; needs mbi, so imported here

    rng = np.random.default_rng(seed)
    model_rows = synthetic_data(synth.synthesizer, rows=n_rows, rng=rng)
    if hasattr(synth, "undo_compress_fn"):  # MST only; it draws from NumPy's global generator
        np.random.seed(int(rng.integers(2**32)))
        model_rows = synth.undo_compress_fn(model_rows)
    colnames = [f"col{i}" for i in range(transformer.output_width)]  # smartnoise's names, in table order
    codes = model_rows.df[colnames]
    return pd.DataFrame(transformer.inverse_transform(list(codes.itertuples(index=False, name=None))))


def write_atomic(target: Path, write: Any) -> None:
    """Write through a temporary file beside ``target`` then rename, so no half file is ever read."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, required=True, help="training table (Parquet) prepared from the spec")
    parser.add_argument("--job", type=Path, required=True, help="job JSON written by traumasynth.peers")
    parser.add_argument("--output", type=Path, required=True, help="synthetic rows (Parquet) to write")
    parser.add_argument("--result", type=Path, required=True, help="result JSON to write (ε, δ, seconds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job = json.loads(args.job.read_text())
    data = pd.read_parquet(args.input)
    seed_all(int(job["seed"]))
    logger.info("Fitting %s on %d rows x %d columns", job["peer"], len(data), data.shape[1])
    if job["peer"] in SDV_CLASSES:
        rows, fit_s, sample_s = fit_sdv(job, data)
        library = "sdv"
    elif job["peer"] in SMARTNOISE_PEERS:
        rows, fit_s, sample_s = fit_smartnoise(job, data)
        library = "smartnoise-synth"
    else:
        logger.error("unknown peer %r (known: %s)", job["peer"], ", ".join([*SDV_CLASSES, *SMARTNOISE_PEERS]))
        return 2
    result = {
        "peer": job["peer"],
        "epsilon": job["epsilon"],
        "delta": job["delta"],
        "train_seconds": fit_s,
        "sample_seconds": sample_s,
        "rows": len(rows),
        "library_version": f"{library}=={version(library)}",
    }
    write_atomic(args.output, lambda p: rows.reset_index(drop=True).to_parquet(p, index=False))
    write_atomic(args.result, lambda p: p.write_text(json.dumps(result, indent=2)))
    logger.info("%s: fit %.1f s, sampled %d rows in %.1f s", job["peer"], fit_s, len(rows), sample_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
