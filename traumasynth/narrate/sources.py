"""Which prompt and which fact lexicon narration uses: the hand-written ones when the project has
them, else the ones made from the dataset specification.

- prompt: ``prompts/<dataset>/<version>/`` with all four files -> that ``PromptTemplate``; a folder
  with only ``examples.yaml`` -> the prompt made from the spec, few-shot with those examples;
  no folder -> the prompt made from the spec, few-shot with examples made up from the spec
  (``spec_examples.py``; ``narrate.spec_examples`` of them, 0: zero-shot).
- lexicon: ``lexicons/<dataset>.yaml`` -> that one; none -> the one made from the spec.

Each choice is logged once at INFO.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from traumasynth.core import layout
from traumasynth.core.errors import ParamsError
from traumasynth.narrate.checking.facts import Lexicon, load_lexicon
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.templates import PromptTemplate, _Example, load_prompt
from traumasynth.narrate.spec_examples import spec_examples
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)

#: A conservative count of characters per token for a spec-made prompt: Gemma's tokenizer writes
#: every digit as a token, and a header is mostly numbers and short words (measured with Gemma 3:
#: 2.4 on the ICU-registry test layout, 2.8 on a wide ED layout, 3.2 on the simulator's).
CHARS_PER_TOKEN = 2.2


def _tokens(prompt: SpecPrompt, examples: list[dict[str, Any]]) -> float:
    """An upper estimate of the tokens of ``prompt`` for a row like its longest example's."""
    longest = max((prompt.render(e["facts"], prompt_format="completion").text or "" for e in examples), key=len)
    return len(longest) / CHARS_PER_TOKEN


def narration_prompt(
    *,
    prompts_dir: Path,
    spec: DatasetSpec,
    version: str,
    made_up: int = 0,
    lexicon: Lexicon | None = None,
    token_budget: int | None = None,
) -> PromptTemplate | SpecPrompt:
    """The hand-written prompt version when ``prompts_dir/<dataset>/<version>/template.yaml`` exists, else the spec's.

    Args:
        prompts_dir: the project's ``prompts/``.
        spec: the dataset specification.
        version: ``narrate.prompt_version``.
        made_up: examples made up from the spec for a spec-made prompt without ``examples.yaml``
            (``narrate.spec_examples``; 0: zero-shot).
        lexicon: the lexicon narration checks notes with (the made-up examples' notes are checked with it).
        token_budget: tokens a prompt may take (``n_ctx - max_tokens``): made-up examples are dropped,
            last first, until a row like them fits at ``CHARS_PER_TOKEN`` (a wide table's header is long).

    Raises:
        ParamsError: a hand-written folder is incomplete or malformed.
    """
    directory = Path(prompts_dir) / spec.name / version
    if (directory / "template.yaml").is_file():
        template = load_prompt(prompts_dir=prompts_dir, dataset=spec.name, version=version)
        template.check_spec(spec)
        logger.info("Prompt: hand-written %s", directory)
        return template
    examples_path = directory / "examples.yaml"
    if examples_path.is_file():
        try:
            raw = yaml.safe_load(examples_path.read_text(encoding="utf-8"))
            examples = [_Example.model_validate(e) for e in raw or []]
        except (yaml.YAMLError, ValidationError) as exc:
            raise ParamsError(f"{examples_path} is malformed: {exc}. It is a list of {{facts, note}}.") from exc
        logger.info(
            "Prompt: made from the spec of '%s', with %d examples of %s", spec.name, len(examples), examples_path
        )
        return SpecPrompt(spec=spec, examples=[e.model_dump() for e in examples])
    if made_up > 0:
        made = spec_examples(spec, made_up, lexicon=lexicon, statements=SupportRules.from_spec(spec))
        while made and token_budget is not None and _tokens(SpecPrompt(spec=spec, examples=made), made) > token_budget:
            made.pop()
        if len(made) < made_up:
            logger.warning(
                "Prompt: %d of narrate.spec_examples=%d made-up examples fit narrate.n_ctx less narrate.max_tokens; "
                "raise narrate.n_ctx for more", len(made), made_up,
            )  # fmt: skip
        if made:
            logger.info(
                "Prompt: made from the spec of '%s', with %d examples made up from the spec (no prompt folder %s)",
                spec.name, len(made), directory,
            )  # fmt: skip
            return SpecPrompt(spec=spec, examples=made, opening="core")
    logger.info("Prompt: made from the spec of '%s' (zero-shot; no prompt folder %s)", spec.name, directory)
    return SpecPrompt(spec=spec)


def narration_lexicon(*, spec: DatasetSpec, directory: Path = layout.LEXICONS) -> Lexicon:
    """The hand-written ``directory/<dataset>.yaml`` when it exists, else the lexicon made from the spec.

    Raises:
        SpecError: the hand-written lexicon is malformed or reads columns the spec lacks.
    """
    lexicon = load_lexicon(dataset=spec.name, directory=directory)
    if lexicon is not None:
        lexicon.check_spec(spec)
        logger.info("Fact lexicon: hand-written %s", Path(directory) / f"{spec.name}.yaml")
        return lexicon
    logger.info("Fact lexicon: made from the spec of '%s' (no %s)", spec.name, Path(directory) / f"{spec.name}.yaml")
    return spec_lexicon(spec)
