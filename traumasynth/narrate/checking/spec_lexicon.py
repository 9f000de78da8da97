"""A fact lexicon made from the dataset specification, for a dataset without a hand-written one.

Every modelled column becomes a fact named after it:

- **age** (a numeric column in years whose name or description says age): "34-year-old",
  "34 yo", "aged 34", "20-month-old"; a core fact.
- **sex** (a categorical column with a male and a female value): man/woman/boy/girl/male/female
  in the first sentence (a core fact), and he/she/his/her outside sentences about a third person.
- **other numbers**: the column's words (its ``aliases``, its name, its description's head phrase,
  the name without a generic tail such as ``level`` or ``score``) followed by a number
  ("heart rate 80", "HR: 80", "pain 4/10"), and a number followed by the column's unit when that
  unit is a measurement unit no other column has ("80 beats/min", "80 bpm"). A decimal column's
  value agrees rounded or cut at the precision the note writes (69.5 kg: "70 kg", "69 kg"), and
  "no <column>" does not contradict an empty value ("no mechanical ventilation").
- **yes/no columns** (categories yes/no/unknown): the column's words say yes ("alcohol"), the same
  words after a negation say no ("no alcohol", "not intubated"); ``unknown`` contradicts nothing.
  A single word of the name counts only when no other column's name has it ("spine" names none of
  ``spine_c1`` ... ``spine_c7``).
- **other categories**: each category's ``labels`` and its own words (underscores as spaces, simple
  plurals and inflections: "fracture" reads "fractured", "fractures"), and any word of a
  several-word category that no other category uses ("traffic" for ``road_traffic``). A category
  like ``none`` reads as "no <column>"; ``unknown``/``not stated`` contradicts nothing; ``other``
  means none of the listed values; ``both`` holds the others. A stated category contradicts the
  row unless one of the stated values is the row's (notes name several regions or mechanisms), and
  a negated one denies it ("no fracture" for a fracture). A word that names categories of two
  columns ("home": place and disposition) is excused when the row has the other reading.

Optional wording of the spec refines this (``labels`` aside): a column's ``compatible`` lists the
categories a note may state for a row's one without contradicting it (neighbouring body parts,
synonyms, a catch-all value); its ``context`` words must come shortly before a category's words for
them to count (a product as the agent: "fell from a bed"); its ``read_after`` words start the part
of a note that states it ("cut ... DX: fracture"); ``several: true`` says a note may name several
of its values, one right one being enough (injured body parts).

The target column is a core fact (with age and sex when the spec has them). Only the spec is
read, never data.
"""

from __future__ import annotations

import re
from collections import defaultdict

from traumasynth.narrate.checking.facts import FactRule, Lexicon
from traumasynth.narrate.checking.word_patterns import (
    alternation,
    inflected,
    outside_longer,
    phrase_regex,
    split_words,
    stem_of,
    unit_regex,
    words_regex,
)
from traumasynth.narrate.prompts.spec_words import (
    GENERIC_TAILS,
    category_text,
    head_phrase,
    is_age,
    name_words,
    said_no_after,
    sex_values,
    yes_no_values,
)
from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec

NEGATION = (
    r"\b(?:no|not|nil|without|denies|denied|negative for|ruled out|r/o|excluded?|did not|didn't|was not|wasn't)\b"
)
#: Sentences about someone else: their pronouns are not the patient's.
THIRD_PARTY = (
    r"\b(?:mother|father|mum|mom|dad|parents?|wife|husband|partner|son|daughter|brother|sister|friend|witness\w*|"
    r"neighbou?r|carer|bystander|driver of)\b"
)
_NUMBER = r"(?P<value>\d{1,4}(?:\.\d+)?)"
#: Words too common to name a category on their own (when taken out of a several-word category).
_STOP = frozenset(
    """a an and or of the to in on at by for with without not no other others unknown unk upper lower left right own
    public mobile paid being seen self main multiple general minor major old new stated spec body part parts all
    injury injuries accident accidents area areas type related involvement involved noted suspected present yes
    treated care patient incl including such as via per than more less""".split()
)
#: "no fracture" denies a fracture; "no fracture of the arm" denies no arm.
_DENY_WITHIN = 1
_SEVERAL = re.compile(r"\b(?:main|principal|primary|predominant|most severe)\b", re.IGNORECASE)
_NONE_VALUES = frozenset({"none", "no", "nil", "absent", "not done", "not performed"})
_OTHER_VALUES = frozenset({"other", "others", "other(old)"})
#: How many words may come between a ``context`` word and a category's words ("fell from the top bunk bed").
_CONTEXT_GAP = 6


