"""Regular expressions for the words of a dataset specification, used by ``spec_lexicon``.

A word reads its plurals and inflections ("fracture" reads "fractured", "fractures"), a phrase
takes flexible separators between its words ("road traffic", "road-traffic"), and a measurement
unit reads its spoken forms ("beats/min", "beats per minute", "bpm").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Between the words of a phrase: spaces, hyphens, slashes or underscores, and an optional "and"/"or".
SEP = r"[\s\-/_]+(?:(?:and|or|&)\s+)?"
#: Units that name a measurement (a number followed by one is that measurement).
_MEASUREMENT_UNIT = re.compile(r"/|^(?:mmhg|°c|°f|kg|g|cm|mm|mmol|mg|ml|l|bpm|cmh2o|kpa)$", re.IGNORECASE)
_UNIT_WORDS = {"min": ["min", "minute"], "h": ["h", "hour"], "s": ["s", "second"]}


def split_words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (underscores and punctuation split them; %, °, / and + stay)."""
    return [t for t in re.split(r"[^\w%°/+]+|_", text.lower()) if t]


def singular(word: str) -> str:
    """``word`` without a plural -s (not a short word, not -ss)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def inflected(word: str, *, verbs: bool = True) -> str:
    """A regex for a word and its plurals and inflections: fracture -> fractur\\w*, fall -> fall(?:s|en|ing...)?.

    ``verbs=False`` (for ``labels``, written as they are meant) adds only plurals to a short word.
    """
    w = word.lower()
    if not w.isalpha():
        return re.escape(w).replace(r"\-", "[- ]?") + r"(?!\w)"
    if len(w) <= 4:
        return re.escape(w) + (r"(?:s|es|ed|ing|en)?" if verbs else r"(?:s|es)?") + r"(?!\w)"
    stem = w[:-1] if w.endswith("s") and not w.endswith("ss") else w
    for suffix, keep in (("ation", "at"), ("ion", ""), ("e", ""), ("y", "")):
        if stem.endswith(suffix) and len(stem) - len(suffix) + len(keep) >= 4:
            stem = stem[: len(stem) - len(suffix)] + keep
            break
    return re.escape(stem) + r"\w*"


def stem_of(word: str) -> str:
    """The key that groups the forms of a word: its ``inflected`` regex."""
    return inflected(word)


def alternation(patterns: Iterable[str]) -> str:
    """One regex for any of ``patterns``, longest first (a fixed order: the same patterns give the same regex)."""
    return "(?:" + "|".join(sorted(set(patterns), key=lambda p: (-len(p), p))) + ")"


def phrase_regex(text: str, *, inflect: bool = True, verbs: bool = True) -> str | None:
    """A regex for a phrase: flexible separators between words, the last word inflected."""
    words = split_words(text)
    if not words or not any(c.isalpha() for c in "".join(words)):
        return None
    parts = [re.escape(w) for w in words[:-1]] + [
        inflected(words[-1], verbs=verbs) if inflect else re.escape(words[-1])
    ]
    return r"(?<!\w)" + SEP.join(parts) + r"(?!\w)" if not inflect else r"(?<!\w)" + SEP.join(parts)


def words_regex(words: Iterable[str], *, verbs: bool) -> str | None:
    """A regex for any of ``words`` (flexible separators; with ``verbs``, "fall" reads "falls", "falled")."""
    found = [p for w in words if (p := phrase_regex(w, verbs=verbs)) is not None]
    return alternation(found) if found else None


def outside_longer(phrase: str, others: Iterable[str]) -> tuple[str, str]:
    """Lookarounds that keep ``phrase`` from matching inside a longer phrase of another category.

    "road" (place) does not read "road traffic" (mechanism); "icu" (disposition) not "mobile icu".
    """
    words = [singular(w) for w in split_words(phrase)]
    ahead: set[str] = set()
    behind: set[str] = set()
    for other in others:
        longer = split_words(other)
        flat = [singular(w) for w in longer]
        n = len(words)
        for i in range(len(flat) - n + 1):
            if flat[i : i + n] != words or len(flat) == n:
                continue
            if i + n < len(flat):
                ahead.add(SEP + inflected(longer[i + n]))
            if i > 0 and longer[i - 1].isalpha():
                behind.add(re.escape(longer[i - 1]) + " ")
    before = "".join(f"(?<!{b})" for b in sorted(behind))
    return before, (f"(?!{'|'.join(sorted(ahead))})" if ahead else "")


def unit_regex(unit: str) -> str | None:
    """A regex for a measurement unit and its spoken forms: beats/min -> beats/min, beats per minute, bpm."""
    u = unit.strip()
    if not _MEASUREMENT_UNIT.search(u):
        return None
    forms = [re.escape(u).replace(r"\ ", r"\s?")]
    if u == "°C":
        forms += [r"°\s?C\b", r"degrees?(?: C\b| celsius)"]
    if "/" in u:
        top, _, bottom = u.partition("/")
        spoken = _UNIT_WORDS.get(bottom.strip().lower(), [bottom.strip().lower()])
        forms += [rf"{re.escape(top.strip())}\s+(?:per|a|an)\s+{s}" for s in spoken[1:] or spoken]
        if top.strip().lower() == "beats" and bottom.strip().lower() == "min":
            forms.append("bpm")
    return alternation(forms) + r"(?!\w)"
