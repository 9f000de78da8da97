"""Numbers held to the row while a note is generated: a digit no figure of the row starts is never sampled.

The checker (``checking/unsupported.py``) finds a number the row does not hold after the note is
written, and the repair cuts its clause, losing the words around it. The guard keeps the model
from writing it at all. Gemma's tokenizer (Gemma 3 270M, MedGemma) writes a number digit by
digit ("120" is "1" "2" "0"), so before each token of a sequence is sampled the guard reads the number the
sequence is writing (the digits at the end of its text) and masks:

- every digit that would start or continue a number that none of the row's figures starts with
  ("1" when no figure begins with 1);
- while the number written so far is not itself a figure of the row but starts one ("3" of
  "37.5"), every token but the digits and the decimal point that continue it, so that the number
  is finished as the row has it;
- a number right after a number and a full stop ("32. 87": the decimal the row lacks, written on
  as a new number);
- every token that holds another script's digits: Gemma 3 270M, its ASCII digits masked, wrote
  "SBP ٩٥ mmHg" for a row without a pressure;
- every token that mixes digits with other characters (in Gemma's vocabulary only "<h1>"...; a
  tokenizer with "2018" or "120" as one token, such as Llama 3's, is made to write digit by digit,
  which such a model does less well: the guard suits Gemma-family models best).

Which figures may be written is the caller's (``SupportRules.writable_numbers``), read from the
text before the number: after a column's name only that column's value at the precisions the
checker accepts ("HR 96", never "HR 99" when 99 is the SpO2); after "/" also the columns' upper
bounds ("GCS 14/15"); elsewhere any value of the row, the numbers of its category labels and of
its dates, 0 and 1. A digit right after a letter belongs to a code ("SpO2", "C5") and is left to
the checker, as are number words ("eighteen") and a unit after the number. The masking is the
sampler's input, so the sampling stays the request's own (same seed, same text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

DIGITS = "0123456789"
#: The number being written at the end of a text: digits, maybe a decimal point and more digits.
_RUN = re.compile(r"\d+(?:\.\d*)?$")
#: A number and a full stop end the text: no number may start right after ("32. 87" for a masked 32.5).
_AFTER_NUMBER_POINT = re.compile(r"\d\.\s*$")
#: What the guard asks of the row: the figures a number may be, given the text before it.
FiguresAfter = Callable[[str], frozenset[str]]


@dataclass(frozen=True)
class DigitVocab:
    """The token ids the guard masks, read once from a model's vocabulary.

    Attributes:
        digits: the tokens of each digit character (a vocabulary may hold two: the digit and its
            byte-fallback token "<0x35>").
        point: the tokens of ".".
        mixed: tokens holding a digit and anything else, or a decimal digit of another script
            (Arabic-Indic, full-width): masked whenever a guard is on.
    """

    digits: dict[str, tuple[int, ...]]
    point: tuple[int, ...]
    mixed: tuple[int, ...]

    @classmethod
    def of(cls, pieces: Iterable[tuple[int, str]]) -> DigitVocab | None:
        """From (token id, text) pairs; None when some digit has no token of its own (the guard cannot work)."""
        digits: dict[str, list[int]] = {d: [] for d in DIGITS}
        point: list[int] = []
        mixed: list[int] = []
        for token, text in pieces:
            if len(text) == 1 and text in DIGITS:
                digits[text].append(token)
            elif text == ".":
                point.append(token)
            elif any(c.isdecimal() for c in text):  # ASCII digits are decimal too
                mixed.append(token)  # also another script's digits ("٩٥" for a masked 95: seen)
        if not all(digits.values()):
            return None
        return cls({d: tuple(ids) for d, ids in digits.items()}, tuple(point), tuple(mixed))


class NumberGuard:
    """The mask of one row's note.

    Args:
        vocab: the model's digit tokens.
        figures_after: the numbers the note may write (as text: "54", "37.5", "05") after a given
            text (the note up to the number).
    """

    def __init__(self, vocab: DigitVocab, figures_after: FiguresAfter):
        self._vocab = vocab
        self._figures_after = figures_after
        self._starts: dict[frozenset[str], frozenset[str]] = {}
        self._mixed = np.asarray(vocab.mixed, dtype=np.int64)

    def next_characters(self, text: str) -> tuple[frozenset[str], bool] | None:
        """What may follow ``text``: None when anything may; else (the digits and decimal point that may
        come next, whether only those may: the number written so far is not complete)."""
        run_match = _RUN.search(text)
        run = run_match.group(0) if run_match else ""
        before = text[: run_match.start()] if run_match else text
        if before[-1:].isalpha():
            return None  # a code ("SpO2", "C5"): the checker's business
        if not run and _AFTER_NUMBER_POINT.search(before):
            return frozenset(), False  # "32. 87": a decimal the row does not hold, continued as a new number
        figures = self._figures_after(before)
        starts = self._starts.get(figures)
        if starts is None:
            starts = self._starts[figures] = frozenset(f[:i] for f in figures for i in range(1, len(f) + 1))
        allowed = frozenset(c for c in DIGITS + "." if run + c in starts)
        if not run or run.endswith("."):  # "aged 54." may have ended a sentence: only its digits are held
            return allowed - {"."}, False
        return allowed, run not in figures

    def apply(self, logits: np.ndarray, text: str) -> None:
        """Mask ``logits`` (one sequence's next-token logits, changed in place) after ``text``."""
        if self._mixed.size:
            logits[self._mixed] = -np.inf
        rule = self.next_characters(text)
        if rule is None:
            return
        allowed, only = rule
        vocab = self._vocab
        if only:
            keep = [t for c in allowed if c != "." for t in vocab.digits[c]]
            if "." in allowed:
                keep += vocab.point
            if not keep:
                return  # cannot happen when every number was guarded from its first digit; never mask all
            kept = logits[keep].copy()
            logits[:] = -np.inf
            logits[keep] = kept
            return
        banned = [t for c in DIGITS if c not in allowed for t in vocab.digits[c]]
        if banned:
            logits[banned] = -np.inf
