"""One error hierarchy for the whole package.

Library code raises these; only the stage layer (``stages/``) turns them into a
message on stderr and exit code 1. Every message says what happened and how to
fix it.
"""

from __future__ import annotations


class TraumaSynthError(Exception):
    """Base class of every error traumasynth raises on purpose."""


class SpecError(TraumaSynthError):
    """The dataset specification itself is malformed."""


class SchemaError(TraumaSynthError):
    """A table does not satisfy its dataset specification.

    Attributes:
        problems: one human-readable line per problem, all collected before raising.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        full = message if not self.problems else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(full)


class DataError(TraumaSynthError):
    """Input data cannot be read or is unusable (missing file, empty, wrong layout)."""


class ParamsError(TraumaSynthError):
    """A parameter in params.yaml (or given on the command line) is invalid."""


class PrivacyBudgetError(TraumaSynthError):
    """A differential-privacy setting is invalid (epsilon <= 0, delta >= 1/n, ...)."""


class NotFittedError(TraumaSynthError):
    """A synthesizer was used before ``fit`` or ``load``."""


class ModelMismatchError(TraumaSynthError):
    """A saved model was trained on another dataset specification."""


class TrainingError(TraumaSynthError):
    """Training failed (a NaN loss, for instance); nothing was written."""


class NarratorUnavailableError(TraumaSynthError):
    """The narration backend (model file, llama.cpp server) cannot be used."""
