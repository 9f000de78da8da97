"""Benchmark: narration throughput, sequential vs batched (``narrate.parallel``).

Not a test. Narrates the same simulated rows with the default prompt (v1) and the embedded
default model, once per ``parallel`` value, one candidate each (the runner's first round:
one ``generate`` call over the rows), and prints notes/s and tokens/s. The values are run
in turn, round after round (A B C A B C ...), so a machine whose speed drifts affects them
alike; the ratio to ``parallel=1`` is taken round by round and its median printed. Each
backend first narrates one row, unmeasured, so the few-shot prefix is cached in all of them,
as it is during a run.

    python benchmarks/bench_narrate.py                            # 24 rows, parallel 1 4 8 16
    python benchmarks/bench_narrate.py --parallel 1 --parallel 8 --rounds 5 --json bench.json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    rows: Annotated[int, typer.Option(help="simulated rows narrated per round")] = 24,
    parallel: Annotated[list[int], typer.Option(help="values of narrate.parallel (1 = sequential)")] = [1, 4, 8, 16],  # noqa: B006
    rounds: Annotated[int, typer.Option(help="measured rounds (each runs every value once)")] = 3,
    max_tokens: Annotated[int, typer.Option(help="narrate.max_tokens")] = 110,
    n_threads: Annotated[int, typer.Option(help="narrate.n_threads (0 = every available core)")] = 0,
    seed: Annotated[int, typer.Option(help="simulator and sampler seed")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the figures here")] = None,
) -> None:
    """Print notes/s and tokens/s per ``parallel`` value, and the median ratio to the first."""
    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.narrate.generation.backend import Request, Sampling
    from traumasynth.narrate.generation.in_process import LlamaCppBackend, resolve_threads
    from traumasynth.narrate.generation.modelfile import resolve_model_path
    from traumasynth.narrate.params import NarrateParams
    from traumasynth.narrate.prompts.templates import load_prompt
    from traumasynth.narrate.runner import candidate_seed
    from traumasynth.spec import load_spec

    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    defaults = NarrateParams()
    template = load_prompt(prompts_dir=REPO / "prompts", dataset=spec.name, version=defaults.prompt_version)
    table = simulate(n_rows=rows, seed=seed, spec=spec)[[c.name for c in spec.modelled_columns]]
    records = table.to_dict(orient="records")
    requests = [
        Request(template.render(r, prompt_format="completion"), candidate_seed(seed, f"row-{i:06d}", 0))
        for i, r in enumerate(records)
    ]
    sampling = Sampling(max_tokens, defaults.temperature, defaults.top_p, template.stop)
    threads = resolve_threads(n_threads)
    model = resolve_model_path("")
    backends = {
        n: LlamaCppBackend(
            model_path=model, n_ctx=defaults.n_ctx, n_threads=threads, n_gpu_layers=0, seed=seed, parallel=n
        )
        for n in parallel
    }
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, {threads} threads; "
          f"{rows} rows, max_tokens {max_tokens}, parallel {parallel}, {rounds} rounds")  # fmt: skip
    for backend in backends.values():  # caches the few-shot prefix, unmeasured
        backend.generate(requests[:1], sampling=sampling)
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in parallel}
    texts: dict[int, list[str]] = {}
    for r in range(rounds):
        for n, backend in backends.items():
            t0 = time.perf_counter()
            gens = backend.generate(requests, sampling=sampling)
            seconds = time.perf_counter() - t0
            tokens = [g.completion_tokens for g in gens]
            runs[n].append({"seconds": seconds, "tokens": sum(tokens), "at_max": sum(t >= max_tokens for t in tokens)})
            texts.setdefault(n, [g.text for g in gens])
            if texts[n] != [g.text for g in gens]:
                print(f"parallel {n}: round {r + 1} generated other texts than round 1 (not deterministic)")
            print(f"round {r + 1} parallel {n:>2}: {seconds:6.1f} s, {rows / seconds:5.2f} notes/s, "
                  f"{sum(tokens) / seconds:6.1f} tokens/s")  # fmt: skip
    for backend in backends.values():
        backend.close()
    base = parallel[0]
    summary: dict[str, Any] = {"rows": rows, "max_tokens": max_tokens, "threads": threads, "results": {}}
    print(f"\n{'parallel':>8} {'notes/s':>8} {'tokens/s':>9} {'tokens/note':>11} {'at max':>6} {'speed-up':>8}")
    for n in parallel:
        notes = statistics.median(rows / x["seconds"] for x in runs[n])
        toks = statistics.median(x["tokens"] / x["seconds"] for x in runs[n])
        ratio = statistics.median(b["seconds"] / x["seconds"] for x, b in zip(runs[n], runs[base], strict=True))
        per_note = statistics.mean(x["tokens"] for x in runs[n]) / rows
        at_max = statistics.mean(x["at_max"] for x in runs[n]) / rows
        same = texts[n] == texts[base]
        summary["results"][n] = {"notes_per_s": notes, "tokens_per_s": toks, "speedup": ratio,
                                 "tokens_per_note": per_note, "share_at_max_tokens": at_max,
                                 "same_texts_as_first": same}  # fmt: skip
        print(f"{n:>8} {notes:8.3f} {toks:9.1f} {per_note:11.1f} {at_max:6.0%} {ratio:7.2f}x")
    if json_out is not None:
        json_out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    app()
