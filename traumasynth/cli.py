"""What every stage script shares: its common options and the opening of its run.

A stage script is one ``main(...)`` whose options are its paths, ``with open_stage(...) as stage:``
and one call to the stage's ``run`` in the library. ``open_stage`` sets up logging, reads
``base``, the stage's own section of ``params.yaml`` and the dataset specification, and turns a
``TraumaSynthError`` into ``error: ...`` on stderr and exit 1 (``stage_errors``): library code
raises, only the stage layer exits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar, overload

import typer
from pydantic import BaseModel

from traumasynth.core import layout
from traumasynth.core.errors import TraumaSynthError
from traumasynth.core.params import BaseParams, load_section, read_params
from traumasynth.spec import DatasetSpec, load_spec
from traumasynth.spec.merge import ClassMerge

P = TypeVar("P", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)

#: The default of ``--params``.
PARAMS_FILE = Path("params.yaml")
#: ``--params``: the parameters file.
ParamsOption = Annotated[Path, typer.Option(help="params.yaml: section `base` and the sections this stage reads.")]
#: ``--datasets-dir``: where ``<dataset>.yaml`` specifications are (default ``layout.DATASETS``).
DatasetsDirOption = Annotated[Path, typer.Option(help="Folder of dataset specifications (<dataset>.yaml).")]
#: ``--verbose``/``-v``: log at DEBUG.
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages too.")]
#: ``--model``: the model a per-model stage runs for (required).
ModelOption = Annotated[
    str, typer.Option(help="The model: a name of base.models (vae, ddpm...); evaluate takes a peer too.")
]


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr at INFO (DEBUG with ``verbose``) with the stage's module name."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )


@contextmanager
def stage_errors() -> Iterator[None]:
    """Turn a ``TraumaSynthError`` raised inside the block into ``error: ...`` on stderr and exit 1.

    Ctrl-C ends the stage with status 130 and a one-line message instead of a traceback; stages
    write atomically (and ``narrate`` in shards), so what was finished is kept.
    """
    try:
        yield
    except TraumaSynthError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: finished work is kept; rerun the stage to resume", err=True)
        raise typer.Exit(code=130) from None


@dataclass(frozen=True)
class Stage(Generic[P]):
    """What a stage works with: ``base``, its own params section and the dataset spec, each read once.

    Attributes:
        params_file: the ``params.yaml`` given with ``--params``.
        datasets_dir: folder of dataset specifications.
        section: the stage's own section of ``params_file``; None for a stage without one.
        params_type: the model of ``section``.
        optional: a missing ``section`` means its defaults instead of an error.
    """

    params_file: Path
    datasets_dir: Path = layout.DATASETS
    section: str | None = None
    params_type: type[P] | None = None
    optional: bool = False

    @cached_property
    def base(self) -> BaseParams:
        """Section ``base``."""
        return load_section(self.params_file, "base", BaseParams)

    @cached_property
    def params(self) -> P:
        """The stage's own section."""
        if self.section is None or self.params_type is None:
            raise TypeError("This stage was opened without a params section.")
        if self.optional and self.section not in read_params(self.params_file):
            return self.params_type()
        return load_section(self.params_file, self.section, self.params_type)

    @property
    def spec_path(self) -> Path:
        """The dataset's specification file, ``<datasets_dir>/<base.dataset>.yaml``."""
        return self.base.spec_path(self.datasets_dir)

    @cached_property
    def written_spec(self) -> DatasetSpec:
        """The dataset specification of ``base.dataset`` as its file says (``prepare`` reads raw rows with it)."""
        return load_spec(self.spec_path)

    @cached_property
    def spec(self) -> DatasetSpec:
        """The specification of the prepared and synthetic tables: ``written_spec`` less the classes that
        ``prepare.merge_classes`` folds (``traumasynth.spec.merge``); the same as written without a merge."""
        return self.load("prepare", ClassMerge, optional=True).apply(self.written_spec)

    def load(self, section: str, model: type[M], *, optional: bool = False) -> M:
        """Another section of the params file (e.g. the budget of ``train_dp_tabular`` for the peers).

        With ``optional``, a missing section gives ``model``'s defaults instead of an error.
        """
        if optional and section not in read_params(self.params_file):
            return model()
        return load_section(self.params_file, section, model)


@overload
def open_stage(
    *,
    verbose: bool,
    params: Path = ...,
    datasets_dir: Path | None = ...,
    section: str,
    params_type: type[P],
    optional: bool = ...,
) -> AbstractContextManager[Stage[P]]: ...


@overload
def open_stage(
    *, verbose: bool, params: Path = ..., datasets_dir: Path | None = ...
) -> AbstractContextManager[Stage[BaseModel]]: ...


@contextmanager
def open_stage(
    *,
    verbose: bool,
    params: Path = PARAMS_FILE,
    datasets_dir: Path | None = None,
    section: str | None = None,
    params_type: type[Any] | None = None,
    optional: bool = False,
) -> Iterator[Stage[Any]]:
    """Open a stage: set up logging, read its settings, and turn errors in the block into exit codes.

    With ``section``, ``base`` and that section are read at once, and with ``datasets_dir`` the
    spec too, in that order, so a bad setting stops the stage before any work; without them
    ``base`` is read only when the stage asks for it.

    Args:
        verbose: log at DEBUG.
        params: the parameters file.
        datasets_dir: folder of dataset specifications; None for a stage that needs no spec.
        section: the stage's own section (``prepare``, ``evaluate``...).
        params_type: its model (``PrepareParams``...).
        optional: the section may be absent (its defaults are used).

    Yields:
        The stage's settings.
    """
    setup_logging(verbose)
    with stage_errors():
        stage = Stage(
            params_file=params,
            datasets_dir=layout.DATASETS if datasets_dir is None else datasets_dir,
            section=section,
            params_type=params_type,
            optional=optional,
        )
        if section is not None:
            _ = (stage.base, stage.params)
        if datasets_dir is not None:
            _ = stage.spec
        yield stage
