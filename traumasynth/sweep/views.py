"""What is shown of a sweep table: the plot data of ``dvc plots show`` and a Markdown summary."""

from __future__ import annotations

import pandas as pd

from traumasynth.sweep.table import PLOT_MODELS, model_order


def plot_frame(*, table: pd.DataFrame) -> pd.DataFrame:
    """TSTR macro-F1 against ε, wide: column ``epsilon`` then one column per model of :data:`PLOT_MODELS`.

    Every model of :data:`PLOT_MODELS` has a column (empty where it was not run), so the
    ``plots:`` entry of ``dvc.yaml`` can name them all; rows without a finite ε are left out.
    """
    finite = table[table["epsilon"].notna()]
    wide = finite.pivot_table(index="epsilon", columns="model", values="tstr_macro_f1", aggfunc="first")
    extra = [m for m in wide.columns if m not in PLOT_MODELS]
    wide = wide.reindex(columns=list(PLOT_MODELS) + sorted(extra))
    wide = wide.sort_index().reset_index()
    wide.columns.name = None
    return wide


def markdown_summary(*, table: pd.DataFrame, value: str = "tstr_macro_f1") -> str:
    """A Markdown table of ``value``: one row per model, one column per ε (``none`` = no DP last).

    Empty cells are models not run at that ε (a non-private peer has only ``none``).
    """
    eps = table["epsilon"].map(lambda e: "none" if pd.isna(e) else f"{e:g}")
    wide = table.assign(_eps=eps).pivot_table(index="model", columns="_eps", values=value, aggfunc="first")
    order = sorted((c for c in wide.columns if c != "none"), key=float) + (["none"] if "none" in wide.columns else [])
    models = sorted(wide.index, key=lambda m: (model_order(m), m))
    lines = [
        "| model | " + " | ".join(f"ε = {c}" if c != "none" else "no DP" for c in order) + " |",
        "|---|" + "---|" * len(order),
    ]
    for model in models:
        cells = ["" if pd.isna(wide.at[model, c]) else f"{wide.at[model, c]:.3f}" for c in order]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
