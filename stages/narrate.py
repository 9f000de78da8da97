"""Stage `narrate`: write a clinical narrative for each of the first n rows of a synthetic file.

    python stages/narrate.py --model vae --params params.yaml \
        --synthetic data/synthetic/vae.parquet --out data/narratives/vae.parquet \
        --metrics metrics/narrate_vae.json
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.narrate import NarrateParams, narrate_synthetic
from traumasynth.params import BaseParams, load_section
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.narrate")


@app.command()
def main(
    model: Annotated[str, typer.Option(help="Synthesizer whose rows are narrated (vae, ddpm...).")],
    synthetic: Annotated[Path, typer.Option(dir_okay=False, help="Synthetic rows: data/synthetic/<model>.parquet.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Narratives: data/narratives/<model>.parquet.")],
    metrics: Annotated[Path, typer.Option(dir_okay=False, help="Metrics: metrics/narrate_<model>.json.")],
    params: Annotated[Path, typer.Option(dir_okay=False, help="params.yaml (sections base and narrate).")] = Path(
        "params.yaml"
    ),
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
    datasets_dir: Annotated[Path, typer.Option(file_okay=False, help="Dataset specifications (<dataset>.yaml).")] = (
        Path("datasets")
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Narrate synthetic rows with llama.cpp and fact-check every narrative against its row."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        narrate = load_section(params, "narrate", NarrateParams)
        spec = load_spec(base.spec_path(datasets_dir))
        result = narrate_synthetic(
            synthetic_path=synthetic,
            spec=spec,
            params=narrate,
            seed=base.seed,
            prompts_dir=prompts_dir,
            lexicons_dir=lexicons_dir,
            shard_dir=shards_dir / model,
            out_path=out,
            metrics_path=metrics,
        )
    log.info("narrated %s rows of %s", result["narratives"], model)


if __name__ == "__main__":
    app()