def _read_after(column: ColumnSpec) -> str | None:
    said = words_regex(column.read_after, verbs=False)
    return rf"{said}(?!\w)" if said else None


def _in_context(column: ColumnSpec, pattern: str) -> str:
    """``pattern`` only a few words after one of the column's ``context`` words, when it has some."""
    context = words_regex(column.context, verbs=True)
    if context is None:
        return pattern
    return rf"{context}(?:[^\w.,;:]+[\w'-]+){{0,{_CONTEXT_GAP}}}?[^\w.,;:]+{pattern}"


def column_terms(column: ColumnSpec) -> list[str]:
    """How a note names a column: aliases, name, description head phrase, name without a generic tail."""
    terms = [*column.aliases, name_words(column)]
    head = head_phrase(column)
    if head:
        terms.append(head)
        words = head.split()
        if len(words) >= 3:
            terms.append(" ".join(words[-2:]))  # "systolic blood pressure" -> "blood pressure"
    name = name_words(column).split()
    if len(name) == 2 and name[1].lower() in GENERIC_TAILS:
        terms.append(name[0])  # triage_level -> "triage"
    return list(dict.fromkeys(t.strip().lower() for t in terms if t.strip() and any(c.isalpha() for c in t)))


def _age_rule(column: ColumnSpec) -> FactRule:
    return FactRule(
        name=column.name,
        column=column.name,
        kind="number",
        core=True,
        tolerance=0.0 if column.kind == "integer" else 1.0,  # months/12 against "9-month-old" (0 years)
        patterns=(
            r"\b(?P<value>\d{1,3})[- ]?(?:years?|yrs?)[- ]old\b",
            r"\b(?P<months>\d{1,2})[- ]?months?[- ]old\b",
            r"\b(?P<value>\d{1,3}) ?(?:yo|y/o|y\.o\.|yr|yrs)(?=[mf]?\b)",
            r"\b(?P<months>\d{1,2}) ?(?:mo|mos)(?=[mf]?\b)",
            r"\baged?:? (?P<value>\d{1,3})\b",
        ),
    )


def _number_rule(column: ColumnSpec, unique_unit: bool) -> FactRule:
    terms = alternation(phrase_regex(t, inflect=False) or re.escape(t) for t in column_terms(column))
    tails = "|".join(sorted(GENERIC_TAILS))
    patterns = [
        rf"{terms}(?:\s+(?:{tails}|cat\.?))?(?:\s+(?:of|is|was|=))?\s*[:=]?\s*{_NUMBER}"
        r"(?![\d.]*\s*(?:years?|yrs?)[- ]old)"
    ]
    if column.numeric_bounds[0] == 0:  # "no pain" states 0
        patterns.append(rf"\b(?P<zero>no|nil|denies)\s+{terms}(?!\s+(?:to|of|in|at|on|and|or|with)\b)")
    unit = unit_regex(column.unit) if column.unit and unique_unit else None
    if unit:
        patterns.append(rf"(?<![\w.]){_NUMBER}\s?{unit}")
    return FactRule(
        name=column.name,
        column=column.name,
        kind="number",
        tolerance=0.0 if column.kind == "integer" else 0.05,  # the prompt shows one decimal
        rounded=column.kind != "integer",  # 69.5 kg is "about 70 kg", as the unsupported check reads it
        patterns=tuple(patterns),
    )


def _sex_rules(column: ColumnSpec) -> list[FactRule]:
    cats = sex_values(column)
    male, female = cats["male"], cats["female"]
    nouns = {
        male: [r"\b(?:man|male|boy|gentleman|gent)\b", r"\b\d{1,3} ?(?:yo|y/o|yr|mo|mos)? ?M\b"],
        female: [r"\b(?:woman|female|girl|lady)\b", r"\b\d{1,3} ?(?:yo|y/o|yr|mo|mos)? ?F\b"],
    }
    pronouns = {male: [r"\bhe\b", r"\bhis\b", r"\bhim(?:self)?\b"], female: [r"\bshe\b", r"\bher(?:s|self)?\b"]}
    return [
        FactRule(
            name=column.name, column=column.name, kind="category", core=True, match="all", scope="first_sentence",
            cues={k: tuple(v) for k, v in nouns.items()},
        ),
        FactRule(
            name=column.name, column=column.name, kind="category", match="all", skip_sentences=THIRD_PARTY,
            cues={k: tuple(v) for k, v in pronouns.items()},
        ),
    ]  # fmt: skip


