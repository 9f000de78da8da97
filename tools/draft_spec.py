"""Draft a dataset specification from a table's header row (and a codebook), reading no value.

    python tools/draft_spec.py data/raw/my_ed.csv --codebook codebook.csv   # writes datasets/my_ed.yaml

Only the header row of the CSV (or the schema of the Parquet file) is read, so nothing private
reaches the draft. Headers become snake_case names (blank or repeated ones are read by position,
`source: "#N"`); kinds, units and roles are guessed from the header's words or taken from the
codebook. Likely clinical columns are listed, the others commented out at the end
(`unlisted_columns: exclude`). Categories, bounds and date formats the codebook does not give are
`TODO` values: every stage refuses the spec, naming the first one, until they are filled. The
codebook may be a CSV (or TSV) or a Markdown table as registries and R, SAS, SPSS or Stata write
them; free text, code columns (ICD...), survey strata and weights are left out with the reason.
See docs/data.md ("Bring your own ED data") and traumasynth/spec/codebook.py for the codebook's columns.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import setup_logging, stage_errors
from traumasynth.core.errors import TraumaSynthError
from traumasynth.core.io import write_text_atomic
from traumasynth.datasets.table import read_headers
from traumasynth.spec.codebook import read_codebook
from traumasynth.spec.draft import draft_spec
from traumasynth.spec.draft_words import snake_case

app = typer.Typer(add_completion=False)
log = logging.getLogger("draft_spec")


@app.command()
def main(
    data: Annotated[Path, typer.Argument(help="your table: CSV with a header row, or Parquet (header only read)")],
    name: Annotated[str | None, typer.Option(help="dataset name (default: the file's name in snake_case)")] = None,
    codebook: Annotated[
        Path | None,
        typer.Option(help="CSV/TSV or Markdown table, one row per variable: variable, description, type, values..."),
    ] = None,
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="default datasets/<name>.yaml")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing spec")] = False,
) -> None:
    """Write a draft of datasets/<name>.yaml from the table's header and an optional codebook."""
    setup_logging()
    with stage_errors():
        name = name or snake_case(data.name.split(".")[0])
        if not name:
            raise TraumaSynthError(f"Cannot make a dataset name from {data.name}; pass --name.")
        target = out or Path("datasets") / f"{name}.yaml"
        if target.exists() and not force:
            raise TraumaSynthError(f"{target} exists; it may hold your edits. Pass --force to overwrite it, or --out.")
        headers = read_headers(data)
        entries = read_codebook(codebook) if codebook else None
        draft = draft_spec(
            headers=headers, name=name, data_label=str(data), codebook=entries,
            codebook_label=codebook.name if codebook else None,
        )  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(draft.text, target)
        if draft.codebook_unmatched:
            log.warning("Codebook variables with no column in the file: %s", ", ".join(draft.codebook_unmatched))
        typer.echo(
            f"{target}: {len(draft.listed)} column(s) listed, {len(draft.left_out)} commented out, "
            f"{draft.placeholders} TODO value(s) to fill"
        )


if __name__ == "__main__":
    app()
