"""The ``narrate`` stage's one entry point, ``run``: synthetic file in, narratives and metrics out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.core.io import write_json_atomic, write_parquet_atomic
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.narrate.fallback import FallbackNote
from traumasynth.narrate.generation.backend import NarratorBackend
from traumasynth.narrate.generation.in_process import LlamaCppBackend
from traumasynth.narrate.generation.modelfile import model_sha256, resolve_model_path
from traumasynth.narrate.generation.server import ServerBackend
from traumasynth.narrate.metrics import narration_metrics
from traumasynth.narrate.params import NarrateParams
from traumasynth.narrate.runner import NarrationJob, empty_narratives, run_narration
from traumasynth.narrate.sources import narration_lexicon, narration_prompt
from traumasynth.spec import DatasetSpec
from traumasynth.spec.ids import id_column, row_ids
from traumasynth.spec.schema import validate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backend:
    """An opened backend with the identity of the model behind it."""

    backend: NarratorBackend
    model_sha256: str
    model_file: str


def open_backend(*, params: NarrateParams, seed: int) -> Backend:
    """Open the backend ``params.backend`` and identify its model.

    Raises:
        NarratorUnavailableError: the model file is missing or corrupt, or no server answers.
    """
    if params.backend == "server":
        if params.guard_numbers:
            logger.info("narrate.guard_numbers works in process only: through servers, numbers are checked after")
        server = ServerBackend(
            urls=params.server_urls,
            concurrency=params.request_concurrency,
            retries=params.retries,
            timeout_s=params.request_timeout_s,
        )
        local = Path(params.model_path).expanduser() if params.model_path else None
        if local is not None and local.is_file():
            return Backend(server, model_sha256(local), local.name)
        logger.warning("Model file of the server not found locally: recording its model id instead of a sha256")
        return Backend(server, f"server:{server.model_id}", server.model_id)
    path = resolve_model_path(params.model_path)
    sha = model_sha256(path)
    backend = LlamaCppBackend(
        model_path=path,
        n_ctx=params.n_ctx,
        n_threads=params.n_threads,
        n_gpu_layers=params.n_gpu_layers,
        seed=seed,
        parallel=params.parallel,
    )
    return Backend(backend, sha, path.name)


def select_rows(
    *, synthetic: pd.DataFrame, spec: DatasetSpec, n_rows: int, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """The first ``n_rows`` synthetic rows (modelled columns) and their ids.

    Refuses anything but a synthetic table (modelled columns plus the id column): a file with
    the spec's narrative column or other columns may hold real records, which must never
    reach a prompt.

    Raises:
        DataError: the table is empty or has columns a synthetic table does not have.
        SchemaError: a value breaks the dataset specification.
    """
    if synthetic.empty:
        raise DataError(f"{source} has no rows. Run the sample stage again (dvc repro sample) or check its params.")
    modelled = [c.name for c in spec.modelled_columns]
    id_col = id_column(synthetic, spec)
    allowed = set(modelled) | ({id_col} if id_col else set())
    extra = sorted(set(synthetic.columns) - allowed)
    missing = [c for c in modelled if c not in synthetic.columns]
    if extra or missing:
        raise DataError(
            f"{source} is not a synthetic table of dataset '{spec.name}'"
            + (f"; unexpected columns {extra}" if extra else "")
            + (f"; missing columns {missing}" if missing else "")
            + ". Narrate only files written by the sample stage (modelled columns plus the id column): "
            "real records and their narratives must never enter a prompt."
        )
    head = synthetic.head(n_rows).reset_index(drop=True)
    columns = modelled + ([id_col] if id_col else [])
    validate(head[columns], spec, columns=columns, what=f"synthetic table {source}")
    return head[modelled], row_ids(head, spec)


def run(
    *,
    synthetic_path: Path,
    spec: DatasetSpec,
    params: NarrateParams,
    seed: int,
    prompts_dir: Path,
    lexicons_dir: Path = layout.LEXICONS,
    shard_dir: Path,
    out_path: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    """Narrate the first ``params.n_rows`` rows of a synthetic file; write narratives and metrics.

    Args:
        synthetic_path: ``data/synthetic/<model>.parquet``.
        spec: the dataset specification.
        params: the ``narrate`` section.
        seed: ``base.seed``.
        prompts_dir: the ``prompts`` folder (``<dataset>/<version>/`` inside); without a version
            folder for the dataset, the prompt is made from the spec.
        lexicons_dir: the ``lexicons`` folder (``<dataset>.yaml`` inside); without a lexicon for
            the dataset, the fact checker is made from the spec.
        shard_dir: this file's shard folder, e.g. ``data/interim/narrate_shards/<model>``.
        out_path: ``data/narratives/<model>.parquet``.
        metrics_path: ``metrics/narrate_<model>.json``.

    Returns:
        The metrics written to ``metrics_path``.

    Raises:
        DataError, SchemaError: the synthetic file is missing, empty or malformed.
        ParamsError: a prompt version is missing, or the prompt does not fit ``n_ctx``.
        NarratorUnavailableError: the model or the server cannot be used.
    """
    if not synthetic_path.is_file():
        raise DataError(f"Synthetic file {synthetic_path} not found. Run `dvc repro sample` first.")
    rows, ids = select_rows(
        synthetic=pd.read_parquet(synthetic_path), spec=spec, n_rows=params.n_rows, source=str(synthetic_path)
    )
    if params.n_rows == 0:
        # A table-only run (the privacy-utility sweep, a new dataset without prompts yet): no prompt
        # or model is loaded, the file is empty.
        logger.warning("narrate.n_rows is 0: writing an empty narratives file for %s", synthetic_path)
        narrated = _Narrated(empty_narratives(), "", params.prompt_version)
    else:
        narrated = _narrate_rows(
            rows,
            ids,
            spec=spec,
            params=params,
            seed=seed,
            prompts_dir=prompts_dir,
            lexicons_dir=lexicons_dir,
            shard_dir=shard_dir,
            desc=f"narrate {out_path.stem}",
        )
    write_parquet_atomic(narrated.frame, out_path)
    return _write_metrics(narrated, params=params, seed=seed, metrics_path=metrics_path)


@dataclass(frozen=True)
class _Narrated:
    """The narratives of a run, the model file that wrote them and the prompt version they used."""

    frame: pd.DataFrame
    model_file: str
    template_version: str


def _narrate_rows(
    rows: pd.DataFrame,
    ids: list[str],
    *,
    spec: DatasetSpec,
    params: NarrateParams,
    seed: int,
    prompts_dir: Path,
    lexicons_dir: Path,
    shard_dir: Path,
    desc: str,
) -> _Narrated:
    """Load the prompt, the lexicon and the backend, and narrate ``rows`` (the backend is closed after)."""
    lexicon = narration_lexicon(spec=spec, directory=lexicons_dir)
    template = narration_prompt(
        prompts_dir=prompts_dir, spec=spec, version=params.prompt_version, made_up=params.spec_examples,
        lexicon=lexicon, token_budget=params.n_ctx - params.max_tokens,
    )  # fmt: skip
    opened = open_backend(params=params, seed=seed)
    try:
        job = NarrationJob(
            params=params, seed=seed, template=template, lexicon=lexicon, model_sha256=opened.model_sha256,
            statements=SupportRules.from_spec(spec), fallback=FallbackNote(spec),
        )  # fmt: skip
        frame = run_narration(
            rows=rows,
            row_ids=ids,
            job=job,
            backend=opened.backend,
            shard_dir=shard_dir,
            desc=desc,
        )
    finally:
        opened.backend.close()
    return _Narrated(frame, opened.model_file, template.version)


def _write_metrics(narrated: _Narrated, *, params: NarrateParams, seed: int, metrics_path: Path) -> dict[str, Any]:
    """Write the run's metrics to ``metrics_path``, log its headline figures and return them."""
    metrics = narration_metrics(
        narrated.frame,
        backend=params.backend,
        model_file=narrated.model_file,
        extra={
            "prompt_version": narrated.template_version,
            "prompt_format": params.prompt_format,
            "n_candidates_max": params.n_candidates,
            "seed": seed,
        },
    )
    write_json_atomic(metrics, metrics_path)
    logger.info(
        "Narrated %d rows: faithfulness %.3f, core %.3f, %.2f narratives/s",
        metrics["narratives"],
        metrics["faithfulness_rate"] or float("nan"),
        metrics["core_faithful_rate"] or float("nan"),
        metrics["narratives_per_second"] or float("nan"),
    )
    return metrics
