"""Benchmark: training throughput with and without DP, per Opacus grad_sample_mode.

Not a test. Trains the same model on the same simulated rows with the same batch size
without DP and with DP under each per-example clipping mode (ghost, hooks, functorch),
each in a fresh process so its peak memory (RSS, ``resource.getrusage``) is its own,
and prints the median rows/s over a few repeats, the DP/non-DP slowdown (target ≤ 2x)
and whether each mode computes the same update as the reference ``hooks`` mode.

    python benchmarks/bench_train.py                      # 8,000 rows, vae, batch 1024
    python benchmarks/bench_train.py --model ddpm --rows 5000 --repeats 3 --json bench.json
"""

from __future__ import annotations

import json
import multiprocessing as mp
import platform
import resource
import statistics
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODES = ("none", "ghost", "hooks", "functorch")
app = typer.Typer(add_completion=False, help=__doc__)


def _run_mode(mode: str, model: str, rows: int, batch_size: int, epochs: int, repeats: int, threads: int) -> dict:
    """One process per mode: train ``repeats`` times, return speeds, curves and peak RSS."""
    import torch

    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.spec import load_spec
    from traumasynth.training import TrainParams, train_synthesizer

    torch.set_num_threads(threads)
    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    data = simulate(n_rows=rows, seed=0, spec=spec)
    params = TrainParams(
        epsilon=None if mode == "none" else 3.0,
        delta=1e-5 if rows > 1e5 else 10.0 ** -(len(str(rows)) + 1),
        accountant="rdp",
        epochs=epochs,
        batch_size=batch_size,
        device="cpu",
        grad_sample_mode="ghost" if mode == "none" else mode,
    )
    speeds, cpu_speeds, curves = [], [], []
    for _ in range(repeats):
        _, result = train_synthesizer(model=model, data=data, spec=spec, params=params, seed=1)
        speeds.append(result.rows_per_second)
        cpu_speeds.append(result.n_rows * result.epochs / result.cpu_seconds)
        curves.append([loss for _, loss in result.loss_curve])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "mode": mode,
        "rows_per_second": speeds,
        "rows_per_cpu_second": cpu_speeds,
        "loss_curve": curves[0],
        "peak_rss_mib": peak_kib / 1024,
    }


@app.command()
def main(
    model: Annotated[str, typer.Option(help="Synthesizer to benchmark.")] = "vae",
    rows: Annotated[int, typer.Option(help="Simulated training rows.")] = 8_000,
    batch_size: Annotated[int, typer.Option(help="Expected batch size, the same in every mode.")] = 1024,
    epochs: Annotated[int, typer.Option(help="Epochs per timed run.")] = 2,
    repeats: Annotated[int, typer.Option(help="Timed runs per mode (the median is reported).")] = 3,
    threads: Annotated[int, typer.Option(help="torch threads per run (1 makes CPU time a clean cost).")] = 1,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON.")] = None,
) -> None:
    """Print rows/s with and without DP, their ratio, and peak memory, per grad_sample_mode."""
    ctx = mp.get_context("spawn")
    results: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        with ctx.Pool(1) as pool:
            results[mode] = pool.apply(_run_mode, (mode, model, rows, batch_size, epochs, repeats, threads))
        for key in ("rows_per_second", "rows_per_cpu_second"):
            results[mode][f"median_{key}"] = statistics.median(results[mode][key])
        typer.echo(f"  {mode}: wall {results[mode]['rows_per_second']} rows/s", err=True)
    base = results["none"]["median_rows_per_cpu_second"]
    ref = results["hooks"]["loss_curve"]
    typer.echo(
        f"model={model} rows={rows} batch={batch_size} epochs={epochs} repeats={repeats} threads={threads} "
        f"torch-cpu on {platform.processor() or platform.machine()}"
    )
    typer.echo(
        "Slowdown compares CPU time (robust to other processes on a shared machine); wall rows/s is as measured."
    )
    typer.echo(
        f"{'mode':<10}{'rows/s wall':>12}{'rows/CPU-s':>12}{'DP slowdown':>13}{'peak RSS MiB':>14}"
        "  same update as hooks"
    )
    for mode, res in results.items():
        res["slowdown_vs_no_dp"] = base / res["median_rows_per_cpu_second"]
        curve = res["loss_curve"]
        same = "-" if mode == "none" else str(all(abs(a - b) <= 1e-3 * abs(b) for a, b in zip(curve, ref, strict=True)))
        res["same_update_as_hooks"] = same
        typer.echo(
            f"{mode:<10}{res['median_rows_per_second']:>12.0f}{res['median_rows_per_cpu_second']:>12.0f}"
            f"{res['slowdown_vs_no_dp']:>12.2f}x{res['peak_rss_mib']:>14.0f}  {same}"
        )
    correct = [m for m in MODES if m != "none" and results[m]["same_update_as_hooks"] == "True"]
    fastest = max(correct, key=lambda m: results[m]["median_rows_per_cpu_second"])
    typer.echo(
        f"fastest correct DP mode: {fastest} "
        f"({results[fastest]['slowdown_vs_no_dp']:.2f}x the non-DP CPU time; target ≤ 2x)"
    )
    if json_out is not None:
        json_out.write_text(
            json.dumps(
                {
                    "model": model,
                    "rows": rows,
                    "batch_size": batch_size,
                    "epochs": epochs,
                    "results": results,
                    "fastest": fastest,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    app()
