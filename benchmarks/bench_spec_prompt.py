"""Benchmark: layouts of the zero-shot prompt made from the spec (``narrate.spec_prompt``).

Not a test. Narrates the same simulated ed_trauma_sim rows with each layout (facts inline or one
a line; the note's opening written for the model: none, age and sex, or those and the target),
one candidate each, with the embedded default model (Gemma 3 270M), and reads the notes with the
hand-written lexicon: how often age, sex and mechanism are stated, and how many contradictions
the notes hold.

    python benchmarks/bench_spec_prompt.py --rows 10 --n-threads 1
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    rows: Annotated[int, typer.Option(help="simulated rows narrated per layout")] = 10,
    n_threads: Annotated[int, typer.Option(help="llama.cpp threads")] = 1,
    seed: Annotated[int, typer.Option(help="simulator and sampler seed")] = 0,
    show: Annotated[bool, typer.Option(help="print every note")] = False,
) -> None:
    """Print, per layout: share of notes stating age, sex, mechanism; contradictions per note."""
    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.narrate.checking.factcheck import check_narrative
    from traumasynth.narrate.checking.facts import load_lexicon
    from traumasynth.narrate.generation.backend import Request, Sampling
    from traumasynth.narrate.generation.in_process import LlamaCppBackend
    from traumasynth.narrate.generation.modelfile import resolve_model_path
    from traumasynth.narrate.params import NarrateParams
    from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
    from traumasynth.narrate.runner import candidate_seed
    from traumasynth.spec import load_spec

    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    lexicon = load_lexicon(dataset=spec.name, directory=REPO / "lexicons")
    assert lexicon is not None
    defaults = NarrateParams()
    table = simulate(n_rows=rows, seed=seed, spec=spec)[[c.name for c in spec.modelled_columns]]
    records = table.to_dict(orient="records")
    backend = LlamaCppBackend(
        model_path=resolve_model_path(""), n_ctx=defaults.n_ctx, n_threads=n_threads, n_gpu_layers=0, seed=seed,
        parallel=1,
    )  # fmt: skip
    layouts = {
        "inline+core": SpecPrompt(spec=spec, layout="inline", opening="core"),
        "lines+core": SpecPrompt(spec=spec, layout="lines", opening="core"),
        "inline+age_sex": SpecPrompt(spec=spec, layout="inline", opening="age_sex"),
        "lines+age_sex": SpecPrompt(spec=spec, layout="lines", opening="age_sex"),
        "inline": SpecPrompt(spec=spec, layout="inline", opening="none"),
        "lines": SpecPrompt(spec=spec, layout="lines", opening="none"),
    }
    print(f"{'layout':<16} {'age':>5} {'sex':>5} {'mech':>5} {'contra/note':>11} {'faithful':>8} {'tokens':>6}")
    for name, prompt in layouts.items():
        sampling = Sampling(defaults.max_tokens, defaults.temperature, defaults.top_p, prompt.stop)
        prompts = [prompt.render(r, prompt_format="completion") for r in records]
        gens = backend.generate(
            [Request(p, candidate_seed(seed, f"row-{i:06d}", 0)) for i, p in enumerate(prompts)], sampling=sampling
        )
        stated = {"age": 0, "sex": 0, "mechanism": 0}
        contra = faithful = tokens = 0
        for p, g, row in zip(prompts, gens, records, strict=True):
            note = " ".join(f"{p.note_prefix} {g.text}".split())
            check = check_narrative(narrative=note, row=row, lexicon=lexicon)
            for fact in stated:
                stated[fact] += fact not in check.omissions
            contra += len(check.contradictions)
            faithful += not check.contradictions
            tokens += g.completion_tokens
            if show:
                print(f"  [{name}] {note}\n    -> {list(check.contradictions)}")
        n = len(records)
        print(f"{name:<16} {stated['age'] / n:5.2f} {stated['sex'] / n:5.2f} {stated['mechanism'] / n:5.2f} "
              f"{contra / n:11.2f} {faithful / n:8.2f} {tokens / n:6.1f}")  # fmt: skip
    backend.close()


if __name__ == "__main__":
    app()
