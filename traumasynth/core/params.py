"""Typed access to ``params.yaml``: each section loads into a frozen pydantic model.

Each stage defines its own section model next to the code that uses it (e.g.
``traumasynth.prepare.PrepareParams``) and loads it with ``load_section``; nothing
passes a raw dict of parameters down.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from traumasynth.core.errors import ParamsError

M = TypeVar("M", bound=BaseModel)


class FrozenParams(BaseModel):
    """Base of every params section: immutable, and unknown keys are errors (typos surface)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BaseParams(FrozenParams):
    """Section ``base``: what every stage shares."""

    seed: int = 42
    dataset: str = Field(default="ed_trauma_sim", min_length=1)
    dataset_path: str = ""
    models: tuple[str, ...] = ("vae", "ddpm")

    def spec_path(self, datasets_dir: Path = Path("datasets")) -> Path:
        """The dataset's specification file, ``<datasets_dir>/<dataset>.yaml``."""
        return Path(datasets_dir) / f"{self.dataset}.yaml"


def read_params(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"Parameters file {path} not found. Run from the project root or pass --params.")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParamsError(f"{path} must be a mapping of sections.")
    return data


def load_section(path: str | Path, section: str, model: type[M]) -> M:
    """Load section ``section`` of the params file into ``model``.

    Raises:
        ParamsError: the section is missing or a value is invalid; the message names
            the key, as ``dvc exp run -S section.key=value`` would set it.
    """
    data = read_params(path)
    if section not in data:
        raise ParamsError(f"{path} has no section '{section}'. Add it (see docs/parameters.md).")
    try:
        return model.model_validate(data[section] or {})
    except ValidationError as exc:
        lines = [f"{section}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ParamsError(f"Invalid parameters in {path}:\n  - " + "\n  - ".join(lines)) from exc
