"""All benchmark figures in one run: DP overhead, training, sampling and narration speed, and `dvc repro` time.

Not a test. Measured in one process tree on this machine, medians of ``--repeats`` runs:

1. DP-SGD overhead per model: non-DP time / DP time at the same rows, batch and epochs
   (``benchmarks/bench_train.py``'s runner, one fresh process per setting);
2. training rows/s with DP (ghost clipping, the default);
3. sampling rows/s of the trained model (``Synthesizer.sample``);
4. narration narratives/s with the default CPU model (Gemma 3 270M, llama.cpp in process);
5. the wall time of a full ``dvc repro`` of a fresh clone on the default data (once: ``--repro``).

    python benchmarks/run_all.py                        # 1-4, about 10 minutes on 2 cores
    python benchmarks/run_all.py --repro --json bench.json
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_train import _run_mode  # noqa: E402 - the training runner is shared, not duplicated

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("benchmarks.run_all")


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model (from /proc/cpuinfo) and the date, to print beside every figure."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        cpu = names[0] if names else cpu
    mem_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total = next((line for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")), "")
        mem_gib = round(int(total.split()[1]) / 1024**2, 1) if total else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _spawn(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` in a fresh process (clean torch threads and memory), as bench_train does."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _sampling_speed(model: str, rows: int, epochs: int, repeats: int, threads: int) -> dict[str, Any]:
    """Train ``model`` briefly with DP, then time ``sample(rows)`` ``repeats`` times (rows/s each)."""
    import torch

    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.spec import load_spec
    from traumasynth.training import TrainParams, train_synthesizer

    torch.set_num_threads(threads)
    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    data = simulate(n_rows=rows, seed=0, spec=spec)
    params = TrainParams(epsilon=3.0, delta=1e-6, epochs=epochs, device="cpu")
    synth, _ = train_synthesizer(model=model, data=data, spec=spec, params=params, seed=1)
    speeds = []
    for k in range(repeats):
        start = time.perf_counter()
        synth.sample(rows, seed=k)
        speeds.append(rows / (time.perf_counter() - start))
    return {"rows_per_second": speeds}


def _narration_speed(rows: int, repeats: int) -> dict[str, Any]:
    """Narrate ``rows`` simulated rows with the default narrate params (default CPU model), ``repeats`` times.

    Returns narratives/s of each run, and the faithfulness and distinct-2 of the first (the
    same rows and seed give the same notes, so the others would repeat them).
    """
    import pandas as pd

    from traumasynth.core.params import load_section
    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.evaluate.text import distinct_n
    from traumasynth.narrate import pipeline
    from traumasynth.narrate.params import NarrateParams
    from traumasynth.spec import load_spec

    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    params = load_section(REPO / "params.yaml", "narrate", NarrateParams).model_copy(update={"n_rows": rows})
    speeds: list[float] = []
    quality: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-narrate-") as tmp:
        table = Path(tmp) / "synthetic.parquet"
        simulate(n_rows=rows, seed=0, spec=spec).to_parquet(table, index=False)
        for k in range(repeats):
            run = Path(tmp) / f"run{k}"  # a fresh shard folder, or the runner would resume the last run
            metrics = pipeline.run(
                synthetic_path=table, spec=spec, params=params, seed=0, prompts_dir=REPO / "prompts",
                shard_dir=run / "shards", out_path=run / "narratives.parquet", metrics_path=run / "metrics.json",
            )  # fmt: skip
            speeds.append(metrics["narratives_per_second"])
            if not quality:
                notes = pd.read_parquet(run / "narratives.parquet")["narrative"].tolist()
                keys = ("faithfulness_rate", "draft_faithfulness_rate", "mean_candidates", "tokens_per_second")
                quality = {k: metrics[k] for k in keys} | {"distinct_2": distinct_n(notes, n=2)}
    return {"narratives_per_second": speeds, **quality}


def repro_seconds(*, venv_bin: Path) -> float:
    """Wall seconds of ``dvc repro`` in a fresh clone of the committed project (default params and data)."""
    with tempfile.TemporaryDirectory(prefix="bench-repro-") as tmp:
        clone = Path(tmp) / "traumasynth"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        env = os.environ | {"PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        start = time.perf_counter()
        subprocess.run([str(venv_bin / "dvc"), "repro"], cwd=clone, env=env, check=True)
        return time.perf_counter() - start


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


@app.command()
def main(
    models: Annotated[str, typer.Option(help="Comma-separated synthesizers to time.")] = "vae,ddpm",
    rows: Annotated[int, typer.Option(help="Simulated training rows (the default cohort's train split).")] = 13_000,
    batch_size: Annotated[int, typer.Option(help="Expected batch size, the same with and without DP.")] = 512,
    epochs: Annotated[int, typer.Option(help="Epochs per timed training run.")] = 2,
    repeats: Annotated[int, typer.Option(help="Timed runs per figure (the median is reported).")] = 3,
    threads: Annotated[int, typer.Option(help="torch threads per run.")] = 2,
    narrate_rows: Annotated[int, typer.Option(help="Rows narrated per timed run (0: skip narration).")] = 100,
    repro: Annotated[bool, typer.Option(help="Also time a full `dvc repro` of a fresh clone (long).")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON.")] = None,
) -> None:
    """Print every benchmark figure of BENCHMARKS.md, measured now, with the machine they were measured on."""
    logging.basicConfig(level=logging.WARNING)
    info = machine()
    figures: dict[str, Any] = {"machine": info, "settings": {"rows": rows, "batch_size": batch_size,
                               "epochs": epochs, "repeats": repeats, "threads": threads}, "models": {}}  # fmt: skip
    for model in [m.strip() for m in models.split(",") if m.strip()]:
        plain = _spawn(_run_mode, "none", model, rows, batch_size, epochs, repeats, threads)
        dp = _spawn(_run_mode, "ghost", model, rows, batch_size, epochs, repeats, threads)
        sampling = _spawn(_sampling_speed, model, rows, 1, repeats, threads)
        figures["models"][model] = {
            "train_rows_per_second_no_dp": _median(plain["rows_per_second"]),
            "train_rows_per_second_dp": _median(dp["rows_per_second"]),
            "dp_overhead": _median(plain["rows_per_second"]) / _median(dp["rows_per_second"]),
            "sample_rows_per_second": _median(sampling["rows_per_second"]),
        }
    if narrate_rows > 0:
        narration = _spawn(_narration_speed, narrate_rows, repeats)
        figures["narratives_per_second"] = _median(narration["narratives_per_second"])
        figures["narration"] = {k: v for k, v in narration.items() if k != "narratives_per_second"}
    if repro:
        figures["dvc_repro_seconds"] = repro_seconds(venv_bin=Path(sys.executable).parent)
    info["load_average_1m_end"] = round(os.getloadavg()[0], 2)  # other work on the machine skews every figure

    typer.echo(
        f"{info['date']} · {info['cpu']} · {info['cores']} cores · {info['memory_gib']} GiB · "
        f"load {info['load_average_1m']}→{info['load_average_1m_end']} · Python {info['python']}"
    )
    typer.echo(f"rows={rows} batch={batch_size} epochs={epochs} threads={threads}, median of {repeats} runs")
    typer.echo(f"{'model':<10}{'DP/non-DP time':>16}{'train rows/s (DP)':>19}{'train rows/s (no DP)':>22}"
               f"{'sample rows/s':>15}")  # fmt: skip
    for model, f in figures["models"].items():
        typer.echo(
            f"{model:<10}{f['dp_overhead']:>15.2f}x{f['train_rows_per_second_dp']:>19.0f}"
            f"{f['train_rows_per_second_no_dp']:>22.0f}{f['sample_rows_per_second']:>15.0f}"
        )
    if "narratives_per_second" in figures:
        q = figures["narration"]
        typer.echo(
            f"narration ({narrate_rows} rows, default params, default CPU model): "
            f"{figures['narratives_per_second']:.2f} narratives/s, {q['tokens_per_second']:.0f} tokens/s; "
            f"faithfulness {q['faithfulness_rate']:.3f} (drafts {q['draft_faithfulness_rate']:.3f}), "
            f"{q['mean_candidates']:.2f} candidates/row, distinct-2 {q['distinct_2']:.3f}"
        )
    if "dvc_repro_seconds" in figures:
        typer.echo(f"full dvc repro (fresh clone, default data): {figures['dvc_repro_seconds']:.0f} s")
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    app()
