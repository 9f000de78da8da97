"""Scaling benchmark: every stage of the default pipeline at 20,000, 200,000 and 1,000,000 rows.

Not a test. For each size the simulator's cohort (``prepare.n_rows``) is run through the stages of
``dvc.yaml`` exactly as ``dvc repro`` runs them (the same commands, the project's params), in a
scratch folder, one stage at a time, and each stage's wall time and peak resident memory
(``wait4``'s ``ru_maxrss`` of the stage's process tree) are recorded. Only three things differ from
the default run, as issue 28 asks: the row count, narration off (``narrate.n_rows: 0`` and
``evaluate.require_narratives: false``; its cost is per note, see docs/narratives.md) and
``marginals`` trained, sampled and evaluated beside ``base.models``.

DP-SGD is timed over ``--max-steps`` steps (``train_dp_tabular.py --max-steps``) and extrapolated
to the planned steps of the default epochs: the stage's time outside the DP-SGD loop (reading,
the prior's release, saving) is measured, the loop's time per step is measured, and

    seconds = stage wall time - loop seconds + loop seconds / steps taken * planned steps.

Narration costs per note, not per row: it is timed apart, at ``narrate.parallel`` 1, 4 and 16
(``benchmarks/bench_narrate.py``, every core), into ``metrics/narration_speed.csv``.

``--full-train-at`` also trains the models fully at one size and prints the extrapolation's error.
Every stage runs with one OMP/MKL thread by default (``--threads``): threads that spin-wait for a
busy core make a multi-threaded timing depend on whatever else runs (3-5x on this 2-core machine
with one other process), while the ratio between sizes, the figure checked here, does not need them.
Per-row time and memory are then checked against issue 28's targets: time per row at the largest
size at most 1.3x that at the second largest, and peak memory at most 6 GB, with a verdict per
stage.

    python benchmarks/bench_scale.py                                  # 20k, 200k, 1M (~1.5 h on 2 cores)
    python benchmarks/bench_scale.py --sizes 20000 --sizes 200000     # a quick look
    python benchmarks/bench_scale.py --sizes 20000 --narration-notes 0  # no narration timing
    python benchmarks/bench_scale.py --from-csv metrics/scaling.csv     # verdicts of a run already made
    make bench-scale
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from run_all import machine  # noqa: E402 - one owner of the machine facts printed beside figures

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("benchmarks.bench_scale")

#: The stages of dvc.yaml the benchmark runs, in pipeline order (the peers' stages are empty by default).
STAGES = ("prepare", "train_dp_tabular", "sample", "narrate", "evaluate", "compare", "release")
#: What the stages read from the project beside params.yaml (linked into the scratch folder).
SHARED = ("stages", "datasets", "prompts", "lexicons", "peers", ".venv-peers", "metrics/checker")
#: Issue 28's targets.
MAX_TIME_PER_ROW_RATIO = 1.3
MAX_PEAK_RSS_MB = 6 * 1024
CSV_COLUMNS = ("stage", "rows", "seconds", "peak_rss_mb", "rows_per_second", "measured_seconds", "extrapolated")
NARRATION_COLUMNS = (
    "parallel",
    "notes",
    "notes_per_second",
    "seconds_per_note",
    "tokens_per_second",
    "tokens_per_note",
)


@dataclass
class StageTiming:
    """One stage at one size; ``seconds`` is extrapolated for DP-SGD when ``extrapolated``."""

    stage: str
    rows: int
    seconds: float
    peak_rss_mb: float
    rows_per_second: float
    measured_seconds: float
    extrapolated: bool


def stage_commands(dvc_yaml: dict[str, Any], models: list[str]) -> list[tuple[str, str]]:
    """``(name, command)`` of every stage in ``STAGES``, ``foreach`` expanded over ``models``."""
    out: list[tuple[str, str]] = []
    for name in STAGES:
        stage = dvc_yaml["stages"][name]
        if "foreach" in stage:
            out += [(f"{name}@{m}", " ".join(stage["do"]["cmd"].split()).replace("${item}", m)) for m in models]
        else:
            out.append((name, " ".join(stage["cmd"].split())))
    return out


def bench_params(base_params: dict[str, Any], *, rows: int, models: list[str]) -> dict[str, Any]:
    """The project's params with only the row count, narration and the model list changed."""
    params = json.loads(json.dumps(base_params))
    params["prepare"]["n_rows"] = rows
    params["narrate"]["n_rows"] = 0
    params["evaluate"]["require_narratives"] = False  # narration is off: evaluate the tables only
    params["base"]["models"] = models
    return params


