"""Narration through a real llama.cpp server (`python -m llama_cpp.server`) on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.narrate.conftest import PROMPTS, fast_params
from traumasynth.core.errors import ParamsError
from traumasynth.narrate.checking.facts import load_lexicon
from traumasynth.narrate.generation.backend import Generation, Request, Sampling
from traumasynth.narrate.generation.server import ServerBackend
from traumasynth.narrate.prompts.templates import Prompt, load_prompt
from traumasynth.narrate.runner import NarrationJob, run_narration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "1024", "--n_threads", "1"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 180 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_narrates_through_a_real_server(
    server_url: str, small_prompts: Path, synthetic_rows: pd.DataFrame, tmp_path: Path
) -> None:
    params = fast_params(backend="server", server_urls=(server_url,), request_concurrency=2, n_candidates=1)
    backend = ServerBackend(urls=params.server_urls, concurrency=2, retries=2, timeout_s=120)
    try:
        assert backend.model_id  # the server reports the model it serves
        job = NarrationJob(
            params=params,
            seed=42,
            template=load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1"),
            lexicon=load_lexicon(dataset="ed_trauma_sim"),
            model_sha256=f"server:{backend.model_id}",
        )
        rows = synthetic_rows.head(2).drop(columns="patient_id")
        out = run_narration(rows=rows, row_ids=["a", "b"], job=job, backend=backend, shard_dir=tmp_path)
    finally:
        backend.close()
    assert out["row_id"].tolist() == ["a", "b"]
    assert (out["narrative"].str.len() > 0).all()
    assert (out["completion_tokens"] > 0).all()


@pytest.mark.slow
def test_prompt_longer_than_the_server_context_is_a_params_error(server_url: str, sim_rows: pd.DataFrame) -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    one = template.render(sim_rows.iloc[0].to_dict(), prompt_format="completion")
    assert one.text is not None
    prompt = Prompt(text=one.text * 2)  # ~2,000 tokens > the server's 1,024
    backend = ServerBackend(urls=[server_url], concurrency=1, retries=2, timeout_s=120)
    try:
        with pytest.raises(ParamsError, match="does not fit the context window"):
            backend.generate([Request(prompt, seed=1)], sampling=Sampling(16, 0.7, 0.9, ("\n",)))
    finally:
        backend.close()


@pytest.mark.slow
def test_concurrency_0_counts_one_request_per_server_without_props(server_url: str) -> None:
    # llama_cpp.server has no /props (llama-server's total_slots): one request in flight per server.
    backend = ServerBackend(urls=[server_url, server_url + "/"], concurrency=0, retries=2, timeout_s=120)
    try:
        assert backend.concurrency == 2
    finally:
        backend.close()


@pytest.mark.slow
def test_a_follow_up_is_sent_as_soon_as_its_answer_arrives(
    server_url: str, small_prompts: Path, sim_rows: pd.DataFrame
) -> None:
    template = load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1")
    prompts = [template.render(r, prompt_format="completion") for r in sim_rows.head(2).to_dict(orient="records")]
    seen: list[tuple[int, str]] = []

    def follow_up(i: int, gen: Generation) -> Request | None:
        seen.append((i, gen.text))
        return Request(prompts[0], seed=900) if i == 0 and len([j for j, _ in seen if j == 0]) == 1 else None

    backend = ServerBackend(urls=[server_url], concurrency=2, retries=2, timeout_s=120)
    try:
        backend.generate_until_done(
            [Request(p, seed=1) for p in prompts], sampling=Sampling(16, 1.0, 0.95, ("\n",)), follow_up=follow_up
        )
    finally:
        backend.close()
    assert sorted(i for i, _ in seen) == [0, 0, 1]
    first, retry = [t for i, t in seen if i == 0]
    assert retry and retry != first  # the follow-up's own seed, not the first answer again
