"""Stage `release`: the folder that may be shared (synthetic tables, narratives, public spec) and its privacy card."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.params import BaseParams, load_section
from traumasynth.prepare import PrepareParams
from traumasynth.release import ReleaseInputs, build_release
from traumasynth.sampling import SampleParams
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.release")


@app.command()
def main(
    params: Annotated[Path, typer.Option(help="params.yaml to read `base`, `prepare` and `sample` from.")] = Path(
        "params.yaml"
    ),
    synthetic_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet synthetic tables.")] = layout.SYNTHETIC,
    narratives_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet narratives.")] = layout.NARRATIVES,
    metrics_dir: Annotated[
        Path, typer.Option(help="Folder of train_/sample_<model>.json (the budgets).")
    ] = layout.METRICS,
    out_dir: Annotated[Path, typer.Option(help="The release folder (replaced whole).")] = layout.RELEASE,
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Write `release/` for the models of `base.models`, with `PRIVACY.md` and `privacy.json`."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        prepare = load_section(params, "prepare", PrepareParams)
        sample = load_section(params, "sample", SampleParams)
        spec_path = base.spec_path(datasets_dir)
        card = build_release(
            spec=load_spec(spec_path),
            models=tuple(base.models),
            inputs=ReleaseInputs(
                synthetic_dir=synthetic_dir, narratives_dir=narratives_dir, metrics_dir=metrics_dir, spec_path=spec_path
            ),
            out_dir=out_dir,
            secure_noise=sample.secure_noise,
            rare_class_policy=prepare.merge_description(),
        )
    total = "not private" if card["epsilon"] is None else f"(ε {card['epsilon']:.4g}, δ {card['delta']:.3g})"
    log.info("released %s in %s: %s", ", ".join(base.models), out_dir, total)


if __name__ == "__main__":
    app()
