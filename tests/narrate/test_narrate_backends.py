"""Backends with real llama.cpp and the embedded model, and their errors on bad input."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from tests.narrate.conftest import PROMPTS
from traumasynth.core.errors import NarratorUnavailableError, ParamsError
from traumasynth.narrate.generation.backend import Request, Sampling
from traumasynth.narrate.generation.in_process import LlamaCppBackend
from traumasynth.narrate.generation.modelfile import model_sha256, resolve_model_path
from traumasynth.narrate.generation.server import ServerBackend
from traumasynth.narrate.prompts.templates import Prompt, load_prompt

SAMPLING = Sampling(max_tokens=16, temperature=0.8, top_p=0.95, stop=("\n",))


def test_in_process_generation_is_seeded(backend: LlamaCppBackend) -> None:
    prompt = Prompt(text="Facts: 34-year-old man, fall, at home, Triage 4\nNote:")
    first, other, again = backend.generate(
        [Request(prompt, seed=1), Request(prompt, seed=2), Request(prompt, seed=1)], sampling=SAMPLING
    )
    assert first.text.strip() and first.completion_tokens > 0 and first.prompt_tokens > 5
    assert again.text == first.text  # same seed, same text (prefix cache reuse does not change it)
    assert other.text != first.text


def test_context_too_small_for_the_prompt(model_path: Path, sim_rows) -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    prompt = template.render(sim_rows.iloc[0].to_dict(), prompt_format="completion")
    small = LlamaCppBackend(model_path=model_path, n_ctx=256, n_threads=1, n_gpu_layers=0, seed=1)
    try:
        with pytest.raises(
            ParamsError, match=r"does not fit the context window narrate.n_ctx=256.*Raise narrate.n_ctx"
        ):
            small.generate([Request(prompt, seed=1)], sampling=SAMPLING)
    finally:
        small.close()


def test_missing_model_path_says_how_to_get_medgemma(tmp_path: Path) -> None:
    with pytest.raises(NarratorUnavailableError, match=r"not found.*medgemma-27b-it.*narrate.model_path: \"\""):
        resolve_model_path(str(tmp_path / "medgemma-27b-it-Q4_K_M.gguf"))


def test_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(NarratorUnavailableError, match="not a GGUF model file"):
        resolve_model_path(str(fake))


def test_corrupt_gguf_is_refused_by_llama_cpp(tmp_path: Path, model_path: Path) -> None:
    corrupt = tmp_path / "truncated.gguf"
    corrupt.write_bytes(model_path.read_bytes()[:4096])  # right magic, truncated body
    path = resolve_model_path(str(corrupt))
    with pytest.raises(NarratorUnavailableError, match="could not load .*corrupt, truncated"):
        LlamaCppBackend(model_path=path, n_ctx=256, n_threads=1, n_gpu_layers=0, seed=1)


def test_model_sha256_is_cached_by_path_size_and_mtime(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 100)
    cache = tmp_path / "cache.json"
    first = model_sha256(model, cache_file=cache)
    assert first == hashlib.sha256(model.read_bytes()).hexdigest() and cache.is_file()
    cache.write_text(cache.read_text().replace(first, "f" * 64))  # the cache, not the file, answers now
    assert model_sha256(model, cache_file=cache) == "f" * 64
    model.write_bytes(b"GGUF" + b"\1" * 100)  # new content, size same, new mtime: hashed again
    assert model_sha256(model, cache_file=cache) not in (first, "f" * 64)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_raises_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(
        NarratorUnavailableError, match=r"No llama.cpp server answered .* after 2 tries.*llama_cpp.server"
    ):
        ServerBackend(urls=[url], concurrency=2, retries=2, timeout_s=2, backoff_s=0.01)


def test_chat_format_uses_the_model_chat_template(backend: LlamaCppBackend, sim_rows) -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    messages = template.render(sim_rows.iloc[0].to_dict(), prompt_format="chat").messages
    assert messages is not None
    short = Prompt(messages=(messages[0], messages[1], messages[2], messages[-1]))  # system, one example, the row
    (gen,) = backend.generate([Request(short, seed=3)], sampling=SAMPLING)
    assert gen.text.strip() and gen.completion_tokens > 0
