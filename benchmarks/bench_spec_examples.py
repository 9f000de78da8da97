"""Benchmark: the spec-made prompt with and without made-up few-shot examples (``narrate.spec_examples``).

Not a test. For each layout the project has no prompt folder or lexicon for (the ICU-registry
export of ``tools/fake_table.py --layout icu_registry`` and the wide ED table of
``tests/test_byo_e2e.py``), made-up rows (drawn from the spec, another seed than the examples')
are narrated through the narrate stage's own code (``pipeline.run``: number guard, repair,
fallback; default model and parameters) once per value of ``spec_examples``, and the run's
metrics printed: what the model wrote (candidates with an unsupported statement, with a loop;
notes whose draft contradicted the row), what was released (fallback notes, notes with an
unsupported statement or a loop, facts the checker reads right per note) and the speed.

    python benchmarks/bench_spec_examples.py --rows 48              # spec_examples 0 and 3
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

app = typer.Typer(add_completion=False, help=__doc__)


def _layouts(folder: Path) -> dict[str, Path]:
    """The two layouts' spec files, written to ``folder``."""
    from tests.test_byo_e2e import SPEC as WIDE_ED
    from tools.fake_table import ICU_REGISTRY_SPEC

    out = {"icu_registry": folder / "icu_registry.yaml", "wide_ed": folder / "wide_ed.yaml"}
    out["icu_registry"].write_text(ICU_REGISTRY_SPEC, encoding="utf-8")
    out["wide_ed"].write_text(WIDE_ED, encoding="utf-8")
    return out


@app.command()
def main(
    rows: Annotated[int, typer.Option(min=1, help="made-up rows narrated per layout and setting")] = 48,
    examples: Annotated[list[int], typer.Option(help="values of narrate.spec_examples")] = [0, 3],  # noqa: B006
    seed: Annotated[int, typer.Option(help="seed of the made-up rows and of narration")] = 1,
    n_threads: Annotated[int, typer.Option(help="narrate.n_threads (0 = every available core)")] = 0,
) -> None:
    """Print, per layout and spec_examples: the draft and release figures of a narrate run."""
    from traumasynth.narrate import pipeline
    from traumasynth.narrate.params import NarrateParams
    from traumasynth.narrate.spec_examples import made_up_rows
    from traumasynth.spec import load_spec

    keys = (
        "unsupported_rate_generated", "loop_rate_generated", "draft_faithfulness_rate", "fallback_rate",
        "unsupported_rate", "loop_rate",
    )  # fmt: skip
    print(f"layout | spec_examples | {' | '.join(keys)} | facts agreed / note | notes/s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, spec_path in _layouts(folder).items():
            spec = load_spec(spec_path)
            table = pd.DataFrame(made_up_rows(spec, rows, np.random.default_rng(seed)))
            table = table.astype({c.name: c.pandas_dtype for c in spec.modelled_columns})  # as `sample` writes it
            synthetic = folder / f"{name}.parquet"
            table.to_parquet(synthetic, index=False)
            for count in examples:
                params = NarrateParams(spec_examples=count, n_rows=rows, n_threads=n_threads)
                out = folder / f"{name}_{count}.parquet"
                metrics = pipeline.run(
                    synthetic_path=synthetic, spec=spec, params=params, seed=seed, prompts_dir=folder / "prompts",
                    lexicons_dir=folder / "lexicons", shard_dir=folder / f"shards_{name}_{count}", out_path=out,
                    metrics_path=folder / f"{name}_{count}.json",
                )  # fmt: skip
                agreed = pd.read_parquet(out)["facts_agreed"].mean()
                figures = " | ".join(f"{metrics[k]:.2f}" for k in keys)
                print(f"{name} | {count} | {figures} | {agreed:.1f} | {metrics['narratives_per_second']:.2f}")


if __name__ == "__main__":
    app()
