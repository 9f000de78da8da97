"""The bookkeeping of the sequences a ``batched.BatchedDecoder`` decodes together.

A ``generate`` call (``CallState``) queues its prompts, hands each a free sequence id (a
``Slot``) and collects each finished sequence's ``BatchResult`` in its prompt's place.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from traumasynth.narrate.generation.number_guard import NumberGuard


@dataclass
class Slot:
    """One sequence in flight: its slot (sequence id), its prompt's index, its sampler and what it wrote so far."""

    seq: int
    index: int
    sampler: Any
    n_prompt: int
    n_past: int
    pending: list[int]
    tokens: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    logit_at: int = -1
    guard: NumberGuard | None = None


@dataclass(frozen=True)
class BatchResult:
    """A finished sequence: its text (stop string excluded) and token counts."""

    text: str
    completion_tokens: int
    prompt_tokens: int


#: Called with (prompt index, its result); returns a follow-up (prompt tokens, seed) or None.
OnResult = Callable[[int, BatchResult], tuple[list[int], int] | None]


@dataclass
class CallState:
    """The settings and the state of one ``generate`` call."""

    prefix: list[int]  # the tokens every prompt shares, evaluated once
    max_prompt: int  # the longest prompt a follow-up may be (the KV cache is sized for it)
    max_tokens: int
    temperature: float
    top_p: float
    stops: list[bytes]
    on_result: OnResult | None
    queue: deque[tuple[int, list[int], int]]  # (prompt index, tokens, seed) waiting for a slot
    results: list[BatchResult | None]
    free: list[int]  # free sequence ids, highest first
    guards: list[NumberGuard | None] = field(default_factory=list)  # each prompt index's number guard
    active: list[Slot] = field(default_factory=list)


def common_prefix(token_lists: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every list, leaving each at least one token."""
    first = token_lists[0]
    n = min(len(t) for t in token_lists) - 1
    for other in token_lists[1:]:
        i = 0
        while i < n and other[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)
