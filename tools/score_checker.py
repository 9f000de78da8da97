"""Score the fact checkers on a labelled set: the hand-written lexicon and the one made from the spec.

    python tools/score_checker.py --labels tests/data/checker_labels/labels.jsonl --dataset ed_trauma_sim
    python tools/score_checker.py --labels <file> --dataset neiss --json metrics/checker/neiss_spec.json

Facts are compared per column (the two lexicons name some facts differently). Prints one table per
lexicon; ``--json`` also writes the figures of the spec's lexicon.
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


@app.command()
def main(
    labels: Annotated[Path, typer.Option(dir_okay=False, help="labelled set (JSON lines, see LABELLING.md)")],
    dataset: Annotated[str, typer.Option(help="dataset name: datasets/<name>.yaml, lexicons/<name>.yaml")],
    datasets_dir: Annotated[Path, typer.Option(file_okay=False)] = REPO / "datasets",
    lexicons_dir: Annotated[Path, typer.Option(file_okay=False)] = REPO / "lexicons",
    json_out: Annotated[Path | None, typer.Option("--json", help="write the spec lexicon's figures here")] = None,
) -> None:
    """Print recall and precision per column for each lexicon."""
    from traumasynth.experiments.checker_score import load_labelled, score_hand_and_spec
    from traumasynth.spec import load_spec

    spec = load_spec(datasets_dir / f"{dataset}.yaml")
    scores = score_hand_and_spec(notes=load_labelled(labels), spec=spec, lexicons_dir=lexicons_dir)
    for name, score in scores.items():
        print(f"\n{name} lexicon, {score.items} notes of {labels}:\n{score.table()}")
    if json_out is not None:
        json_out.write_text(json.dumps(scores["spec"].to_json(dataset=dataset, lexicon="spec"), indent=2) + "\n")


if __name__ == "__main__":
    app()
