"""Stage `narrate`: write a clinical narrative for each of the first n rows of a synthetic file.

    python stages/narrate.py --model vae --synthetic data/synthetic/vae.parquet \
        --out data/narratives/vae.parquet --metrics metrics/narrate_vae.json
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ModelOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.narrate.params import NarrateParams
from traumasynth.narrate.pipeline import run

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.narrate")


@app.command()
def main(
    model: ModelOption,
    synthetic: Annotated[Path, typer.Option(dir_okay=False, help="Synthetic rows: data/synthetic/<model>.parquet.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Narratives: data/narratives/<model>.parquet.")],
    metrics: Annotated[Path, typer.Option(dir_okay=False, help="Metrics: metrics/narrate_<model>.json.")],
    params: ParamsOption = PARAMS_FILE,
    shards_dir: Annotated[
        Path, typer.Option(file_okay=False, help="Resumable shards; <shards-dir>/<model>/part-*.parquet.")
    ] = layout.NARRATE_SHARDS,
    prompts_dir: Annotated[
        Path,
        typer.Option(file_okay=False, help="Prompt templates: <dir>/<dataset>/<version>/ (none: made from the spec)."),
    ] = layout.PROMPTS,
    lexicons_dir: Annotated[
        Path, typer.Option(file_okay=False, help="Fact lexicons: <dir>/<dataset>.yaml (none: made from the spec).")
    ] = layout.LEXICONS,
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    verbose: VerboseOption = False,
) -> None:
    """Narrate synthetic rows with llama.cpp and fact-check every narrative against its row."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="narrate", params_type=NarrateParams
    ) as stage:
        result = run(
            synthetic_path=synthetic, spec=stage.spec, params=stage.params, seed=stage.base.seed,
            prompts_dir=prompts_dir, lexicons_dir=lexicons_dir, shard_dir=shards_dir / model, out_path=out,
            metrics_path=metrics,
        )  # fmt: skip
    log.info("narrated %s rows of %s", result["narratives"], model)


if __name__ == "__main__":
    app()
