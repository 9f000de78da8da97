"""A note that loops: the same words over and over ("No, No, No, No", "patient, patient, patient").

A small model that has lost the thread repeats itself until ``max_tokens``. A note **loops** when

- a phrase of one to six words comes three times in a row ("no, no, no"), or
- a phrase of two to six words, not made only of small words ("of the"), comes five times or more
  anywhere in the note.

Punctuation and case are ignored. A list of different values ("C2, C3, C4") is no loop; its
statements are judged by ``unsupported``.
"""

from __future__ import annotations

import re
from collections import Counter

#: Repeats in a row that make a loop (a phrase said three times: "no, no, no").
IN_A_ROW = 3
#: Repeats anywhere in a note that make a loop (a phrase of two words or more).
ANYWHERE = 5
_LONGEST = 6
_SMALL = frozenset("a an and the of to in on at with for by from or was is be as his her their".split())
_WORD = re.compile(r"\w+")


def _loop(text: str) -> tuple[str, int] | None:
    """The loop of ``text`` ("no ×4") and the offset of its first repeat: where the looping part starts."""
    found = [(m.group(0).lower(), m.start()) for m in _WORD.finditer(text)]
    words = [w for w, _ in found]
    for n in range(1, _LONGEST + 1):
        for i in range(len(words) - n * IN_A_ROW + 1):
            phrase = words[i : i + n]
            times = 1
            while words[i + times * n : i + (times + 1) * n] == phrase:
                times += 1
            if times >= IN_A_ROW:
                return f"{' '.join(phrase)} ×{times}", found[i + n][1]
    for n in range(2, _LONGEST + 1):
        counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        for gram, times in counts.most_common():
            if times < ANYWHERE:
                break
            if any(w not in _SMALL and not w.isdigit() for w in gram):
                second = [i for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == gram][1]
                return f"{' '.join(gram)} ×{times}", found[second][1]
    return None


def find_loop(text: str) -> str | None:
    """The repeated phrase and its count ("no ×4"), or None when ``text`` does not loop."""
    loop = _loop(text)
    return loop[0] if loop else None


def loop_start(text: str) -> int | None:
    """Where the looping part of ``text`` starts (the offset of the phrase's first repeat), or None.

    Everything from there on is the loop (a small model that loops goes on until ``max_tokens``);
    the repair (``repair.py``) cuts the clauses from the one holding it.
    """
    loop = _loop(text)
    return loop[1] if loop else None
