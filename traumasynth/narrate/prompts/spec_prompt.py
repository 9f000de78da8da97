"""A prompt made from the dataset specification, for a dataset without a hand-written prompt folder.

The facts header lists every modelled column (roles ``feature`` and ``target``; never
``narrative`` or ``excluded``) as ``label: value unit``: the label is the column's first alias,
else its description's head phrase, else its name (``spec_words.label``); a category shows its
first ``labels`` word, else its code with underscores as spaces. Age, sex and the target come
first, as a note starts with them.

An intro built from the spec's description says that a note states the facts exactly; then come
the few-shot examples, if any, and the row's ``Facts: ...`` and ``Note:``. The examples are
``prompts/<dataset>/<version>/examples.yaml`` when that file exists alone (without the other files
of a hand-written version; the model then writes the whole note), else the made-up ones of
``narrate/spec_examples.py`` (``narrate.spec_examples``; the caller passes ``opening="core"``),
else none (zero-shot). With ``opening`` the prompt ends with the note's opening (age, sex and the
target, from the row), which a base model such as Gemma 3 270M continues; the opening is part of
the narrative. The chat format gets a system message from the same description.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from traumasynth.core.errors import SpecError
from traumasynth.narrate.prompts.spec_words import (
    header_columns,
    is_age,
    is_missing,
    label,
    sex_values,
    shown_value,
    unit_shown,
)
from traumasynth.narrate.prompts.templates import Prompt, PromptFormat
from traumasynth.spec import ColumnSpec, DatasetSpec

#: ``inline``: ``Facts: a: 1, b: 2``; ``lines``: one fact a line (see docs/narratives.md for the figures).
Layout = Literal["inline", "lines"]
#: The note's opening written for the model: none, age and sex ("34-year-old woman,"), or those and the
#: target's value ("34-year-old woman, fall,").
Opening = Literal["none", "age_sex", "core"]
SPEC_PROMPT_VERSION = "spec"
_CHILD_MAX_AGE = 15


def _intro(spec: DatasetSpec) -> str:
    return (
        f"{spec.description.strip()}\n\n"
        "Below, each record gives the coded facts of one case, then the short clinical note written from them. "
        "The note is one paragraph in plain English. It starts with the age and sex, then states every fact "
        "exactly as coded (numbers as given) and adds no fact that is not coded.\n\n"
    )


def _system(spec: DatasetSpec) -> str:
    return (
        f"You write short clinical notes for a synthetic dataset: {spec.description.strip()} You are given the "
        "coded facts of one case. Write one paragraph of 2 to 5 sentences: start with the age and sex, then state "
        "every fact exactly as coded; never add a fact, a vital sign, an injury or an outcome that is not in the "
        "facts. Write only the note."
    )


class SpecPrompt:
    """The prompt of a dataset made from its specification; the runner uses it like a ``PromptTemplate``.

    Attributes:
        dataset: the spec's name.
        version: ``"spec"``.
        sha256: hash of everything that shapes the prompt (intro, system message, header labels,
            layout, examples); part of the narration shard fingerprint.
        stop: stop sequences for completion requests.
    """

    def __init__(
        self,
        *,
        spec: DatasetSpec,
        examples: Sequence[Mapping[str, Any]] = (),
        layout: Layout = "lines",
        opening: Opening | None = None,
    ) -> None:
        self.spec = spec
        self.dataset = spec.name
        self.version = SPEC_PROMPT_VERSION
        self._columns = header_columns(spec)
        self._layout = layout
        self._examples = [(dict(e["facts"]), str(e["note"]).strip()) for e in examples]
        # By default the model copies the examples' opening; without examples it is written for it.
        self._opening: Opening = opening if opening is not None else ("none" if self._examples else "core")
        self.stop: tuple[str, ...] = ("\n", "Facts:")
        block = "".join(f"{self._facts(facts)}\nNote: {note}\n\n" for facts, note in self._examples)
        self._completion_prefix = _intro(spec) + block
        chat: list[dict[str, str]] = [{"role": "system", "content": _system(spec)}]
        for facts, note in self._examples:
            chat.append({"role": "user", "content": self._facts(facts)})
            chat.append({"role": "assistant", "content": note})
        self._chat_prefix = tuple(chat)
        shape = {
            "intro": self._completion_prefix,
            "system": _system(spec),
            "labels": [(c.name, label(c), unit_shown(c), sorted(c.labels.items())) for c in self._columns],
            "layout": layout,
            "opening": self._opening,
            "examples": self._examples,
        }
        self.sha256 = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def columns(self) -> list[str]:
        """Every column the header can show: the modelled columns."""
        return sorted(c.name for c in self._columns)

    @property
    def completion_prefix(self) -> str:
        """The shared block of the completion prompt (same bytes for every row)."""
        return self._completion_prefix

    def _fact(self, column: ColumnSpec, value: Any) -> str:
        unit = unit_shown(column)
        return f"{label(column)}: {shown_value(column, value)}" + (f" {unit}" if unit else "")

    def header(self, row: Mapping[str, Any]) -> str:
        """The row's facts (a mapping column -> value); missing values are left out."""
        facts = [self._fact(c, row[c.name]) for c in self._columns if not is_missing(row.get(c.name))]
        if self._layout == "lines":
            return "".join(f"\n- {f}" for f in facts)
        return ", ".join(facts)

    def _facts(self, row: Mapping[str, Any]) -> str:
        header = self.header(row)
        return f"Facts:{header}" if self._layout == "lines" else f"Facts: {header}"

    def opening(self, row: Mapping[str, Any]) -> str:
        """The start of the note written for the model ("34-year-old woman,"), or "" when not used."""
        if self._opening == "none":
            return ""
        words: list[str] = []
        age_col = next((c for c in self._columns if is_age(c)), None)
        age = row.get(age_col.name) if age_col is not None else None
        if age is not None and not is_missing(age):
            years = float(age)
            words.append(
                f"{round(years * 12)}-month-old" if years < 2 and not years.is_integer() else f"{int(years)}-year-old"
            )
        sex_col = next((c for c in self._columns if sex_values(c)), None)
        sex = row.get(sex_col.name) if sex_col is not None else None
        if sex_col is not None and not is_missing(sex):
            which = {v: k for k, v in sex_values(sex_col).items()}.get(str(sex))
            child = not is_missing(age) and age is not None and float(age) <= _CHILD_MAX_AGE
            nouns = {"male": "boy" if child else "man", "female": "girl" if child else "woman"}
            words.append(nouns[which] if which else "patient")
        elif words:
            words.append("patient")
        opening = " ".join(words) + "," if words else ""
        target = row.get(self.spec.target.name)
        if self._opening == "core" and not is_missing(target):
            opening = f"{opening} {shown_value(self.spec.target, target)},".strip()
        return opening

    def render(self, row: Mapping[str, Any], *, prompt_format: PromptFormat) -> Prompt:
        """The prompt for ``row``: the shared prefix, then the row's facts (and the note's opening)."""
        if prompt_format == "completion":
            opening = self.opening(row)
            query = f"{self._facts(row)}\nNote:" + (f" {opening}" if opening else "")
            return Prompt(
                text=self._completion_prefix + query, shared_prefix=self._completion_prefix, note_prefix=opening
            )
        user = {"role": "user", "content": self._facts(row)}
        return Prompt(messages=(*self._chat_prefix, user))

    def check_spec(self, spec: DatasetSpec) -> None:
        """Raise SpecError if ``spec`` is not the specification this prompt was made from."""
        if spec.name != self.spec.name or [c.name for c in header_columns(spec)] != [c.name for c in self._columns]:
            raise SpecError(
                f"The prompt made from dataset '{self.spec.name}' does not fit dataset '{spec.name}'. "
                "Make the prompt from the spec the stage reads."
            )
