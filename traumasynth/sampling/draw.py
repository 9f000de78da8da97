"""Drawing the planned rows from a model, and the synthetic table's ids and columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from traumasynth.models import Synthesizer
from traumasynth.sampling.class_plan import check_counts
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import empty_frame, validate


def sample_rows(
    *,
    synthesizer: Synthesizer,
    counts: dict[str, int],
    seed: int,
    batch_size: int = 5000,
    desc: str = "sampling",
) -> pd.DataFrame:
    """Draw exactly ``counts[c]`` rows of each class, shuffled, in the spec's form.

    Rows are drawn in batches of ``batch_size`` (in class order), each with its own seed
    derived from ``seed``, then shuffled with ``seed``: the same inputs give the same frame.

    Raises:
        ParamsError: a negative count, or a class the model does not know.
    """
    spec = synthesizer.spec
    check_counts(counts=counts, spec=spec)
    labels = np.concatenate([np.full(int(k), c, dtype=object) for c, k in counts.items()] + [np.array([], object)])
    pieces: list[pd.DataFrame] = []
    batches = range(0, len(labels), batch_size)
    for i, start in enumerate(tqdm(batches, desc=desc, unit="batch", leave=False, disable=len(batches) <= 1)):
        chunk = labels[start : start + batch_size]
        names, sizes = np.unique(chunk, return_counts=True)
        conditions = {str(c): int(k) for c, k in zip(names, sizes, strict=True)}
        batch_seed = int(np.random.SeedSequence([seed, i]).generate_state(1, dtype=np.uint64)[0] >> 1)
        pieces.append(synthesizer.sample(len(chunk), conditions=conditions, seed=batch_seed))
    if not pieces:
        return empty_frame(spec, [c.name for c in spec.modelled_columns])
    frame = pd.concat(pieces, ignore_index=True)
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def synthetic_columns(spec: DatasetSpec) -> list[str]:
    """Columns of a synthetic table, in spec order: the identifier (if any) and the modelled columns."""
    keep = {c.name for c in spec.modelled_columns}
    if spec.id_column is not None:
        keep.add(spec.id_column.name)
    return [c.name for c in spec.columns if c.name in keep]


def with_ids(frame: pd.DataFrame, *, spec: DatasetSpec, model: str, start: int = 1) -> pd.DataFrame:
    """Add the spec's identifier column (``<model>-000001``...) and validate the synthetic table.

    Raises:
        SchemaError: the table breaks the spec (listing every problem).
    """
    out = frame.copy()
    if spec.id_column is not None:
        ids = [f"{model}-{i:06d}" for i in range(start, start + len(frame))]
        out[spec.id_column.name] = pd.Series(ids, index=out.index, dtype="str")
    columns = synthetic_columns(spec)
    out = out[columns]
    return validate(out, spec, columns=columns, what=f"{model} synthetic table")
