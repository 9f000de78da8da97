"""Read the records that may go on the review page: synthetic rows joined to their
narratives, and real test rows with their real narratives.

Each source becomes a frame with the spec's modelled columns plus ``RECORD_ID`` and
``NARRATIVE``. A synthetic row is joined to its narrative by the one id rule of
``traumasynth.spec.ids`` (the narrate stage's ``row_id`` holds the synthetic table's id); the
text column is the first of ``narrative``/``narrative_text``/``text`` present.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.spec import DatasetSpec
from traumasynth.spec.ids import NARRATIVE_ID, row_ids

logger = logging.getLogger(__name__)

RECORD_ID = "__record_id"
NARRATIVE = "__narrative"

_TEXT_CANDIDATES = ("narrative", "narrative_text", "text")


def _read_parquet(path: Path, what: str, fix: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{what} {path} not found. {fix}")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{what} {path} cannot be read as Parquet ({exc}). {fix}") from exc


def _check_modelled(df: pd.DataFrame, spec: DatasetSpec, path: Path) -> None:
    missing = [c.name for c in spec.modelled_columns if c.name not in df.columns]
    if missing:
        raise DataError(
            f"{path} lacks the modelled columns {missing} of dataset '{spec.name}'. "
            "Was it produced for another dataset? Rerun the pipeline (dvc repro)."
        )


def _has_text(series: pd.Series) -> pd.Series:
    return series.notna() & (series.astype("string").str.strip().str.len() > 0).fillna(False)


def load_synthetic(*, spec: DatasetSpec, model: str, synthetic_path: Path, narratives_path: Path) -> pd.DataFrame:
    """Synthetic rows of ``model`` with their narratives; rows without a narrative are left out.

    Raises:
        DataError: a file is missing or unreadable, lacks modelled columns, has no join
            key shared with the other, or has duplicate ids.
    """
    synth = _read_parquet(synthetic_path, f"Synthetic table of '{model}'", f"Run `dvc repro sample@{model}`.")
    narr = _read_parquet(narratives_path, f"Narratives of '{model}'", f"Run `dvc repro narrate@{model}`.")
    _check_modelled(synth, spec, synthetic_path)
    if NARRATIVE_ID not in narr.columns:
        raise DataError(
            f"{narratives_path} has no '{NARRATIVE_ID}' column (found {list(narr.columns)}): it was not written by "
            f"the narrate stage. Run `dvc repro narrate@{model}`."
        )
    key = "__join_id"
    synth = synth.assign(**{key: row_ids(synth, spec)})
    narr = narr.assign(**{key: narr[NARRATIVE_ID].astype(str)})
    text = next((c for c in _TEXT_CANDIDATES if c in narr.columns), None)
    if text is None:
        raise DataError(
            f"{narratives_path} has no narrative column (looked for {list(_TEXT_CANDIDATES)}, "
            f"found {list(narr.columns)}). Rerun `dvc repro narrate@{model}`."
        )
    for df, path in ((synth, synthetic_path), (narr, narratives_path)):
        dupes = df[key][df[key].duplicated()].astype(str).unique().tolist()
        if dupes:
            raise DataError(f"{path} has duplicate row ids (e.g. {dupes[:5]}). Rerun the stage that wrote it.")
    merged = synth.merge(
        narr[[key, text]].rename(columns={text: NARRATIVE}), on=key, how="inner", validate="one_to_one"
    )
    merged[RECORD_ID] = merged[key].astype(str)
    kept = merged[_has_text(merged[NARRATIVE])]
    if len(kept) < len(synth):
        logger.info("%s: %d of %d synthetic rows have a narrative", model, len(kept), len(synth))
    return kept[[c.name for c in spec.modelled_columns] + [RECORD_ID, NARRATIVE]].reset_index(drop=True)


def load_real(*, spec: DatasetSpec, real_path: Path) -> pd.DataFrame:
    """Real rows of ``real_path`` (a prepared split) that have a real narrative.

    Raises:
        DataError: the file is missing or unreadable, lacks columns, or the spec has no
            narrative column (real rows without text would be recognised at once).
    """
    narrative = spec.narrative_column
    if narrative is None:
        raise DataError(
            f"Dataset '{spec.name}' has no narrative column, so real rows would show without a "
            "narrative and be recognised at once. Set review.include_real: false (or auto)."
        )
    real = _read_parquet(real_path, "Real split", "Run `dvc repro prepare`.")
    _check_modelled(real, spec, real_path)
    if narrative.name not in real.columns:
        raise DataError(f"{real_path} lacks the narrative column '{narrative.name}'. Rerun `dvc repro prepare`.")
    out = real.rename(columns={narrative.name: NARRATIVE})
    id_col = spec.id_column
    if id_col is not None and id_col.name in out.columns:
        out[RECORD_ID] = out[id_col.name].astype(str)
    else:
        out[RECORD_ID] = [f"row-{i}" for i in range(len(out))]
    out = out[_has_text(out[NARRATIVE])]
    return out[[c.name for c in spec.modelled_columns] + [RECORD_ID, NARRATIVE]].reset_index(drop=True)
