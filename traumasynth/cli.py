"""What every stage script shares: logging set-up and turning errors into exit codes.

Library code raises ``TraumaSynthError``; only the stage layer, through
``stage_errors``, prints the message on stderr and exits with status 1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from traumasynth.errors import TraumaSynthError


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
