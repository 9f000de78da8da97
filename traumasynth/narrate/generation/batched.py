"""Continuous batching on llama.cpp's low-level API: several sequences decoded at once.

One ``llama_decode`` call advances every sequence in flight by one token, so the weights are
read once per step for all of them; on a CPU that is what makes 8 sequences ~2.5x faster
than 1. The shared start of the prompts (the few-shot block) is evaluated once into
sequence 0 and copied to each slot with ``llama_memory_seq_cp`` (a unified KV cache stores
it once); a slot then evaluates only its row's suffix. A sequence that ends (EOS, a stop
string, ``max_tokens``) frees its slot for the next request at once.

Every request has its own sampler chain seeded with the request's seed, so its text does not
depend on which slot or step it ran in. The logits themselves may differ in their last bits
with the batch around them (llama.cpp's CPU kernels are not batch-invariant), so the
guarantee is: same requests in the same order, same ``n_seq`` => same texts, whatever ran
before. ``BatchedDecoder.generate`` starts every call from the same cache (the saved prefix
state loaded into an emptied cache) to keep that true.
"""

from __future__ import annotations

import ctypes
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_cpp._utils import suppress_stdout_stderr

from traumasynth.core.errors import NarratorUnavailableError
from traumasynth.narrate.generation.number_guard import NumberGuard
from traumasynth.narrate.generation.prompt_cache import PromptCache
from traumasynth.narrate.generation.sequences import BatchResult, CallState, OnResult, Slot, common_prefix

logger = logging.getLogger(__name__)

#: llama-cpp-python's defaults for ``create_completion`` that the sequential path uses too:
#: the batched path builds the same sampler chain (top_k, typical, top_p, min_p, temp, dist).
TOP_K = 40
MIN_P = 0.05
TYPICAL_P = 1.0
#: The KV cache is allocated in multiples of this many cells.
_CTX_ROUND = 256
#: Most tokens llama.cpp computes at once (its micro-batch).
_UBATCH = 512
#: Bytes at the end of a sequence's text that its number guard reads (the number being written and what precedes it).
_GUARD_TAIL = 48