def _yes_no_rule(
    column: ColumnSpec, sorted_: dict[str, list[str]], name_word_owners: dict[str, set[str]], *, core: bool
) -> FactRule:
    words = [t for t in column_terms(column) if t not in _STOP]
    # a single word of the name, unless other columns' names have it too ("spine" of spine_c1...spine_c7)
    words += [
        w
        for w in split_words(name_words(column))
        if w not in _STOP and len(w) >= 4 and name_word_owners[w] == {column.name}
    ]
    said = [p for w in dict.fromkeys(words) if (p := phrase_regex(w)) is not None]
    cues: dict[str, tuple[str, ...]] = {}
    compatible: dict[str, tuple[str, ...]] = {}
    yes, no, unknown = sorted_["yes"], sorted_["no"], sorted_["unknown"]
    # "operation: N" (the prompt's header form, copied) says no, not yes
    no_after = said_no_after(no)
    for cat in yes:
        cues[cat] = tuple(f"{p}(?!{no_after})" for p in said)
    denial = rf"\b(?:no|nil|denies|negative for)\s+{alternation(said)}"
    for cat in no:
        cues[cat] = (denial, f"{alternation(said)}{no_after}")
        compatible[cat] = ()
    for cat in unknown:
        cues[cat] = ()
        compatible[cat] = tuple(c for c in (*yes, *no) if c != cat)
    for cat in yes:
        compatible[cat] = ()
    for cat, fits in column.compatible.items():
        compatible[cat] = tuple(dict.fromkeys((*compatible.get(cat, ()), *fits)))
    return FactRule(
        name=column.name, column=column.name, kind="category", core=core, match="all", negatable=True, deny=True,
        deny_within=_DENY_WITHIN, read_after=_read_after(column), cues=cues, compatible=compatible,
    )  # fmt: skip


def _category_phrases(column: ColumnSpec, taken: dict[str, set[str]]) -> dict[str, list[str]]:
    """Each category's own phrases: its ``labels`` and its words (none for other/unknown/none values).

    A category's own words that another column's category also has ("home": place and
    disposition) are left out when ``labels`` gives the category other words.
    """
    out: dict[str, list[str]] = {}
    for cat in column.categories or ():
        text = category_text(cat).lower()
        phrases = [w.lower() for w in column.labels.get(cat, ())]
        shared = bool(taken.get(text, set()) - {column.name})
        plain = text not in _NONE_VALUES | _OTHER_VALUES and not _is_unknown(text) and text != "both"
        if plain and not (shared and phrases):
            phrases.append(text)
        out[cat] = [p for p in dict.fromkeys(phrases) if any(c.isalpha() for c in p) and len(p.strip()) > 1]
    return out


def _is_unknown(text: str) -> bool:
    return bool(re.match(r"^(?:unk\w*|not stated\w*|n\.?s\.?|not known|missing|\?)(?:\W|$)", text))


