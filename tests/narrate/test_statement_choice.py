"""Narration prefers a candidate without unsupported statements or loops; the metrics count them.

A scripted backend stands in for the model (what is tested is the choice among the notes it
returns, not the generation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tests.conftest import REPO
from tests.narrate.conftest import fast_params
from traumasynth.narrate.checking.facts import load_lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.narrate.generation.backend import Generation, Request, Sampling, generate_in_rounds
from traumasynth.narrate.metrics import narration_metrics
from traumasynth.narrate.prompts.templates import load_prompt
from traumasynth.narrate.runner import NarrationJob, candidate_seed, run_narration
from traumasynth.spec import DatasetSpec


class ScriptedBackend:
    """Returns the text scripted for each request's seed."""

    name = "scripted"
    lock_wait_seconds = 0.0

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts

    def generate(self, requests: Sequence[Request], *, sampling: Sampling) -> list[Generation]:
        return [Generation(self.texts[r.seed], 10, 100) for r in requests]

    def generate_until_done(self, requests, *, sampling, follow_up) -> None:
        generate_in_rounds(self, requests, sampling=sampling, follow_up=follow_up)

    def close(self) -> None:
        pass


def _run(rows: pd.DataFrame, ids: list[str], texts: dict[int, str], spec: DatasetSpec, tmp: Path, *, check: bool):
    # repair off: what is tested is the choice among whole notes (repair would cut the invented
    # figure and the loop: tests/narrate/test_fallback.py); no fallback note either
    job = NarrationJob(
        params=fast_params(n_candidates=2, parallel=1, repair=False),
        seed=42,
        template=load_prompt(prompts_dir=REPO / "prompts", dataset="ed_trauma_sim", version="v1"),
        lexicon=load_lexicon(dataset="ed_trauma_sim"),
        model_sha256="a" * 64,
        statements=SupportRules.from_spec(spec) if check else None,
    )
    return run_narration(rows=rows, row_ids=ids, job=job, backend=ScriptedBackend(texts), shard_dir=tmp)


def test_a_candidate_with_an_invented_number_or_a_loop_is_passed_over(
    synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    rows = synthetic_rows.head(3).drop(columns="patient_id")
    ids = synthetic_rows["patient_id"].head(3).tolist()
    texts = {
        candidate_seed(42, ids[0], 0): ". One of 1000 patients seen today.",
        candidate_seed(42, ids[0], 1): ".",
        candidate_seed(42, ids[1], 0): ". No, No, No, No.",
        candidate_seed(42, ids[1], 1): ".",
        candidate_seed(42, ids[2], 0): ".",
        candidate_seed(42, ids[2], 1): ". Seen again.",
    }
    out = _run(rows, ids, texts, sim_spec, tmp_path / "checked", check=True)
    assert out["n_candidates"].tolist() == [2, 2, 1]
    assert out["seed"].tolist() == [candidate_seed(42, i, k) for i, k in zip(ids, (1, 1, 0), strict=True)]
    assert [list(u) for u in out["unsupported"]] == [[], [], []] and out["loop"].tolist() == ["", "", ""]
    # without the check, the first candidate of every row is good enough, as before
    plain = _run(rows, ids, texts, sim_spec, tmp_path / "plain", check=False)
    assert plain["n_candidates"].tolist() == [1, 1, 1] and plain["unsupported"].isna().all()


def test_narration_metrics_count_unsupported_notes_and_loops(
    synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    rows = synthetic_rows.head(2).drop(columns="patient_id")
    ids = synthetic_rows["patient_id"].head(2).tolist()
    texts = {candidate_seed(42, i, k): t for i in ids for k, t in enumerate((". 1000 patients.", ". No, no, no."))}
    out = _run(rows, ids, texts, sim_spec, tmp_path, check=True)
    metrics = narration_metrics(out, backend="scripted", model_file="x", extra={})
    assert metrics["unsupported_rate"] == 1.0 and metrics["loop_rate"] == 0.0
    assert metrics["unsupported_by_kind"] == {"number": 2}
    old = narration_metrics(out.drop(columns=["unsupported", "loop"]), backend="scripted", model_file="x", extra={})
    assert old["unsupported_rate"] is None
