"""Draw, shuffle and blind the records of the review page.

The page gets items with opaque ids and no hint of their source; the key (item id ->
source and record id) goes to a separate file that the reviewer never sees.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.review.records import format_record
from traumasynth.review.sources import NARRATIVE, RECORD_ID
from traumasynth.spec import DatasetSpec

REAL = "real"


@dataclass(frozen=True)
class ReviewItem:
    """One record on the page.

    Attributes:
        item_id: opaque token (``item-`` + 12 hex digits), drawn after the shuffle.
        source: ``real`` or a model name (goes to the key only).
        record_id: the row's id in its source file (goes to the key only).
        fields: ``[label, value]`` pairs of the modelled columns, formatted alike for all sources.
        narrative: the record's narrative.
    """

    item_id: str
    source: str
    record_id: str
    fields: tuple[tuple[str, str], ...]
    narrative: str


def draw_items(
    *, spec: DatasetSpec, sources: Mapping[str, pd.DataFrame], n_per_source: int, seed: int
) -> list[ReviewItem]:
    """Draw up to ``n_per_source`` records from each source, shuffle them and give opaque ids.

    Args:
        spec: the dataset specification (formats the modelled columns).
        sources: source name (``real`` or a model) -> frame from ``traumasynth.review.sources``.
        n_per_source: records drawn from each source (fewer if a source has fewer rows).
        seed: seed of the draw, the shuffle and the ids; the same inputs give the same page.

    Raises:
        DataError: a source has no usable record.
    """
    empty = sorted(name for name, df in sources.items() if df.empty)
    if empty:
        raise DataError(
            f"No record with a narrative in sources {empty}. Check the narration metrics "
            "(metrics/narrate_<model>.json) or leave these models out of base.models."
        )
    rng = np.random.default_rng(seed)
    drawn: list[tuple[str, pd.Series]] = []
    for name in sorted(sources):  # sorted: the draw must not depend on dict order
        df = sources[name]
        rows = rng.choice(len(df), size=min(n_per_source, len(df)), replace=False)
        drawn.extend((name, df.iloc[int(i)]) for i in np.sort(rows))
    order = rng.permutation(len(drawn))
    ids: list[str] = []
    while len(ids) < len(drawn):
        token = f"item-{int(rng.integers(0, 2**48)):012x}"
        if token not in ids:
            ids.append(token)
    items = []
    for item_id, k in zip(ids, order, strict=True):
        name, row = drawn[int(k)]
        items.append(
            ReviewItem(
                item_id=item_id,
                source=name,
                record_id=str(row[RECORD_ID]),
                fields=tuple((label, value) for label, value in format_record(spec, row)),
                narrative=str(row[NARRATIVE]).strip(),
            )
        )
    return items


def review_id(items: list[ReviewItem]) -> str:
    """A short fingerprint of the page's items (namespaces the browser's saved progress)."""
    payload = json.dumps([[i.item_id, i.fields, i.narrative] for i in items], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_key(*, items: list[ReviewItem], dataset: str, seed: int) -> dict:
    """The key file's content: item id -> source and record id, plus the page fingerprint."""
    return {
        "review_id": review_id(items),
        "dataset": dataset,
        "seed": seed,
        "sources": sorted({i.source for i in items}),
        "items": {i.item_id: {"source": i.source, "record_id": i.record_id} for i in items},
    }