class BatchedDecoder:
    """Up to ``n_seq`` sequences of one model decoded together in their own llama.cpp context.

    Args:
        llama_cpp: the imported ``llama_cpp`` module (low-level bindings).
        model: the loaded ``llama_model`` pointer (shared with the sequential context).
        vocab: the model's ``llama_vocab`` pointer.
        n_seq: sequences in flight at once.
        n_threads: CPU threads for generation and prompt processing.
        n_gpu_layers: >0 or -1 when layers live on a GPU (the KV cache then goes there too).
        prompt_cache: where the shared prefix's KV state is saved for later runs (None: kept in
            memory only).
    """

    def __init__(
        self,
        *,
        llama_cpp: Any,
        model: Any,
        vocab: Any,
        n_seq: int,
        n_threads: int,
        n_gpu_layers: int,
        prompt_cache: PromptCache | None = None,
    ):
        self._ll = llama_cpp
        self._model = model
        self._vocab = vocab
        self.n_seq = n_seq
        self._n_threads = n_threads
        self._offload = n_gpu_layers != 0
        self._ctx: Any = None
        self._ctx_size = 0
        self._batch: Any = None
        self._prefix: list[int] = []
        self._prefix_state: Any = None
        self._prompt_cache = prompt_cache
        #: How the prefix's state was last obtained: "evaluated", "disk" or "memory".
        self.prefix_source = ""
        self._piece = ctypes.create_string_buffer(256)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)

    # -- context and cache -------------------------------------------------------------------

    def _ensure_context(self, n_cells: int) -> None:
        """A context with at least ``n_cells`` KV cells (recreated, empty, when too small)."""
        if self._ctx is not None and self._ctx_size >= n_cells:
            return
        self._free_context()
        size = -(-n_cells // _CTX_ROUND) * _CTX_ROUND
        ll = self._ll
        params = ll.llama_context_default_params()
        params.n_ctx = size
        params.n_batch = size  # one llama_decode call may carry every slot's suffix; llama.cpp splits it
        params.n_ubatch = min(_UBATCH, size)
        params.n_seq_max = self.n_seq + 1  # sequence 0 holds the shared prefix
        params.n_threads = self._n_threads
        params.n_threads_batch = self._n_threads
        params.kv_unified = True  # the prefix is stored once and attended by every slot
        # Sliding-window layers (Gemma 3: 5 of 6) keep only their window's cells, so their attention
        # reads fewer cells than the full cache; cells outside the window are masked either way.
        # 48 rows, 16 sequences, 2 cores: 89 -> 97 tokens/s, 51.4 tokens a note both ways. A separate
        # cache per sequence (kv_unified off) was slower: 92.
        params.swa_full = False  # (this layout is named in _context_key: change both together)
        params.offload_kqv = self._offload
        params.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as llama_cpp.Llama's default
        params.no_perf = True
        with suppress_stdout_stderr(disable=False):  # as llama_cpp.Llama(verbose=False): no notices on stderr
            ctx = ll.llama_init_from_model(self._model, params)
        if not ctx:
            raise NarratorUnavailableError(
                f"llama.cpp could not create a context of {size} tokens for {self.n_seq} parallel sequences "
                f"(out of memory?). Lower narrate.parallel or narrate.max_tokens."
            )
        self._ctx, self._ctx_size = ctx, size
        self._batch = ll.llama_batch_init(size, 0, 1)

    def _free_context(self) -> None:
        if self._batch is not None:
            self._ll.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx is not None:
            self._ll.llama_free(self._ctx)
            self._ctx = None
        self._ctx_size = 0
        self._prefix, self._prefix_state = [], None

    def _memory(self) -> Any:
        return self._ll.llama_get_memory(self._ctx)

    def _decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """Decode (token, position, sequence, wants_logits) entries in one call."""
        b = self._batch
        for i, (tok, pos, seq, logits) in enumerate(entries):
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        b.n_tokens = len(entries)
        rc = self._ll.llama_decode(self._ctx, b)
        if rc != 0:
            raise NarratorUnavailableError(
                f"llama_decode failed (code {rc}{': no room in the KV cache' if rc == 1 else ''}) with "
                f"{len(entries)} tokens in the batch. Lower narrate.parallel, or report this as a bug."
            )

    def _set_prefix(self, prefix: list[int]) -> None:
        """Make the cache hold exactly ``prefix``, in sequence 0.

        The prefix's KV state is read from the prompt cache on disk, or else evaluated once,
        saved in memory and on disk; every call then empties the cache and loads that state (a
        memory copy). A loaded state and a freshly evaluated one give logits that differ in
        their last bits, so even the first call loads it: every call starts from the same
        cache, whatever ran before or wherever the state came from, and the same requests give
        the same texts.
        """
        ll, mem = self._ll, self._memory()
        ll.llama_memory_clear(mem, True)
        if not prefix:
            self._prefix, self._prefix_state = [], None
            return
        source = "memory"
        if prefix != self._prefix:
            self._prefix, self._prefix_state = list(prefix), self._state_from_disk(prefix)
            source = "disk"
            if self._prefix_state is None:
                self._prefix_state = self._evaluated_state(prefix)
                source = "evaluated"
        if self._load_state():
            self.prefix_source = source
            return
        if source == "disk":
            logger.info("llama.cpp refused the saved prompt state: evaluating the prefix again")
            ll.llama_memory_clear(mem, True)
            self._prefix_state = self._evaluated_state(prefix)  # saved again, over the refused file
            if self._load_state():
                self.prefix_source = "evaluated"
                return
        ll.llama_memory_clear(mem, True)
        self._eval_prefix(prefix)
        self.prefix_source = "evaluated"

    def _load_state(self) -> bool:
        state = self._prefix_state
        return state is not None and self._ll.llama_state_seq_set_data(self._ctx, state, len(state), 0) == len(state)

    def _context_key(self) -> str:
        """What besides the model and the tokens shapes a saved state: this context's layout."""
        return f"ctx={self._ctx_size} seq={self.n_seq} ubatch={min(_UBATCH, self._ctx_size)} unified swa=window"

    def _state_from_disk(self, prefix: list[int]) -> Any:
        if self._prompt_cache is None:
            return None
        data = self._prompt_cache.load(prefix, context=self._context_key())
        return None if data is None else (ctypes.c_uint8 * len(data)).from_buffer_copy(data)

    def _evaluated_state(self, prefix: list[int]) -> Any:
        """Evaluate ``prefix`` into sequence 0 and return its saved KV state (None if llama.cpp cannot save it)."""
        ll = self._ll
        self._eval_prefix(prefix)
        size = ll.llama_state_seq_get_size(self._ctx, 0)
        state = (ctypes.c_uint8 * size)()
        ok = ll.llama_state_seq_get_data(self._ctx, state, size, 0) == size
        ll.llama_memory_clear(self._memory(), True)
        if not ok:
            logger.warning("llama.cpp could not save the prompt prefix: it is evaluated again for each batch")
            return None
        if self._prompt_cache is not None:
            self._prompt_cache.save(prefix, bytes(state), context=self._context_key())
        return state

    def _eval_prefix(self, prefix: list[int]) -> None:
        step = self._ctx_size
        for s in range(0, len(prefix), step):
            self._decode([(t, s + j, 0, False) for j, t in enumerate(prefix[s : s + step])])

    # -- sampling ----------------------------------------------------------------------------

    def _sampler(self, *, seed: int, temperature: float, top_p: float) -> Any:
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if temperature <= 0.0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
            return chain
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(TOP_K))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_typical(TYPICAL_P, 1))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(top_p, 1))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_min_p(MIN_P, 1))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(temperature))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain

    def _piece_of(self, token: int) -> bytes:
        n = self._ll.llama_token_to_piece(self._vocab, token, self._piece, len(self._piece), 0, False)
        if n < 0:  # a piece longer than the buffer
            self._piece = ctypes.create_string_buffer(-n)
            n = self._ll.llama_token_to_piece(self._vocab, token, self._piece, len(self._piece), 0, False)
        return self._piece.raw[:n]

    # -- generation --------------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[list[int]],
        seeds: Sequence[int],
        *,
        max_tokens: int,
        temperature: float,
        top_p: float,
        stop: Sequence[str],
        n_prefix: int | None = None,
        on_result: OnResult | None = None,
        guards: Sequence[NumberGuard | None] | None = None,
    ) -> list[BatchResult]:
        """One completion per tokenized prompt, in order.

        Args:
            prompts: token ids of each prompt (BOS included).
            seeds: the sampler seed of each prompt.
            max_tokens: most tokens generated per prompt.
            temperature: 0 = greedy.
            top_p: nucleus threshold.
            stop: strings that end a completion (left out of its text).
            n_prefix: tokens every prompt shares that are evaluated once (None: their longest
                common prefix). Give the same value for every call that shares the few-shot
                block, so its cached state is reused rather than evaluated again.
            on_result: called with (prompt index, result) as each sequence finishes; it may
                return a follow-up (prompt tokens, seed) for the same index (the row's next
                candidate), which takes the next free slot before any waiting prompt, so a
                retry runs while the batch is still full rather than in a round of its own.
                The returned list then holds each index's last result.
            guards: each prompt's number guard (None: its numbers are free), kept by its follow-ups.

        Raises:
            NarratorUnavailableError: llama.cpp could not allocate or decode.
            ValueError: a follow-up does not start with the shared prefix, or is longer than the
                longest prompt (the KV cache is sized for those).
        """
        if not prompts:
            return []
        n_pre = common_prefix(prompts)
        if n_prefix is not None:
            n_pre = min(n_pre, n_prefix)
        longest = max(len(p) - n_pre for p in prompts) + max_tokens
        self._ensure_context(n_pre + self.n_seq * longest + _CTX_ROUND)
        call = CallState(
            prefix=list(prompts[0][:n_pre]),
            max_prompt=n_pre + longest - max_tokens,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stops=[s.encode("utf-8") for s in stop if s],
            on_result=on_result,
            queue=deque((i, list(p), seeds[i]) for i, p in enumerate(prompts)),
            results=[None] * len(prompts),
            free=list(range(self.n_seq, 0, -1)),  # pop() hands out the lowest free sequence id first
            guards=list(guards) if guards is not None else [None] * len(prompts),
        )
        try:
            self._set_prefix(call.prefix)
            mem = self._memory()
            while call.queue or call.active:
                self._admit(call, mem)
                self._step(call.active)
                self._finish(call, mem)
        except BaseException:
            for slot in call.active:
                if slot.sampler is not None:  # a finished slot's sampler is already freed
                    self._ll.llama_sampler_free(slot.sampler)
            self._ll.llama_memory_clear(self._memory(), True)
            raise
        return [r for r in call.results if r is not None]

    def _admit(self, call: CallState, mem: Any) -> None:
        """Start waiting prompts in the free slots: the prefix copied into the slot, a sampler of its own."""
        n_pre = len(call.prefix)
        while call.queue and call.free:
            i, tokens, seed = call.queue.popleft()
            seq = call.free.pop()
            self._ll.llama_memory_seq_cp(mem, 0, seq, -1, -1)
            sampler = self._sampler(seed=seed, temperature=call.temperature, top_p=call.top_p)
            call.active.append(Slot(seq, i, sampler, len(tokens), n_pre, tokens[n_pre:], guard=call.guards[i]))
        call.active.sort(key=lambda s: s.seq)  # a fixed batch layout: same requests, same batch

    def _step(self, active: Sequence[Slot]) -> None:
        """Decode every active slot's pending tokens in one call, logits at each slot's last token."""
        entries: list[tuple[int, int, int, bool]] = []
        for slot in active:
            last = len(slot.pending) - 1
            entries += [(t, slot.n_past + j, slot.seq, j == last) for j, t in enumerate(slot.pending)]
            slot.n_past += len(slot.pending)
            slot.logit_at = len(entries) - 1
        self._decode(entries)

    def _finish(self, call: CallState, mem: Any) -> None:
        """Sample each active slot's next token; free the slots whose sequence ended and queue their follow-ups."""
        still: list[Slot] = []
        for slot in call.active:
            if slot.guard is not None:
                self._mask(slot)
            token = self._ll.llama_sampler_sample(slot.sampler, self._ctx, slot.logit_at)
            done, text = self._advance(slot, token, stops=call.stops, max_tokens=call.max_tokens)
            if not done:
                still.append(slot)
                continue
            result = call.results[slot.index] = BatchResult(text, len(slot.tokens), slot.n_prompt)
            self._release(slot, mem)
            call.free.append(slot.seq)
            call.free.sort(reverse=True)
            follow = call.on_result(slot.index, result) if call.on_result is not None else None
            if follow is not None:
                tokens, seed = follow
                n_pre = len(call.prefix)
                if tokens[:n_pre] != call.prefix or not n_pre < len(tokens) <= call.max_prompt:
                    raise ValueError(
                        "A follow-up must start with the shared prefix, no longer than the longest prompt."
                    )
                call.queue.appendleft((slot.index, list(tokens), seed))
        call.active = still

    def _mask(self, slot: Slot) -> None:
        """Apply ``slot``'s number guard to its logits in the context, which the sampler then reads."""
        assert slot.guard is not None
        logits = np.ctypeslib.as_array(self._ll.llama_get_logits_ith(self._ctx, slot.logit_at), shape=(self._n_vocab,))
        slot.guard.apply(logits, bytes(slot.text[-_GUARD_TAIL:]).decode("utf-8", errors="ignore"))

    def _advance(self, slot: Slot, token: int, *, stops: Sequence[bytes], max_tokens: int) -> tuple[bool, str]:
        """Append ``token`` to ``slot``; whether the sequence is finished, and its text if so."""
        if self._ll.llama_vocab_is_eog(self._vocab, token):
            return True, slot.text.decode("utf-8", errors="ignore")
        slot.tokens.append(token)
        slot.text += self._piece_of(token)
        hits = [pos for s in stops if (pos := slot.text.find(s)) >= 0]
        if hits:
            return True, bytes(slot.text[: min(hits)]).decode("utf-8", errors="ignore")
        if len(slot.tokens) >= max_tokens:
            return True, slot.text.decode("utf-8", errors="ignore")
        slot.pending = [token]
        return False, ""

    def _release(self, slot: Slot, mem: Any) -> None:
        self._ll.llama_memory_seq_rm(mem, slot.seq, -1, -1)
        self._ll.llama_sampler_free(slot.sampler)
        slot.sampler = None

    def close(self) -> None:
        """Free the context and its KV cache (the model belongs to the caller)."""
        self._free_context()
