"""Versioned prompt templates: ``prompts/<dataset>/<version>/``.

A version folder holds:

- ``template.yaml``: how a row becomes a one-line fact header (``fields``, ``values``,
  ``child_values``, ``separator``; ``unremarkable``: ranges of numeric columns whose values an
  adult's header leaves out) and how examples and the query are laid out
  (``example_format``, ``query_format``, ``chat_user_format``, ``stop``);
- ``examples.yaml``: hand-written few-shot notes, each with the facts it was written from;
- ``completion.txt``: the opening of the completion prompt (base models), with ``{examples}``;
- ``system.txt``: the system message of the chat prompt (instruction-tuned models, e.g. MedGemma).

The few-shot block is the same bytes for every row and comes first, so llama.cpp reuses
its KV cache from one row to the next; only the row's header is evaluated anew.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from traumasynth.core.errors import ParamsError, SpecError
from traumasynth.spec import DatasetSpec

PromptFormat = Literal["completion", "chat"]
_FILES = ("template.yaml", "examples.yaml", "completion.txt", "system.txt")


class _TemplateConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    dataset: str = Field(min_length=1)
    example_format: str
    query_format: str
    chat_user_format: str
    stop: tuple[str, ...] = ("\n",)
    separator: str = ", "
    age_column: str | None = None
    child_max_age: int | None = None
    fields: tuple[str, ...] = Field(min_length=1)
    opening: str | None = None
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    child_values: dict[str, dict[str, str]] = Field(default_factory=dict)
    unremarkable: dict[str, tuple[float, float]] = Field(default_factory=dict)

    @field_validator("unremarkable")
    @classmethod
    def _ordered(cls, ranges: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for column, (low, high) in ranges.items():
            if low > high:
                raise ValueError(f"unremarkable range of {column} is [{low}, {high}]: write it as [low, high]")
        return ranges


class _Example(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    facts: dict[str, Any]
    note: str = Field(min_length=1)


@dataclass(frozen=True)
class Prompt:
    """One request's prompt: ``text`` for the completion format, ``messages`` for chat.

    ``shared_prefix`` is the start of ``text`` that every row's prompt shares (the few-shot
    block). The batched backend evaluates that much once and copies it to each sequence; it
    is a hint about ``text``, not more text. ``note_prefix`` is the opening of the note that
    ``text`` already ends with (a prompt made from the spec writes "34-year-old woman," for the
    model); the runner puts it before the generated text.
    """

    text: str | None = None
    messages: tuple[dict[str, str], ...] | None = None
    shared_prefix: str | None = None
    note_prefix: str = ""


def _is_missing(value: object) -> bool:
    """True for None, NaN and pandas' NA; lists and other objects count as present."""
    if value is None:
        return True
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _field_columns(field: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(field) if name]


