"""Which prompt and which fact lexicon narration uses: the hand-written ones when the project has
them, else the ones made from the dataset specification.

- prompt: ``prompts/<dataset>/<version>/`` with all four files -> that ``PromptTemplate``; a folder
  with only ``examples.yaml`` -> the prompt made from the spec, few-shot with those examples;
  no folder -> the zero-shot prompt made from the spec.
- lexicon: ``lexicons/<dataset>.yaml`` -> that one; none -> the one made from the spec.

Each choice is logged once at INFO.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import ValidationError

from traumasynth.core import layout
from traumasynth.core.errors import ParamsError
from traumasynth.narrate.checking.facts import Lexicon, load_lexicon
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.templates import PromptTemplate, _Example, load_prompt
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)


def narration_prompt(*, prompts_dir: Path, spec: DatasetSpec, version: str) -> PromptTemplate | SpecPrompt:
    """The hand-written prompt version when ``prompts_dir/<dataset>/<version>/template.yaml`` exists, else the spec's.

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
