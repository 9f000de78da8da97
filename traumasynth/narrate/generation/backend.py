"""What every narration backend offers: requests in, one generation per request out, in order.

The backends: ``in_process.LlamaCppBackend`` (llama.cpp in this process) and
``server.ServerBackend`` (llama.cpp server(s) over HTTP).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from traumasynth.core.errors import ParamsError
from traumasynth.narrate.generation.number_guard import FiguresAfter
from traumasynth.narrate.prompts.templates import Prompt


@dataclass(frozen=True)
class Sampling:
    """Sampling settings shared by every request of a run."""

    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]


@dataclass(frozen=True)
class Request:
    """One generation: a prompt, the seed of its sampler, and the numbers its note may write.

    ``numbers`` gives the number guard (``number_guard.py``) the figures the note may write after
    a given text (None: any number). Backends that cannot mask tokens step by step (servers)
    ignore it.
    """

    prompt: Prompt
    seed: int
    numbers: FiguresAfter | None = None


@dataclass(frozen=True)
class Generation:
    """A generated text and its token counts."""

    text: str
    completion_tokens: int
    prompt_tokens: int


#: Called with (request index, its generation); returns that row's next request (its next
#: candidate), or None when the row is done.
FollowUp = Callable[[int, Generation], "Request | None"]


class NarratorBackend(Protocol):
    """What the runner needs from a backend."""

    name: str
    #: Seconds spent waiting for another narration on this machine's CPU (not narrating).
    lock_wait_seconds: float

    def generate(self, requests: Sequence[Request], *, sampling: Sampling) -> list[Generation]:
        """One generation per request, in the same order."""
        ...

    def generate_until_done(self, requests: Sequence[Request], *, sampling: Sampling, follow_up: FollowUp) -> None:
        """Generate every request and each follow-up that ``follow_up`` asks for, until it asks for none."""
        ...

    def close(self) -> None:
        """Free the model or the connections."""
        ...


def generate_in_rounds(
    backend: NarratorBackend, requests: Sequence[Request], *, sampling: Sampling, follow_up: FollowUp
) -> None:
    """``generate_until_done`` in rounds: each round is one ``generate`` call over the follow-ups of the last."""
    pending = list(enumerate(requests))
    while pending:
        gens = backend.generate([r for _, r in pending], sampling=sampling)
        follow = [(i, follow_up(i, gen)) for (i, _), gen in zip(pending, gens, strict=True)]
        pending = [(i, nxt) for i, nxt in follow if nxt is not None]


def context_error(n_prompt: int | str, max_tokens: int, n_ctx: int | str) -> ParamsError:
    """The error of a prompt that, with ``max_tokens``, does not fit the context window ``n_ctx``."""
    return ParamsError(
        f"The prompt ({n_prompt} tokens) plus narrate.max_tokens ({max_tokens}) does not fit the context window "
        f"narrate.n_ctx={n_ctx}. Raise narrate.n_ctx (e.g. to 4096; the server's -c/--n_ctx too), lower "
        f"narrate.max_tokens, or use a prompt version with fewer examples."
    )
