"""Score the fact checkers on a labelled set: the hand-written lexicon and the one made from the spec.

    python tools/score_checker.py --labels tests/data/checker_labels/labels.jsonl --dataset ed_trauma_sim
    python tools/score_checker.py --labels <file> --dataset neiss --json metrics/checker/neiss_spec.json

Facts are compared per column (the two lexicons name some facts differently). Prints one table per
lexicon; ``--json`` also writes the figures of the spec's lexicon.

The unsupported-statement and loop checks, on a set labelled for them (``--statements``), and on
a narration output against its synthetic rows (``--narratives`` with ``--synthetic``: every
flagged note is printed, to be read):

    python tools/score_checker.py --statements tests/data/statement_labels/labels.jsonl \\
        --spec tests/data/statement_labels/icu_registry.yaml
    python tools/score_checker.py --dataset ed_trauma_sim --narratives data/narratives/vae.parquet \\
        --synthetic data/synthetic/vae.parquet
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

app = typer.Typer(add_completion=False, help=__doc__)


def _statement_report(statements: Path, spec_path: Path) -> None:
    from traumasynth.experiments.checker_score import load_statement_labels, score_statements
    from traumasynth.narrate.checking.unsupported import SupportRules
    from traumasynth.spec import load_spec

    score = score_statements(
        notes=load_statement_labels(statements), rules=SupportRules.from_spec(load_spec(spec_path))
    )
    print(f"\nunsupported statements and loops, {score.items} notes of {statements}:")
    print(json.dumps(score.to_json(), indent=2))


def _narratives_report(narratives: Path, synthetic: Path, spec_path: Path) -> None:
    import pandas as pd

    from traumasynth.experiments.checker_score import unsupported_on_narratives
    from traumasynth.spec import load_spec

    found = unsupported_on_narratives(
        narratives=pd.read_parquet(narratives), synthetic=pd.read_parquet(synthetic), spec=load_spec(spec_path)
    )
    flagged = [f for f in found if f[2]]
    loops = [f for f in found if f[3]]
    for row_id, text, said, loop in found:
        if said or loop:
            print(f"{row_id}: {list(said)} loop={loop!r}\n    {text}")
    n = max(len(found), 1)
    print(f"\n{narratives}: {len(found)} notes, unsupported_rate {len(flagged) / n:.3f} ({len(flagged)}), "
          f"loop_rate {len(loops) / n:.3f} ({len(loops)})")  # fmt: skip


@app.command()
def main(
    labels: Annotated[
        Path | None, typer.Option(dir_okay=False, help="labelled set (JSON lines, see LABELLING.md)")
    ] = None,
    dataset: Annotated[str, typer.Option(help="dataset name: datasets/<name>.yaml, lexicons/<name>.yaml")] = "",
    datasets_dir: Annotated[Path, typer.Option(file_okay=False)] = REPO / "datasets",
    lexicons_dir: Annotated[Path, typer.Option(file_okay=False)] = REPO / "lexicons",
    json_out: Annotated[Path | None, typer.Option("--json", help="write the spec lexicon's figures here")] = None,
    statements: Annotated[
        Path | None, typer.Option(dir_okay=False, help="set labelled for unsupported statements and loops")
    ] = None,
    spec: Annotated[
        Path | None, typer.Option(dir_okay=False, help="the spec (default: datasets/<dataset>.yaml)")
    ] = None,
    narratives: Annotated[Path | None, typer.Option(dir_okay=False, help="a narration output to check")] = None,
    synthetic: Annotated[Path | None, typer.Option(dir_okay=False, help="the synthetic rows of --narratives")] = None,
) -> None:
    """Print recall and precision per column for each lexicon, and the statement checks' figures."""
    from traumasynth.experiments.checker_score import load_labelled, score_hand_and_spec
    from traumasynth.spec import load_spec

    spec_path = spec if spec is not None else datasets_dir / f"{dataset}.yaml"
    if labels is not None:
        scores = score_hand_and_spec(notes=load_labelled(labels), spec=load_spec(spec_path), lexicons_dir=lexicons_dir)
        for name, score in scores.items():
            print(f"\n{name} lexicon, {score.items} notes of {labels}:\n{score.table()}")
        if json_out is not None:
            json_out.write_text(json.dumps(scores["spec"].to_json(dataset=dataset, lexicon="spec"), indent=2) + "\n")
    if statements is not None:
        _statement_report(statements, spec_path)
    if narratives is not None:
        if synthetic is None:
            raise typer.BadParameter("--narratives needs --synthetic (the rows the notes were written from)")
        _narratives_report(narratives, synthetic, spec_path)


if __name__ == "__main__":
    app()