def run_measured(command: str, *, cwd: Path, log_path: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` in a shell; returns (wall seconds, peak RSS in MB of its process tree)."""
    start = time.perf_counter()
    with log_path.open("w") as out:
        proc = subprocess.Popen(command, shell=True, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"`{command}` failed ({proc.returncode}); last lines of {log_path}:\n" + "\n".join(tail))
    return seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def extrapolate_training(measured: float, metrics: dict[str, Any]) -> tuple[float, bool]:
    """The stage's seconds at the planned DP-SGD steps, from a run stopped at ``step_limit``."""
    planned = (metrics.get("budget") or {}).get("sgd_steps")
    taken, loop = metrics.get("steps"), metrics.get("sgd_seconds")
    if not metrics.get("step_limit") or not planned or not taken or taken >= planned or loop is None:
        return measured, False
    return measured - loop + loop / taken * planned, True


def prepare_folder(folder: Path, params: dict[str, Any]) -> None:
    """A scratch project: the shared inputs linked, its own params.yaml and empty outputs."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "metrics").mkdir(parents=True)
    for name in SHARED:
        if (REPO / name).exists():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).symlink_to(REPO / name)
    (folder / "data/raw").mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run_size(
    rows: int, *, folder: Path, models: list[str], max_steps: int, full_train: bool, env: dict[str, str]
) -> list[StageTiming]:
    """Every stage at ``rows``; with ``full_train`` the training stages run their full plan as well."""
    base_params = yaml.safe_load((REPO / "params.yaml").read_text())
    prepare_folder(folder, bench_params(base_params, rows=rows, models=models))
    commands = stage_commands(yaml.safe_load((REPO / "dvc.yaml").read_text()), models)
    (folder / "logs").mkdir()
    timings: list[StageTiming] = []
    for name, command in commands:
        training = name.startswith("train_dp_tabular@")
        if training and full_train:
            seconds, rss = run_measured(command, cwd=folder, log_path=folder / f"logs/{name}.full.log", env=env)
            timings.append(StageTiming(f"{name} (full)", rows, seconds, rss, rows / seconds, seconds, False))
        if training:
            command += f" --max-steps {max_steps}"
        log.info("%d rows: %s", rows, name)
        measured, rss = run_measured(command, cwd=folder, log_path=folder / f"logs/{name}.log", env=env)
        seconds, extrapolated = measured, False
        if training:
            model = name.split("@", 1)[1]
            metrics = json.loads((folder / f"metrics/train_{model}.json").read_text())
            seconds, extrapolated = extrapolate_training(measured, metrics)
        timing = StageTiming(name, rows, seconds, rss, rows / seconds, measured, extrapolated)
        log.info("  %.1f s%s, %.0f MB", seconds, " (extrapolated)" if extrapolated else "", rss)
        timings.append(timing)
    return timings


def verdicts(timings: list[StageTiming], sizes: list[int]) -> list[str]:
    """One line per stage: time per row at the largest size vs the second largest, and peak memory."""
    if len(sizes) < 2:
        return ["(one size only: no ratio)"]
    small, large = sorted(sizes)[-2:]
    by = {(t.stage, t.rows): t for t in timings}
    lines = []
    for stage in dict.fromkeys(t.stage for t in timings):
        if (stage, small) not in by or (stage, large) not in by or stage.endswith("(full)"):
            continue
        a, b = by[(stage, small)], by[(stage, large)]
        ratio = (b.seconds / b.rows) / (a.seconds / a.rows)
        ok = ratio <= MAX_TIME_PER_ROW_RATIO and b.peak_rss_mb <= MAX_PEAK_RSS_MB
        lines.append(
            f"{'PASS' if ok else 'FAIL'}  {stage:<24} time/row {large:,}/{small:,} = {ratio:.2f} "
            f"(<= {MAX_TIME_PER_ROW_RATIO}), peak {b.peak_rss_mb:,.0f} MB (<= {MAX_PEAK_RSS_MB:,})"
        )
    return lines


def extrapolation_check(timings: list[StageTiming]) -> list[str]:
    """The extrapolated training time against the full run at the same size."""
    by = {(t.stage, t.rows): t for t in timings}
    lines = []
    for (stage, rows), full in by.items():
        if not stage.endswith(" (full)"):
            continue
        est = by.get((stage.removesuffix(" (full)"), rows))
        if est is not None:
            error = est.seconds / full.seconds - 1
            lines.append(
                f"{stage.removesuffix(' (full)')} at {rows:,} rows: extrapolated {est.seconds:.0f} s, "
                f"full run {full.seconds:.0f} s ({error:+.1%})"
            )
    return lines


def read_csv(path: Path) -> list[StageTiming]:
    """The timings of an earlier run (``--from-csv``), e.g. sizes run as separate processes."""
    with path.open(newline="") as f:
        return [
            StageTiming(
                stage=r["stage"],
                rows=int(r["rows"]),
                seconds=float(r["seconds"]),
                peak_rss_mb=float(r["peak_rss_mb"]),
                rows_per_second=float(r["rows_per_second"]),
                measured_seconds=float(r["measured_seconds"]),
                extrapolated=r["extrapolated"] == "True",
            )
            for r in csv.DictReader(f)
        ]


def print_report(timings: list[StageTiming], sizes: list[int]) -> bool:
    """The table and a verdict per stage; True when every stage passes."""
    print(f"{'stage':<30}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'peak MB':>10}")
    for t in timings:
        mark = "*" if t.extrapolated else ""
        print(f"{t.stage:<30}{t.rows:>10,}{t.seconds:>9.1f}{mark:1}{t.rows_per_second:>12,.0f}{t.peak_rss_mb:>10,.0f}")
    print("* DP-SGD timed over a fixed number of steps and extrapolated to the planned steps\n")
    lines = extrapolation_check(timings) + verdicts(timings, sizes)
    for line in lines:
        print(line)
    return not any(line.startswith("FAIL") for line in lines)


def write_csv(timings: list[StageTiming], path: Path) -> None:
    """``metrics/scaling.csv``: one row per stage and size (the full-training checks left out)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for t in timings:
            if t.stage.endswith("(full)"):
                continue
            row = asdict(t)
            row.update(
                seconds=round(t.seconds, 2),
                peak_rss_mb=round(t.peak_rss_mb, 1),
                rows_per_second=round(t.rows_per_second, 1),
                measured_seconds=round(t.measured_seconds, 2),
            )
            writer.writerow({k: row[k] for k in CSV_COLUMNS})
    tmp.replace(path)


def narration_speed(*, notes: int, parallel: list[int], out: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Narration's cost per note at each ``parallel`` (``benchmarks/bench_narrate.py``, one round, every core).

    Narration costs per note, not per row: ``narrate.n_rows`` notes whatever the table's size.
    """
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "narrate.json"
        command = [sys.executable, str(REPO / "benchmarks/bench_narrate.py"), "--rows", str(notes), "--rounds", "1"]
        command += [arg for n in parallel for arg in ("--parallel", str(n))] + ["--json", str(figures)]
        subprocess.run(command, check=True, env=env, cwd=REPO)
        results = json.loads(figures.read_text())["results"]
    rows = [
        {
            "parallel": int(n),
            "notes": notes,
            "notes_per_second": round(r["notes_per_s"], 3),
            "seconds_per_note": round(1 / r["notes_per_s"], 3),
            "tokens_per_second": round(r["tokens_per_s"], 1),
            "tokens_per_note": round(r["tokens_per_note"], 1),
        }
        for n, r in results.items()
    ]
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=NARRATION_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


@app.command()
def main(
    sizes: Annotated[list[int], typer.Option(help="Rows of the simulated cohort (prepare.n_rows).")] = [  # noqa: B006
        20_000,
        200_000,
        1_000_000,
    ],
    max_steps: Annotated[int, typer.Option(min=1, help="DP-SGD steps timed per model, then extrapolated.")] = 200,
    full_train_at: Annotated[
        int | None, typer.Option(help="Also train fully at this size, to check the extrapolation.")
    ] = None,
    out: Annotated[Path, typer.Option(help="The table (CSV).")] = REPO / "metrics/scaling.csv",
    work_dir: Annotated[Path | None, typer.Option(help="Scratch folder (default: a temporary one).")] = None,
    keep: Annotated[bool, typer.Option(help="Keep the scratch folders (data, logs).")] = False,
    narration_notes: Annotated[
        int, typer.Option(help="Notes per parallel value of the narration timing (0: skip it).")
    ] = 32,
    narration_out: Annotated[Path, typer.Option(help="The narration table (CSV).")] = REPO
    / "metrics/narration_speed.csv",
    threads: Annotated[
        int, typer.Option(help="OMP/MKL threads of every stage (0: the libraries' default, every core).")
    ] = 1,
    from_csv: Annotated[
        Path | None, typer.Option(help="Run nothing: print the table and verdicts of this earlier CSV.")
    ] = None,
) -> None:
    """Run the pipeline at every size, write ``--out`` and print a verdict per stage."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if from_csv is not None:
        timings = read_csv(from_csv)
        if not print_report(timings, sorted({t.rows for t in timings})):
            raise typer.Exit(1)
        return
    base_models = list(yaml.safe_load((REPO / "params.yaml").read_text())["base"]["models"])
    models = base_models + [m for m in ("marginals",) if m not in base_models]
    # The stages run this checkout's code with this interpreter: a benchmark of a git worktree
    # (`git worktree add`) times that commit, whatever is being edited in the main checkout.
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep),
    )
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    root = work_dir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    facts = machine()
    log.info("machine: %s", facts)
    timings: list[StageTiming] = []
    try:
        for rows in sorted(sizes):
            timings += run_size(
                rows,
                folder=root / f"rows_{rows}",
                models=models,
                max_steps=max_steps,
                full_train=rows == full_train_at,
                env=env,
            )
            write_csv(timings, out)  # after every size: a long run keeps what it finished
    finally:
        if not keep and work_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB, {dt.date.today()}")
    passed = print_report(timings, sizes)
    if narration_notes:
        narration_env = {k: v for k, v in env.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        speed = narration_speed(notes=narration_notes, parallel=[1, 4, 16], out=narration_out, env=narration_env)
        print(
            "\nnarration (default CPU model, every core): "
            + "; ".join(f"parallel {r['parallel']}: {r['seconds_per_note']:.2f} s/note" for r in speed)
        )
    if not passed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
