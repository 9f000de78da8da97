"""No note that loops, invents a figure or contradicts its row is released: the fallback note (issue 27).

A scripted backend stands in for the model (what is tested is what the runner releases); the
fallback note is checked with the project's own checker on three specs: the simulator, NEISS and
the made-up ICU registry of ``tools/fake_table.py`` (a layout the narrative code was not built on).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import DATASETS, REPO
from tests.narrate.conftest import fast_params
from traumasynth.narrate.checking.facts import Lexicon, load_lexicon
from traumasynth.narrate.checking.loops import find_loop
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.narrate.fallback import FallbackNote
from traumasynth.narrate.generation.backend import Generation, Request, Sampling, generate_in_rounds
from traumasynth.narrate.metrics import narration_metrics
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.templates import load_prompt
from traumasynth.narrate.runner import NarrationJob, candidate_seed, run_narration
from traumasynth.spec import DatasetSpec, load_spec

LABELS = REPO / "tests" / "data"


class ScriptedBackend:
    """Returns ``text(request)`` for every request."""

    name = "scripted"
    lock_wait_seconds = 0.0

    def __init__(self, text: Any) -> None:
        self.text = text
        self.requests = 0

    def generate(self, requests: Sequence[Request], *, sampling: Sampling) -> list[Generation]:
        self.requests += len(requests)
        return [Generation(self.text(r), 10, 100) for r in requests]

    def generate_until_done(self, requests, *, sampling, follow_up) -> None:
        generate_in_rounds(self, requests, sampling=sampling, follow_up=follow_up)

    def close(self) -> None:
        pass


def _rows(synthetic_rows: pd.DataFrame, n: int) -> tuple[pd.DataFrame, list[str]]:
    return synthetic_rows.head(n).drop(columns="patient_id"), synthetic_rows["patient_id"].head(n).tolist()


def _job(spec: DatasetSpec, *, opening: bool = True, **params: object) -> NarrationJob:
    """The hand prompt v1 (its note starts with the row's age, sex and mechanism) or, with ``opening``
    off, the spec's prompt without one (the note is all the model's)."""
    template = (
        load_prompt(prompts_dir=REPO / "prompts", dataset="ed_trauma_sim", version="v1")
        if opening
        else SpecPrompt(spec=spec, opening="none")
    )
    return NarrationJob(
        params=fast_params(parallel=1, **params),
        seed=42,
        template=template,
        lexicon=load_lexicon(dataset="ed_trauma_sim"),
        model_sha256="a" * 64,
        statements=SupportRules.from_spec(spec),
        fallback=FallbackNote(spec),
    )


LOOPS = "No, No, No, No, No, No, No, No"


@pytest.mark.parametrize(("repair", "opening"), [(False, True), (True, False)], ids=["no-repair", "repair"])
def test_a_model_that_always_loops_releases_only_fallback_notes(
    synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path, repair: bool, opening: bool
) -> None:
    rows, ids = _rows(synthetic_rows, 4)
    backend = ScriptedBackend(lambda r: LOOPS)
    job = _job(sim_spec, opening=opening, n_candidates=2, repair=repair)
    out = run_narration(rows=rows, row_ids=ids, job=job, backend=backend, shard_dir=tmp_path)
    assert backend.requests == 8  # every candidate was tried first
    assert out["fallback"].all()
    assert out["loop"].tolist() == [""] * 4 and [list(u) for u in out["unsupported"]] == [[]] * 4
    assert out["contradictions"].map(len).eq(0).all() and out["omissions"].map(len).eq(0).all()
    assert not any(find_loop(t) for t in out["narrative"])
    assert out["draft_loops"].tolist() == [2] * 4 and out["clauses_cut"].eq(0).all()
    metrics = narration_metrics(out, backend="scripted", model_file="x", extra={})
    assert metrics["fallback_rate"] == 1.0
    assert metrics["loop_rate"] == 0.0 and metrics["unsupported_rate"] == 0.0 and metrics["faithfulness_rate"] == 1.0
    assert metrics["loop_rate_generated"] == 1.0 and metrics["unsupported_rate_generated"] == 0.0


def test_a_loop_after_a_sound_opening_is_cut_and_the_note_released(
    synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    rows, ids = _rows(synthetic_rows, 4)
    out = run_narration(rows=rows, row_ids=ids, job=_job(sim_spec, n_candidates=2), backend=ScriptedBackend(
        lambda r: LOOPS), shard_dir=tmp_path)  # fmt: skip
    assert not out["fallback"].any() and out["n_candidates"].eq(1).all()
    assert all(t.endswith(" No.") and find_loop(t) is None for t in out["narrative"])  # "<opening> No."
    metrics = narration_metrics(out, backend="scripted", model_file="x", extra={})
    assert metrics["loop_rate"] == 0.0 and metrics["fallback_rate"] == 0.0 and metrics["loop_rate_generated"] == 1.0


def test_a_note_repair_can_save_is_released_and_not_a_fallback(
    synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    rows, ids = _rows(synthetic_rows, 2)
    prompt = SpecPrompt(spec=sim_spec)
    opening = {i: prompt.opening(r) for i, r in zip(ids, rows.to_dict("records"), strict=True)}
    seeds = {candidate_seed(42, i, 0): i for i in ids}
    # the hand prompt v1 writes no opening: the scripted note starts with the row's own
    backend = ScriptedBackend(lambda r: f"{opening[seeds[r.seed]]} seen with 1000 others today. Stable.")
    out = run_narration(rows=rows, row_ids=ids, job=_job(sim_spec, n_candidates=1), backend=backend,
                        shard_dir=tmp_path)  # fmt: skip
    assert not out["fallback"].any()
    for text, i in zip(out["narrative"], ids, strict=True):
        assert "1000" not in text and text.startswith(opening[i].split(",")[0])
    metrics = narration_metrics(out, backend="scripted", model_file="x", extra={})
    assert metrics["fallback_rate"] == 0.0 and metrics["unsupported_rate"] == 0.0
    assert metrics["unsupported_rate_generated"] == 1.0 and metrics["repaired_rate"] == 1.0


def test_without_a_fallback_writer_the_best_candidate_is_released_as_before(
    synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    rows, ids = _rows(synthetic_rows, 2)
    job = _job(sim_spec, n_candidates=1, repair=False)
    job = NarrationJob(**{**job.__dict__, "fallback": None})
    out = run_narration(rows=rows, row_ids=ids, job=job, backend=ScriptedBackend(lambda r: "No, no, no."),
                        shard_dir=tmp_path)  # fmt: skip
    assert not out["fallback"].any() and out["loop"].tolist() == ["no ×3"] * 2
    assert narration_metrics(out, backend="scripted", model_file="x", extra={})["loop_rate"] == 1.0


def _labelled_rows(folder: str, n: int) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for line in (LABELS / folder / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)["row"]
        rows.setdefault(json.dumps(row, sort_keys=True), row)
    return list(rows.values())[:n]


def _lexicons(spec: DatasetSpec) -> list[Lexicon]:
    hand = load_lexicon(dataset=spec.name)
    return [spec_lexicon(spec), *([hand] if hand is not None else [])]


@pytest.mark.parametrize(
    ("spec_path", "labels", "n"),
    [
        (DATASETS / "ed_trauma_sim.yaml", "checker_labels", 25),
        (DATASETS / "neiss.yaml", "checker_labels_neiss", 8),  # its spec lexicon reads slowly (~0.2 s a check)
        (LABELS / "statement_labels" / "icu_registry.yaml", "statement_labels", 40),
    ],
    ids=["ed_trauma_sim", "neiss", "icu_registry"],
)
def test_the_fallback_note_passes_the_checker_on_every_spec(spec_path: Path, labels: str, n: int) -> None:
    spec = load_spec(spec_path)
    rules, writer = SupportRules.from_spec(spec), FallbackNote(spec)
    rows = _labelled_rows(labels, n)
    for lexicon in _lexicons(spec):
        stated = 0
        for row in rows:
            note = writer.write(row, lexicon=lexicon, statements=rules)
            assert note.check.contradictions == (), (note.text, note.check)
            assert note.statements is not None and note.statements.problems == 0, (note.text, note.statements)
            assert note.text and not note.text[0].islower() and note.text.endswith(".")
            stated += len(note.check.agreed)
        assert stated >= 3 * len(rows)  # the notes say something: at least three checked facts a note on average


def test_the_fallback_note_reads_as_prose_from_the_spec(sim_spec: DatasetSpec) -> None:
    row = {"age": 54, "sex": "male", "mechanism": "fall", "arrival_mode": "ambulance", "triage_level": 2, "gcs": 9,
           "sbp": 128, "heart_rate": None, "body_region": "head", "injury_type": "fracture", "disposition": "ward",
           "length_of_stay_h": 2.6, "alcohol_suspected": "no"}  # fmt: skip
    lexicon = load_lexicon(dataset="ed_trauma_sim")
    note = FallbackNote(sim_spec).write(row, lexicon=lexicon, statements=SupportRules.from_spec(sim_spec))
    assert note.text.startswith("54-year-old man, fall. ")
    for said in ("ambulance", "triage level 2", "GCS 9", "SBP 128 mmHg", "head", "fracture", "ward", "2.6"):
        assert said in note.text, note.text
    assert "HR" not in note.text and "None" not in note.text and "nan" not in note.text
    assert note.check.faithful and not note.check.omissions
