"""Stage `release`: the folder that may be shared (synthetic tables, narratives, public spec) and its privacy card."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.prepare import PrepareParams
from traumasynth.release import ReleaseInputs, run
from traumasynth.sampling.params import SampleParams

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.release")


@app.command()
def main(
    params: ParamsOption = PARAMS_FILE,
    synthetic_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet synthetic tables.")] = layout.SYNTHETIC,
    narratives_dir: Annotated[Path, typer.Option(help="Folder of <model>.parquet narratives.")] = layout.NARRATIVES,
    metrics_dir: Annotated[
        Path, typer.Option(help="Folder of train_/sample_<model>.json (the budgets).")
    ] = layout.METRICS,
    out_dir: Annotated[Path, typer.Option(help="The release folder (replaced whole).")] = layout.RELEASE,
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    verbose: VerboseOption = False,
) -> None:
    """Write `release/` for the models of `base.models`, with `PRIVACY.md` and `privacy.json`."""
    # No section of its own: `prepare` says how rare classes were handled, `sample` whether its noise
    # was cryptographic.
    with open_stage(params=params, datasets_dir=datasets_dir, verbose=verbose) as stage:
        card = run(
            spec=stage.spec,
            models=tuple(stage.base.models),
            inputs=ReleaseInputs(synthetic_dir, narratives_dir, metrics_dir, spec_path=stage.spec_path),
            out_dir=out_dir,
            secure_noise=stage.load("sample", SampleParams).secure_noise,
            rare_class_policy=stage.load("prepare", PrepareParams).merge_description(),
        )
    total = "not private" if card["epsilon"] is None else f"(ε {card['epsilon']:.4g}, δ {card['delta']:.3g})"
    log.info("released %s in %s: %s", ", ".join(stage.base.models), out_dir, total)


if __name__ == "__main__":
    app()
