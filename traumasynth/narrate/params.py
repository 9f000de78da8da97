"""The ``narrate`` section of params.yaml."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from traumasynth.core.params import FrozenParams

#: Keys that change what is generated: a change invalidates finished shards.
#: Speed and transport keys (n_threads, n_gpu_layers, server_urls, request_concurrency,
#: retries, request_timeout_s, n_ctx) do not. ``parallel`` does: llama.cpp's logits differ in
#: their last bits with the batch a sequence is decoded in, which can change a sampled token.
GENERATION_KEYS: tuple[str, ...] = (
    "backend",
    "parallel",
    "n_candidates",
    "repair",
    "guard_numbers",
    "max_tokens",
    "temperature",
    "top_p",
    "prompt_format",
    "prompt_version",
    "spec_examples",
    "n_rows",
    "shard_size",
)


class NarrateParams(FrozenParams):
    """Section ``narrate``: how synthetic rows get their clinical narrative.

    Attributes:
        backend: ``llama_cpp`` (model loaded in this process) or ``server`` (OpenAI-compatible
            llama.cpp server(s) at ``server_urls``).
        model_path: GGUF file; "" = the embedded default (Gemma 3 270M Q4_K_M).
        server_urls: base URLs of llama.cpp servers, e.g. ``http://127.0.0.1:8080``.
        n_gpu_layers: layers offloaded to the GPU (0 = CPU only, -1 = all).
        n_ctx: context window in tokens; must hold the few-shot prompt plus ``max_tokens``.
        n_threads: CPU threads of the in-process backend; 0 = every core this process may use
            (its affinity mask). Never more than those cores: llama.cpp's threads spin, and
            oversubscribed they run many times slower.
        parallel: sequences the in-process backend decodes at once (continuous batching over
            the rows of a shard; the few-shot prefix is evaluated once). 1 = one after the
            other through ``llama_cpp.Llama``. Chat prompts always run one after the other.
        n_candidates: narratives tried per row (different seeds); the most faithful is kept.
            A row gets another try only while its (repaired) note still contradicts, invents, loops
            or omits a fact.
        repair: cut a note's loop and the clauses that contradict its row or state a number, date,
            time or code it does not hold, then check the note again (``narrate/checking/repair.py``);
            off = keep or reject whole notes. Either way a row whose every candidate still fails
            gets the fallback note written from its facts (``narrate/fallback.py``).
        guard_numbers: while a note is generated, mask every digit that would start or continue a
            number its row does not hold (``narrate/generation/number_guard.py``), so the note
            copies its figures from the row instead of the checker cutting them afterwards. In
            process only (the server backend cannot mask a request's tokens step by step); needs
            a token for each digit (Gemma and MedGemma write numbers digit by digit), else it is off
            with a warning.
        max_tokens: longest narrative, in tokens.
        temperature: sampling temperature.
        top_p: nucleus sampling threshold.
        prompt_format: ``completion`` (few-shot, base models) or ``chat`` (instruction-tuned models).
        prompt_version: folder under ``prompts/<dataset>/``.
        spec_examples: few-shot examples made up from the spec (never from data) for a dataset
            without a prompt folder (``narrate/spec_examples.py``); 0 = the zero-shot prompt.
        n_rows: rows narrated per synthetic file (the first n_rows); 0 writes an empty narratives
            file without loading a model (sweeps that evaluate tables only).
        shard_size: rows per shard file (a crash loses at most one shard of work).
        request_concurrency: requests in flight at once (server backend); 0 = the servers'
            parallel slots added up (llama-server's ``/props``; 1 per server without it).
        retries: tries per request before the server counts as unavailable.
        request_timeout_s: seconds to wait for one server response.
    """

    backend: Literal["llama_cpp", "server"] = "llama_cpp"
    model_path: str = ""
    server_urls: tuple[str, ...] = ()
    n_gpu_layers: int = Field(default=0, ge=-1)
    n_ctx: int = Field(default=2048, ge=64)
    n_threads: int = Field(default=0, ge=0)
    parallel: int = Field(default=16, ge=1, le=64)
    n_candidates: int = Field(default=3, ge=1, le=20)
    repair: bool = True
    guard_numbers: bool = True
    max_tokens: int = Field(default=110, ge=8)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    prompt_format: Literal["completion", "chat"] = "completion"
    prompt_version: str = Field(default="v1", min_length=1)
    spec_examples: int = Field(default=3, ge=0, le=10)
    n_rows: int = Field(default=100, ge=0)
    shard_size: int = Field(default=100, ge=1)
    request_concurrency: int = Field(default=0, ge=0)
    retries: int = Field(default=3, ge=1)
    request_timeout_s: float = Field(default=120.0, gt=0)

    @field_validator("server_urls")
    @classmethod
    def _http_only(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        # urllib opens file://, ftp:// and others too: a server URL must be http(s) with a host.
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{url!r} is not an http(s) server URL; use e.g. http://127.0.0.1:8080")
        return urls

    @model_validator(mode="after")
    def _server_needs_urls(self) -> NarrateParams:
        if self.backend == "server" and not self.server_urls:
            raise ValueError("backend `server` needs narrate.server_urls, e.g. [http://127.0.0.1:8080]")
        return self

    def generation_settings(self) -> dict[str, object]:
        """The keys that decide what is generated (part of the shard fingerprint)."""
        return {k: getattr(self, k) for k in GENERATION_KEYS}