def _category_rule(
    column: ColumnSpec, phrases: dict[str, list[str]], word_owners: dict[str, set[tuple[str, str]]],
    phrase_owners: dict[str, set[tuple[str, str]]], all_phrases: dict[tuple[str, str], list[str]], *, core: bool,
) -> FactRule:  # fmt: skip
    # A note may name several values of the target (mechanisms overlap: a fall at work) or of a
    # column that records the main one of several (main injured region): one right value is enough.
    several = core or column.several or bool(_SEVERAL.search(column.description))
    cues: dict[str, tuple[str, ...]] = {}
    compatible: dict[str, tuple[str, ...]] = {}
    also: dict[str, tuple[str, ...]] = {}
    entails: dict[str, tuple[str, ...]] = {}
    cats = list(column.categories or ())
    substantive = [c for c in cats if phrases[c]]
    for cat in cats:
        text = category_text(cat).lower()
        own = category_text(cat).lower()
        labelled = {w.lower() for w in column.labels.get(cat, ())}
        others = [ph for (col, value), phs in all_phrases.items() if (col, value) != (column.name, cat) for ph in phs]
        patterns = []
        for ph in phrases[cat]:
            if (p := phrase_regex(ph, verbs=ph not in labelled)) is not None:
                before, after = outside_longer(ph, others)
                patterns.append(_in_context(column, before + p + after))
        words = split_words(own) if own in phrases[cat] else []
        if len(words) >= 2:  # a word of the category's own several-word text, used by no other category
            for w in words:
                if w not in _STOP and len(w) >= 4 and w.isalpha() and word_owners[stem_of(w)] == {(column.name, cat)}:
                    patterns.append(_in_context(column, r"(?<!\w)" + inflected(w)))
        if text in _NONE_VALUES:
            subject = alternation(phrase_regex(t) or re.escape(t) for t in column_terms(column))
            patterns.append(rf"\b(?:no|nil|without)\s+{subject}")
        cues[cat] = tuple(dict.fromkeys(patterns))
        if _is_unknown(text):
            compatible[cat] = tuple(c for c in cats if c != cat)
        elif text == "both":
            held = tuple(c for c in substantive if c != cat)
            compatible[cat] = held
            entails[cat] = held
        shared = sorted(
            {
                f"{col}={value}"
                for ph in phrases[cat]
                for col, value in phrase_owners[ph]
                if (col, value) != (column.name, cat)
            }
        )
        if shared:
            also[cat] = tuple(shared)
    for cat, fits in column.compatible.items():
        compatible[cat] = tuple(dict.fromkeys((*compatible.get(cat, ()), *fits)))
    return FactRule(
        name=column.name, column=column.name, kind="category", core=core, match="any" if several else "all",
        negatable=True, deny=True, deny_within=_DENY_WITHIN, read_after=_read_after(column), cues=cues,
        compatible=compatible, also=also, entails=entails,
    )  # fmt: skip


def spec_lexicon(spec: DatasetSpec) -> Lexicon:
    """The fact lexicon of ``spec``'s modelled columns (see the module docstring)."""
    modelled = [c for c in spec.modelled_columns]
    units: defaultdict[str, int] = defaultdict(int)
    for col in modelled:
        if col.kind in NUMERIC_KINDS and col.unit:
            units[col.unit.strip().lower()] += 1
    taken: dict[str, set[str]] = defaultdict(set)
    for col in modelled:
        for cat in col.categories or ():
            taken[category_text(cat).lower()].add(col.name)
    phrases = {c.name: _category_phrases(c, taken) for c in modelled if c.kind == "categorical"}
    all_phrases = {(col, cat): phs for col, by_cat in phrases.items() for cat, phs in by_cat.items()}
    word_owners: dict[str, set[tuple[str, str]]] = defaultdict(set)
    phrase_owners: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for col_name, by_cat in phrases.items():
        for cat, cat_phrases in by_cat.items():
            for ph in cat_phrases:
                phrase_owners[ph].add((col_name, cat))
                for w in split_words(ph):
                    word_owners[stem_of(w)].add((col_name, cat))
    name_word_owners: dict[str, set[str]] = defaultdict(set)
    for col in modelled:
        for w in split_words(name_words(col)):
            name_word_owners[w].add(col.name)
    facts: list[FactRule] = []
    age_done = sex_done = False
    for col in modelled:
        core = col.role == "target"
        if not age_done and is_age(col):
            facts.append(_age_rule(col))
            age_done = True
        elif col.kind in NUMERIC_KINDS:
            unit = (col.unit or "").strip().lower()
            facts.append(_number_rule(col, unique_unit=bool(unit) and units[unit] == 1))
        elif col.kind != "categorical":
            continue  # datetime columns: notes rarely state them
        elif not sex_done and sex_values(col):
            facts += _sex_rules(col)
            sex_done = True
        elif (sorted_ := yes_no_values(col)) is not None:
            facts.append(_yes_no_rule(col, sorted_, name_word_owners, core=core))
        else:
            facts.append(_category_rule(col, phrases[col.name], word_owners, phrase_owners, all_phrases, core=core))
    return Lexicon(negation=NEGATION, number_words=True, facts=tuple(facts))