class PromptTemplate:
    """A loaded prompt version for one dataset.

    Attributes:
        dataset: the dataset the template was written for.
        version: the version folder name (``v1``).
        sha256: hash of every file of the folder; part of the narration shard fingerprint.
        stop: stop sequences for completion requests.
    """

    def __init__(self, *, directory: Path, config: _TemplateConfig, examples: list[_Example], texts: dict[str, str]):
        self.directory = directory
        self._cfg = config
        self._examples = examples
        self._completion_intro = texts["completion.txt"]
        self._system = texts["system.txt"].strip()
        self.dataset = config.dataset
        self.version = config.version
        self.stop = config.stop
        # Built once: identical bytes for every row keep llama.cpp's prefix cache warm.
        block = "".join(
            config.example_format.format(header=self.header(e.facts), note=e.note.strip()) for e in examples
        )
        self._completion_prefix = self._completion_intro.replace("{examples}", block)
        chat: list[dict[str, str]] = [{"role": "system", "content": self._system}]
        for e in examples:
            chat.append({"role": "user", "content": config.chat_user_format.format(header=self.header(e.facts))})
            chat.append({"role": "assistant", "content": e.note.strip()})
        self._chat_prefix = tuple(chat)
        digest = hashlib.sha256()
        for name in _FILES:
            digest.update(name.encode() + b"\0" + texts[name].encode() + b"\0")
        # and the prompts as rendered, so a change in how they are built also invalidates old shards
        digest.update(self._completion_prefix.encode() + b"\0" + repr(self._chat_prefix).encode())
        self.sha256 = digest.hexdigest()

    @property
    def columns(self) -> list[str]:
        """Every column the header can show."""
        fields = (*self._cfg.fields, *((self._cfg.opening,) if self._cfg.opening else ()))
        return sorted({c for f in fields for c in _field_columns(f)})

    @property
    def completion_prefix(self) -> str:
        """The shared few-shot block of the completion prompt (same bytes for every row)."""
        return self._completion_prefix

    def header(self, row: Mapping[str, Any]) -> str:
        """The one-line fact header of ``row`` (a mapping column -> value)."""
        return self._cfg.separator.join(self._shown(row, self._cfg.fields))

    def _shown(self, row: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
        """Each of ``fields`` filled from ``row`` with its display values; fields with a missing value left out."""
        cfg = self._cfg
        age = row.get(cfg.age_column) if cfg.age_column else None
        limit = cfg.child_max_age
        child = limit is not None and age is not None and not _is_missing(age) and float(age) <= limit
        parts: list[str] = []
        for field in fields:
            cols = _field_columns(field)
            if any(_is_missing(row.get(c)) for c in cols):
                continue
            shown: dict[str, Any] = {}
            for c in cols:
                value = row[c]
                if isinstance(value, str):
                    table = {**cfg.values.get(c, {}), **(cfg.child_values.get(c, {}) if child else {})}
                    value = table.get(value, value.replace("_", " "))
                elif isinstance(value, float) and value.is_integer() and ":" not in field:
                    value = int(value)
                else:
                    value = value.item() if hasattr(value, "item") else value
                shown[c] = value
            if any(v == "" for v in shown.values()) or (not child and self._unremarkable(row, cols)):
                continue
            parts.append(field.format(**shown))
        return parts

    def _unremarkable(self, row: Mapping[str, Any], cols: list[str]) -> bool:
        """Whether every column of a field has an ``unremarkable`` range and the row's value lies in it."""
        ranges = self._cfg.unremarkable
        if not cols or any(c not in ranges for c in cols):
            return False
        return all(ranges[c][0] <= float(row[c]) <= ranges[c][1] for c in cols)

    def opening(self, row: Mapping[str, Any]) -> str:
        """The note's first words written from ``row`` (template field ``opening``), or "" without one.

        The completion prompt ends with them and the model continues the note, so what they
        state (e.g. age and sex) cannot be wrong; they are part of the narrative.
        """
        if self._cfg.opening is None:
            return ""
        return "".join(self._shown(row, (self._cfg.opening,)))

    def render(self, row: Mapping[str, Any], *, prompt_format: PromptFormat) -> Prompt:
        """The prompt for ``row``: the shared few-shot prefix, then the row's header (and the note's opening)."""
        if prompt_format == "completion":
            opening = self.opening(row)
            query = self._cfg.query_format.format(header=self.header(row))
            query += f" {opening}" if opening else ""
            return Prompt(
                text=self._completion_prefix + query, shared_prefix=self._completion_prefix, note_prefix=opening
            )
        user = {"role": "user", "content": self._cfg.chat_user_format.format(header=self.header(row))}
        return Prompt(messages=(*self._chat_prefix, user))

    def check_spec(self, spec: DatasetSpec) -> None:
        """Raise SpecError if the template names a column the dataset does not model, or a range for a non-number."""
        modelled = {c.name for c in spec.modelled_columns}
        unknown = [c for c in self.columns if c not in modelled]
        if unknown:
            raise SpecError(
                f"Prompt template {self.directory} uses column(s) {unknown} that dataset '{spec.name}' does not "
                f"model (modelled: {sorted(modelled)}). Fix the template's `fields` or use the prompt version "
                f"written for this dataset."
            )
        numeric = {c.name for c in spec.modelled_columns if c.kind in ("integer", "continuous")}
        not_numeric = sorted(c for c in self._cfg.unremarkable if c not in numeric)
        if not_numeric:
            raise SpecError(
                f"Prompt template {self.directory} gives `unremarkable` ranges for {not_numeric}, which are not "
                f"numeric columns of dataset '{spec.name}'. Remove them from `unremarkable`."
            )


def load_prompt(*, prompts_dir: Path, dataset: str, version: str) -> PromptTemplate:
    """Load ``prompts_dir/<dataset>/<version>/``.

    Raises:
        ParamsError: the folder or one of its files is missing, or a file is malformed;
            the message lists the versions that exist.
    """
    directory = Path(prompts_dir) / dataset / version
    if not directory.is_dir():
        root = Path(prompts_dir) / dataset
        existing = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ParamsError(
            f"No prompt templates in {directory}. "
            + (
                f"Versions for '{dataset}': {existing}; set narrate.prompt_version to one of them."
                if existing
                else "Write template.yaml, examples.yaml, completion.txt and system.txt there "
                "(copy prompts/ed_trauma_sim/v1 as a start)."
            )
        )
    missing = [n for n in _FILES if not (directory / n).is_file()]
    if missing:
        raise ParamsError(f"Prompt folder {directory} lacks {missing}. Every version needs {list(_FILES)}.")
    texts = {n: (directory / n).read_text(encoding="utf-8") for n in _FILES}
    try:
        config = _TemplateConfig.model_validate(yaml.safe_load(texts["template.yaml"]))
        raw_examples = yaml.safe_load(texts["examples.yaml"])
        if not isinstance(raw_examples, list) or not raw_examples:
            raise ParamsError(f"{directory / 'examples.yaml'} must be a non-empty list of {{facts, note}}.")
        examples = [_Example.model_validate(e) for e in raw_examples]
    except (yaml.YAMLError, ValidationError) as exc:
        raise ParamsError(f"Prompt folder {directory} has a malformed file: {exc}") from exc
    if "{examples}" not in texts["completion.txt"]:
        raise ParamsError(f"{directory / 'completion.txt'} must contain the placeholder {{examples}}.")
    if config.version != version or config.dataset != dataset:
        raise ParamsError(
            f"{directory / 'template.yaml'} declares dataset '{config.dataset}' version '{config.version}' "
            f"but sits in {dataset}/{version}; make them agree."
        )
    return PromptTemplate(directory=directory, config=config, examples=examples, texts=texts)
