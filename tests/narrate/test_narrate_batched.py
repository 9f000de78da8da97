"""The batched in-process backend (``narrate.parallel > 1``) with real llama.cpp and the embedded model."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from tests.narrate.conftest import fast_params
from traumasynth.core.errors import ParamsError
from traumasynth.narrate.checking.facts import load_lexicon
from traumasynth.narrate.generation.backend import Generation, Request, Sampling
from traumasynth.narrate.generation.in_process import LlamaCppBackend, resolve_threads
from traumasynth.narrate.generation.sequences import common_prefix
from traumasynth.narrate.prompts.templates import Prompt, load_prompt
from traumasynth.narrate.runner import NarrationJob, run_narration

SHORT = Sampling(max_tokens=6, temperature=0.8, top_p=0.95, stop=("\n",))
#: Long enough for notes of different seeds to part (the first tokens copy the row's age).
VARIED = Sampling(max_tokens=14, temperature=1.0, top_p=0.95, stop=("\n",))


@pytest.fixture(scope="module")
def batched(model_path: Path) -> LlamaCppBackend:
    """Two sequences at once: tests send more requests than that."""
    llm = LlamaCppBackend(model_path=model_path, n_ctx=1024, n_threads=1, n_gpu_layers=0, seed=1, parallel=2)
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def prompts(small_prompts: Path, sim_rows: pd.DataFrame) -> list[Prompt]:
    """Five completion prompts of prompt v1 with one few-shot example: a shared prefix, then each row."""
    template = load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1")
    return [template.render(r, prompt_format="completion") for r in sim_rows.head(5).to_dict(orient="records")]


def _tokens(backend: LlamaCppBackend, prompt: Prompt) -> int:
    assert prompt.text is not None
    return len(backend._llm.tokenize(prompt.text.encode(), add_bos=True, special=True))


def test_one_generation_per_request_in_order_with_more_requests_than_slots(
    batched: LlamaCppBackend, prompts: list[Prompt]
) -> None:
    gens = batched.generate([Request(p, seed=10 + i) for i, p in enumerate(prompts)], sampling=SHORT)
    assert len(gens) == 5
    assert [g.prompt_tokens for g in gens] == [_tokens(batched, p) for p in prompts]  # each in its own place
    assert len({g.prompt_tokens for g in gens}) > 1  # (the rows' prompts differ in length, so order is checked)
    for gen in gens:
        assert 1 <= gen.completion_tokens <= SHORT.max_tokens and "\n" not in gen.text
    assert any(g.completion_tokens == SHORT.max_tokens for g in gens)  # notes are longer than 6 tokens


def test_same_requests_give_the_same_texts_whatever_ran_before(
    batched: LlamaCppBackend, model_path: Path, prompts: list[Prompt]
) -> None:
    requests = [Request(p, seed=20 + i) for i, p in enumerate(prompts[:3])]
    first = batched.generate(requests, sampling=VARIED)
    batched.generate([Request(prompts[4], seed=1), Request(Prompt(text="Facts: fall\nNote:"), seed=2)], sampling=VARIED)
    again = batched.generate(requests, sampling=VARIED)
    assert [g.text for g in again] == [g.text for g in first]
    fresh = LlamaCppBackend(model_path=model_path, n_ctx=2048, n_threads=1, n_gpu_layers=0, seed=5, parallel=2)
    try:
        assert [g.text for g in fresh.generate(requests, sampling=VARIED)] == [g.text for g in first]
    finally:
        fresh.close()
    reseeded = batched.generate([Request(r.prompt, seed=r.seed + 100) for r in requests], sampling=VARIED)
    assert [g.text for g in reseeded] != [g.text for g in first]


def test_stop_string_ends_the_text_and_is_left_out(batched: LlamaCppBackend, prompts: list[Prompt]) -> None:
    greedy = Sampling(max_tokens=8, temperature=0.0, top_p=1.0, stop=())
    (full,) = batched.generate([Request(prompts[0], seed=1)], sampling=greedy)
    assert full.completion_tokens == 8 and "," in full.text  # the prompt opens the note; the model goes on
    (cut,) = batched.generate([Request(prompts[0], seed=1)], sampling=Sampling(8, 0.0, 1.0, (",", "\n")))
    assert cut.text == full.text[: full.text.index(",")]
    assert 1 <= cut.completion_tokens < 8  # the token that completed the stop string is counted


def test_chat_prompts_run_sequentially_in_their_place(
    batched: LlamaCppBackend, prompts: list[Prompt], small_prompts: Path, sim_rows: pd.DataFrame
) -> None:
    template = load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1")
    chat = template.render(sim_rows.iloc[0].to_dict(), prompt_format="chat")
    gens = batched.generate([Request(prompts[0], 1), Request(chat, 2), Request(prompts[1], 3)], sampling=SHORT)
    assert [g.prompt_tokens for g in gens[::2]] == [_tokens(batched, prompts[0]), _tokens(batched, prompts[1])]
    assert gens[1].completion_tokens > 0 and gens[1].prompt_tokens not in (gens[0].prompt_tokens, 0)


def test_prompt_longer_than_the_context_is_refused(model_path: Path, prompts: list[Prompt]) -> None:
    small = LlamaCppBackend(model_path=model_path, n_ctx=128, n_threads=1, n_gpu_layers=0, seed=1, parallel=2)
    try:
        with pytest.raises(ParamsError, match=r"does not fit the context window narrate.n_ctx=128"):
            small.generate([Request(p, seed=1) for p in prompts[:2]], sampling=SHORT)
    finally:
        small.close()


def test_resumed_shards_are_the_same_bytes(
    batched: LlamaCppBackend, small_prompts: Path, synthetic_rows: pd.DataFrame, tmp_path: Path
) -> None:
    rows = synthetic_rows.head(4).drop(columns="patient_id")
    ids = synthetic_rows["patient_id"].head(4).tolist()
    job = NarrationJob(
        params=fast_params(parallel=2, max_tokens=12),
        seed=3,
        template=load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1"),
        lexicon=load_lexicon(dataset="ed_trauma_sim"),
        model_sha256="b" * 64,
    )
    whole = run_narration(rows=rows, row_ids=ids, job=job, backend=batched, shard_dir=tmp_path)
    (tmp_path / "part-000001.parquet").unlink()  # as if the run had been killed during the second shard
    resumed = run_narration(rows=rows, row_ids=ids, job=job, backend=batched, shard_dir=tmp_path)
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), whole.drop(columns="seconds"))


def test_common_prefix_leaves_every_prompt_a_token() -> None:
    assert common_prefix([[1, 2, 3, 4], [1, 2, 5]]) == 2
    assert common_prefix([[1, 2, 3], [1, 2, 3]]) == 2
    assert common_prefix([[7, 8]]) == 1
    assert common_prefix([[1], [2]]) == 0


def test_threads_never_exceed_the_available_cores() -> None:
    cores = len(os.sched_getaffinity(0))
    assert resolve_threads(0) == cores
    assert resolve_threads(cores + 5) == cores
    assert resolve_threads(1) == 1


def test_the_prefix_state_saved_on_disk_gives_the_same_texts_and_a_bad_file_is_replaced(
    model_path: Path, prompts: list[Prompt], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAUMASYNTH_PROMPT_CACHE", str(tmp_path))
    requests = [Request(p, seed=40 + i) for i, p in enumerate(prompts[:3])]

    def run() -> tuple[str, list[str]]:
        llm = LlamaCppBackend(model_path=model_path, n_ctx=1024, n_threads=1, n_gpu_layers=0, seed=1, parallel=2)
        try:
            texts = [g.text for g in llm.generate(requests, sampling=VARIED)]
            assert llm._batched is not None
            return llm._batched.prefix_source, texts
        finally:
            llm.close()

    source, first = run()
    (saved,) = tmp_path.glob("*.kv")
    assert source == "evaluated" and saved.stat().st_size > 0
    assert run() == ("disk", first)  # a later run loads the state and writes the same notes
    saved.write_bytes(b"not a llama.cpp state")
    assert run() == ("evaluated", first)  # refused, evaluated again ...
    assert saved.stat().st_size > 100  # ... and saved again


def test_follow_ups_run_in_the_same_batch_with_their_own_seed(
    batched: LlamaCppBackend, prompts: list[Prompt], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert batched._batched is not None
    calls: list[int] = []
    generate = batched._batched.generate
    monkeypatch.setattr(batched._batched, "generate", lambda *a, **k: calls.append(1) or generate(*a, **k))
    seen: list[tuple[int, str]] = []

    def follow_up(i: int, gen: Generation) -> Request | None:
        seen.append((i, gen.text))
        return Request(prompts[i], seed=900 + i) if i % 2 == 0 and sum(j == i for j, _ in seen) == 1 else None

    batched.generate_until_done(
        [Request(p, seed=60 + i) for i, p in enumerate(prompts)], sampling=VARIED, follow_up=follow_up
    )
    assert calls == [1]  # one batch: the retries did not wait for a round of their own
    assert sorted(i for i, _ in seen) == [0, 0, 1, 2, 2, 3, 4, 4]
    for i in (0, 2, 4):  # a retry is a new candidate (another seed), not the first one again
        first, retry = [t for j, t in seen if j == i]
        assert first != retry and retry


def test_a_follow_up_that_does_not_share_the_prefix_is_refused(batched: LlamaCppBackend, prompts: list[Prompt]) -> None:
    with pytest.raises(ValueError, match="shared prefix"):
        batched.generate_until_done(
            [Request(p, seed=1) for p in prompts[:2]],
            sampling=SHORT,
            follow_up=lambda i, gen: Request(Prompt(text="Facts: fall\nNote:"), seed=2) if i == 0 else None,
        )
