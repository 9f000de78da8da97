"""Metrics of a narration run (``metrics/narrate_<model>.json``).

Directions and ranges:

- ``narratives`` (count), ``narratives_per_second`` and ``tokens_per_second`` (goal: maximise;
  summed over the shards of every run that contributed, so a resumed run reports the whole job);
- ``faithfulness_rate``: share of kept narratives with no contradiction at all (0..1, maximise);
- ``core_faithful_rate``: share contradicting none of age, sex and mechanism (0..1, maximise);
- ``mean_faithfulness``: mean per-narrative score agreed / (agreed + contradicted + omitted core) (0..1, maximise);
- ``contradiction_rate``: contradicted facts / stated facts (0..1, minimise);
- ``core_omission_rate``: share of narratives missing a core fact (0..1, minimise);
- ``mean_candidates``: candidates generated per kept narrative (1..n_candidates, minimise for speed);
- ``draft_faithfulness_rate``: share of kept narratives that contradicted nothing *as generated*,
  before repair (0..1, maximise): the model's own faithfulness;
- ``repaired_rate``: share of kept narratives with clauses cut by the repair (0..1, minimise);
  ``mean_clauses_cut`` per narrative;
- ``unsupported_rate``: share of checked narratives stating at least one number, date, clock time,
  code or clinical finding their row does not hold (``checking.unsupported``; 0..1, minimise), with
  ``unsupported_by_kind`` (statements per column, or ``number``/``date``/``time``/``code``/``finding``
  when no column is named);
- ``loop_rate``: share of checked narratives that repeat a phrase over and over
  (``checking.loops``; 0..1, minimise). Both describe the notes as released (after repair, or
  the fallback note);
- ``fallback_rate``: share of narratives that are the fallback note written from the row's
  facts, because every candidate still failed its checks after repair (``narrate/fallback.py``;
  0..1, minimise: a fallback is correct but not the model's prose);
- ``unsupported_rate_generated`` and ``loop_rate_generated``: share of all candidates the model
  wrote (before repair and fallback) with an unsupported statement, or a loop (0..1, minimise):
  what the model does, where ``unsupported_rate`` and ``loop_rate`` say what is released.

The checker reads both the drafts and the repaired notes, so ``faithfulness_rate`` after repair
is bounded by what the checker sees: its recall on the labelled set (``metrics/checker/``) says
how many contradictions it misses.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def _statement_metrics(frame: pd.DataFrame) -> dict[str, Any]:
    """``unsupported_rate``, ``loop_rate`` and ``unsupported_by_kind`` of the notes whose statements were
    checked, the ``fallback_rate``, and the same rates over every candidate as generated."""
    if "unsupported" not in frame.columns:  # a file written before the check existed
        return {"unsupported_rate": None, "loop_rate": None, "unsupported_by_kind": {}} | _generated(frame, None)
    checked = frame["unsupported"].map(lambda v: v is not None)
    said = frame["unsupported"][checked]
    loops = frame["loop"][checked].map(lambda v: bool(v))
    kinds = Counter(s.split(":", 1)[0] for statements in said for s in statements)
    return {
        "unsupported_rate": _rate(float(said.map(len).gt(0).sum()), float(checked.sum())),
        "loop_rate": _rate(float(loops.sum()), float(checked.sum())),
        "unsupported_by_kind": dict(sorted(kinds.items())),
    } | _generated(frame, checked)


def _generated(frame: pd.DataFrame, checked: pd.Series | None) -> dict[str, Any]:
    """``fallback_rate``, and ``unsupported_rate_generated``/``loop_rate_generated`` over all candidates."""
    if "fallback" not in frame.columns:  # a file written before the fallback existed
        return {"fallback_rate": None, "unsupported_rate_generated": None, "loop_rate_generated": None}
    candidates = float(frame["n_candidates"][checked].sum()) if checked is not None else 0.0
    return {
        "fallback_rate": _rate(float(frame["fallback"].astype(bool).sum()), float(len(frame))),
        "unsupported_rate_generated": _rate(float(frame["draft_unsupported"][checked].sum()), candidates)
        if checked is not None
        else None,
        "loop_rate_generated": _rate(float(frame["draft_loops"][checked].sum()), candidates)
        if checked is not None
        else None,
    }


def narration_metrics(frame: pd.DataFrame, *, backend: str, model_file: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Summarise the narration output ``frame`` (columns of ``runner.OUTPUT_COLUMNS``).

    Args:
        frame: the final narratives.
        backend: ``llama_cpp`` or ``server``.
        model_file: name of the GGUF file (or the server's model id).
        extra: more keys to record as they are (prompt version, seed, resumed rows...).
    """
    n = len(frame)
    seconds = float(frame["seconds"].sum())
    tokens = int(frame["completion_tokens"].sum())
    n_contra = frame["contradictions"].map(len)
    checked = frame["faithfulness"].notna()
    stated = float((frame["facts_agreed"] + n_contra)[checked].sum())
    per_fact = Counter(c.split(":", 1)[0] for cs in frame["contradictions"] for c in cs)
    return {
        "narratives": n,
        "narratives_per_second": _rate(n, seconds),
        "tokens_per_second": _rate(tokens, seconds),
        "generation_seconds": round(seconds, 3),
        "completion_tokens": tokens,
        "faithfulness_rate": _rate(float(((n_contra == 0) & checked).sum()), float(checked.sum())),
        "core_faithful_rate": _rate(float(frame["core_faithful"][checked].astype(bool).sum()), float(checked.sum())),
        "mean_faithfulness": round(float(frame["faithfulness"][checked].mean()), 6) if checked.any() else None,
        "contradiction_rate": _rate(float(n_contra[checked].sum()), stated),
        "core_omission_rate": _rate(float((frame["omissions"].map(len)[checked] > 0).sum()), float(checked.sum())),
        "contradictions_by_fact": dict(sorted(per_fact.items())),
        "mean_candidates": round(float(frame["n_candidates"].mean()), 4) if n else None,
        "draft_faithfulness_rate": _rate(
            float(((frame["draft_contradictions"] == 0) & checked).sum()), float(checked.sum())
        ),
        "repaired_rate": _rate(float(((frame["clauses_cut"] > 0) & checked).sum()), float(checked.sum())),
        "mean_clauses_cut": round(float(frame["clauses_cut"][checked].mean()), 4) if checked.any() else None,
        **_statement_metrics(frame),
        "backend": backend,
        "model": model_file,
        "model_sha256": str(frame["model_sha256"].iloc[0]) if n else None,
        **extra,
    }
