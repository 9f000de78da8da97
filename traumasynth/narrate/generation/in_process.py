"""llama.cpp in this process: the narration backend ``narrate.backend: llama_cpp``.

It decodes ``parallel`` completion prompts at once (continuous batching,
``batched.BatchedDecoder``; the shared few-shot prefix is evaluated once), or, with
``parallel: 1`` and for chat prompts, runs them one after the other through
``llama_cpp.Llama`` (which keeps the KV cache of the shared prefix between calls).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from traumasynth.core.errors import NarratorUnavailableError
from traumasynth.narrate.generation.backend import (
    FollowUp,
    Generation,
    Request,
    Sampling,
    context_error,
    generate_in_rounds,
)
from traumasynth.narrate.generation.batched import BatchedDecoder
from traumasynth.narrate.generation.cpu_lock import cpu_narration
from traumasynth.narrate.generation.number_guard import DigitVocab, NumberGuard
from traumasynth.narrate.generation.prompt_cache import PromptCache, default_dir, model_identity
from traumasynth.narrate.generation.sequences import BatchResult
from traumasynth.narrate.prompts.templates import Prompt

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


def resolve_threads(n_threads: int) -> int:
    """``n_threads``, or every available core when 0; never more threads than available cores.

    llama.cpp's threads spin while they wait: more threads than cores make every thread wait
    for a descheduled one, and generation runs many times slower.
    """
    cores = available_cores()
    if n_threads <= 0:
        return cores
    if n_threads > cores:
        logger.warning("narrate.n_threads=%d but only %d core(s) are available: using %d", n_threads, cores, cores)
        return cores
    return n_threads


class LlamaCppBackend:
    """llama.cpp in this process.

    Completion prompts are decoded ``parallel`` at a time in one batch (continuous batching;
    see ``traumasynth.narrate.generation.batched``). With ``parallel=1``, and always for chat prompts,
    requests run one after the other through ``llama_cpp.Llama``: consecutive prompts that
    share their start reuse its KV cache (the longest common token prefix), so the few-shot
    block is evaluated once per run.
    """

    name = "llama_cpp"
    lock_wait_seconds = 0.0

    def __init__(
        self,
        *,
        model_path: Path,
        n_ctx: int,
        n_threads: int,
        n_gpu_layers: int,
        seed: int,
        parallel: int = 1,
    ) -> None:
        """Load the model.

        Args:
            model_path: the GGUF file.
            n_ctx: context window of one request (prompt plus ``max_tokens``).
            n_threads: CPU threads (0 = every available core; capped at the available cores).
            n_gpu_layers: layers offloaded to a GPU (0 = none, -1 = all).
            seed: default seed of ``llama_cpp.Llama`` (every request brings its own).
            parallel: sequences decoded at once; 1 = one after the other.

        Raises:
            NarratorUnavailableError: llama-cpp-python is missing or cannot load the file.
        """
        try:
            import llama_cpp
            from llama_cpp import Llama
        except ImportError as exc:
            raise NarratorUnavailableError(
                "llama-cpp-python is not installed. Run `pip install -e .` (CPU), or for a GPU "
                'CMAKE_ARGS="-DGGML_CUDA=on" pip install --no-binary llama-cpp-python llama-cpp-python==0.3.36.'
            ) from exc
        self.n_ctx = n_ctx
        self._on_gpu = n_gpu_layers != 0
        self.n_threads = resolve_threads(n_threads)
        self.parallel = parallel
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_gpu_layers=n_gpu_layers,
                seed=seed,
                verbose=False,
            )
        except ValueError as exc:  # llama-cpp-python raises ValueError when llama.cpp cannot load the file
            raise NarratorUnavailableError(
                f"llama.cpp could not load {model_path} ({exc}). The file is corrupt, truncated or from a newer "
                f"llama.cpp than llama-cpp-python 0.3.36 understands; download it again or set "
                f'narrate.model_path: "" to use the embedded default model.'
            ) from exc
        self._batched = (
            BatchedDecoder(
                llama_cpp=llama_cpp,
                model=self._llm.model,
                vocab=llama_cpp.llama_model_get_vocab(self._llm.model),
                n_seq=parallel,
                n_threads=self.n_threads,
                n_gpu_layers=n_gpu_layers,
                prompt_cache=PromptCache(
                    default_dir(),
                    model=f"{model_identity(Path(model_path))}|llama-cpp-python {llama_cpp.__version__}|"
                    f"gpu_layers={n_gpu_layers}",
                ),
            )
            if parallel > 1
            else None
        )
        self._prefix_tokens: dict[str, int] = {}

    @functools.cached_property
    def _digit_vocab(self) -> DigitVocab | None:
        """The model's digit tokens, read on the first guarded request (None: the model cannot be guarded)."""
        vocab = DigitVocab.of(self._pieces())
        if vocab is None:
            logger.warning(
                "narrate.guard_numbers: this model has no token of its own for each digit, so numbers "
                "cannot be held to the row while it writes; the checker and the repair still apply."
            )
        return vocab

    def _guard(self, request: Request) -> NumberGuard | None:
        """The number guard of ``request`` (None when it brings no numbers or the model cannot be guarded)."""
        if request.numbers is None or self._digit_vocab is None:
            return None
        return NumberGuard(self._digit_vocab, request.numbers)

    def _pieces(self) -> Iterator[tuple[int, str]]:
        """(token id, text) of every token of the model's vocabulary."""
        for token in range(self._llm.n_vocab()):
            yield token, self._llm.detokenize([token]).decode("utf-8", errors="replace")

    def _tokens(self, text: str) -> list[int]:
        # As create_completion: BOS, then the text with special tokens parsed.
        return self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def _shared_tokens(self, prompts: Sequence[Prompt]) -> int | None:
        """Tokens of the prompts' common ``shared_prefix`` (None when they name none or differ).

        Counted from the prefix's own tokens, not the longest common prefix of the batch, so
        every call of a run evaluates the same prefix once: a batch whose rows happen to
        start alike would otherwise move the boundary and evaluate it again.
        """
        hints = {p.shared_prefix for p in prompts}
        if len(hints) != 1 or (hint := hints.pop()) is None:
            return None
        if hint not in self._prefix_tokens:
            # The last token of the prefix alone may merge with the row's text ("\n\n" + "Facts"):
            # it is left to each row's suffix.
            self._prefix_tokens[hint] = max(len(self._tokens(hint)) - 1, 0)
        return self._prefix_tokens[hint]

    def _check_fits(self, prompt: Prompt, max_tokens: int) -> list[int] | None:
        """The prompt's tokens (None for chat prompts), or ParamsError if it cannot fit."""
        if prompt.text is None:
            return None  # chat prompts are measured by llama.cpp itself (ValueError below)
        tokens = self._tokens(prompt.text)
        if len(tokens) + max_tokens > self.n_ctx:
            raise context_error(len(tokens), max_tokens, self.n_ctx)
        return tokens

    def generate(self, requests: Sequence[Request], *, sampling: Sampling) -> list[Generation]:
        """Generate; see ``NarratorBackend.generate``.

        Completion prompts go to the batched decoder when ``parallel > 1``; the others run
        sequentially, each in its place in the output.

        Raises:
            ParamsError: a prompt does not fit the context window.
        """
        tokens = [self._check_fits(r.prompt, sampling.max_tokens) for r in requests]
        with self._turn():
            return self._generate(requests, tokens, sampling)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """This narration's turn on the CPU: one CPU narration at a time on this machine (generation/cpu_lock.py)."""
        if self._on_gpu:
            yield
            return
        with cpu_narration() as waited:
            self.lock_wait_seconds += waited
            yield

    def _decode(
        self,
        requests: Sequence[Request],
        tokens: Sequence[list[int]],
        sampling: Sampling,
        on_result: Callable[[int, BatchResult], tuple[list[int], int] | None] | None = None,
    ) -> list[BatchResult]:
        """Completion ``requests`` (their ``tokens``) through the batched decoder."""
        assert self._batched is not None
        return self._batched.generate(
            tokens,
            [r.seed for r in requests],
            guards=[self._guard(r) for r in requests],
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            stop=sampling.stop,
            n_prefix=self._shared_tokens([r.prompt for r in requests]),
            on_result=on_result,
        )

    def generate_until_done(self, requests: Sequence[Request], *, sampling: Sampling, follow_up: FollowUp) -> None:
        """See ``NarratorBackend.generate_until_done``.

        With the batched decoder and completion prompts, a follow-up takes the next free slot
        of the same batch as soon as its row's generation ends (no round of its own, so no
        second half-empty batch); otherwise the follow-ups run in rounds.

        Raises:
            ParamsError: a prompt does not fit the context window.
        """
        if self._batched is None or any(r.prompt.text is None for r in requests):
            generate_in_rounds(self, requests, sampling=sampling, follow_up=follow_up)
            return
        tokens = [self._check_fits(r.prompt, sampling.max_tokens) or [] for r in requests]

        def on_result(i: int, res: BatchResult) -> tuple[list[int], int] | None:
            nxt = follow_up(i, Generation(res.text, res.completion_tokens, res.prompt_tokens))
            if nxt is None:
                return None
            if nxt.prompt is requests[i].prompt:  # the row's next candidate: its prompt is tokenized already
                return tokens[i], nxt.seed
            if nxt.prompt.text is None:
                raise ValueError("A follow-up of a completion prompt must be a completion prompt.")
            return self._tokens(nxt.prompt.text), nxt.seed

        with self._turn():
            self._decode(requests, tokens, sampling, on_result)

    def _generate(
        self, requests: Sequence[Request], tokens: list[list[int] | None], sampling: Sampling
    ) -> list[Generation]:
        out: list[Generation | None] = [None] * len(requests)
        if self._batched is not None:
            batch = [i for i, t in enumerate(tokens) if t is not None]
            done = self._decode([requests[i] for i in batch], [t for t in tokens if t is not None], sampling)
            for i, res in zip(batch, done, strict=True):
                out[i] = Generation(res.text, res.completion_tokens, res.prompt_tokens)
        for i, req in enumerate(requests):
            if out[i] is None:
                out[i] = self._one(req, sampling)
        return [g for g in out if g is not None]

    def _one(self, req: Request, sampling: Sampling) -> Generation:
        """One request through ``llama_cpp.Llama`` (sequential path)."""
        kwargs: dict[str, Any] = {
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": req.seed,
        }
        if (guard := self._guard(req)) is not None:
            kwargs["logits_processor"] = self._guarding(guard)
        try:
            if req.prompt.text is not None:
                res: Any = self._llm.create_completion(req.prompt.text, stop=list(sampling.stop), **kwargs)
                text = res["choices"][0]["text"]
            else:
                messages: Any = list(req.prompt.messages or ())  # {"role", "content"} dicts, as llama.cpp takes
                res = self._llm.create_chat_completion(messages=messages, **kwargs)
                text = res["choices"][0]["message"]["content"] or ""
        except ValueError as exc:  # "Requested tokens (N) exceed context window of M"
            if "context window" in str(exc):
                raise context_error("?", sampling.max_tokens, self.n_ctx) from exc
            raise
        usage = res.get("usage", {})
        return Generation(text, int(usage.get("completion_tokens", 0)), int(usage.get("prompt_tokens", 0)))

    def _guarding(self, guard: NumberGuard) -> Any:
        """``guard`` as a llama-cpp-python logits processor of one request (its first call sees only the prompt)."""
        from llama_cpp import LogitsProcessorList

        n_prompt: list[int] = []

        def mask(input_ids: Any, scores: Any) -> Any:
            if not n_prompt:
                n_prompt.append(len(input_ids))
            written = self._llm.detokenize(list(input_ids[n_prompt[0] :])).decode("utf-8", errors="ignore")
            guard.apply(scores, written)
            return scores

        return LogitsProcessorList([mask])

    def close(self) -> None:
        """Free the model's memory."""
        if self._batched is not None:
            self._batched.close()
        self._llm.close()
