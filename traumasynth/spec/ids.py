"""The one rule that names a synthetic row, shared by the stage that narrates and every reader of its output.

A synthetic table carries the spec's identifier column (``<model>-000001``..., written by the
sample stage) when the spec has one; otherwise a row is named by its position,
``row-000000``.... The narratives file stores that name in :data:`NARRATIVE_ID`, so a reader
joins ``row_ids(synthetic)`` to ``narratives[NARRATIVE_ID]``.
"""

from __future__ import annotations

import pandas as pd

from traumasynth.spec import DatasetSpec

#: Column of the narratives file that holds each narrated row's name.
NARRATIVE_ID = "row_id"


def id_column(frame: pd.DataFrame, spec: DatasetSpec) -> str | None:
    """The spec's identifier column if ``frame`` has it, else ``None`` (rows are then named by position)."""
    if spec.id_column is not None and spec.id_column.name in frame.columns:
        return spec.id_column.name
    return None


def row_ids(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """The name of every row of a synthetic table, in order."""
    column = id_column(frame, spec)
    if column is not None:
        return frame[column].astype(str).tolist()
    return [f"row-{i:06d}" for i in range(len(frame))]
