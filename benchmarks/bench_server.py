"""Benchmark: narration through llama.cpp's ``llama-server`` with parallel slots (GPU in one command).

Not a test. Builds ``llama-server`` from the llama.cpp that the installed llama-cpp-python
vendors (its sdist, fetched with pip; CUDA when ``nvcc`` and a GPU are both found, else CPU)
into ``~/.cache/traumasynth/llama.cpp-<version>-<cpu|cuda>``, reused when present. Then, per
configuration (slots per server x servers x threads per server), starts the server(s) with
``--parallel SLOTS`` (continuous batching, ``-c`` = SLOTS x ``narrate.n_ctx``), narrates the
same simulated rows through the project's ``ServerBackend`` (prompt v1, one candidate each,
SLOTS x SERVERS requests in flight), and prints narratives/s, tokens/s and the GPU memory in
use (nvidia-smi; "n/a (CPU)" without a GPU) as a table, then the figures as one JSON line.
Each configuration first narrates one row per slot, unmeasured (the few-shot prefix is then
cached in every slot); the figures are medians over ``--rounds``.

    python benchmarks/bench_server.py                                  # default model, slots 1 4 16
    python benchmarks/bench_server.py --model /models/medgemma-27b-it-Q4_K_M.gguf --prompt-format chat
    python benchmarks/bench_server.py --slots 8 --servers 1 --servers 2 --threads 1 --threads 2 --interleave
    python benchmarks/bench_server.py --build-only                     # just build llama-server

Configurations whose servers x threads exceed the available cores are skipped on CPU
(llama.cpp's threads spin: oversubscribed they collapse). ``--interleave`` keeps every
configuration's servers up and runs them in turn, round after round (A B C A B C ...), so a
machine whose speed drifts affects them alike (GPU memory is then the increase each
configuration's servers caused).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import itertools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

app = typer.Typer(add_completion=False, help=__doc__)

CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary
    "-DLLAMA_CURL=OFF",  # no model downloads (older llama.cpp; unused by newer ones)
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",  # no web UI: nothing fetched at build time
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "traumasynth"


def gpu_visible() -> bool:
    """Whether nvidia-smi lists at least one GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    res = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return res.returncode == 0 and "GPU" in res.stdout


def choose_accel(accel: str) -> str:
    """``cuda`` or ``cpu``; ``auto`` = cuda when nvcc is on PATH and a GPU is visible.

    nvcc alone is not enough: a CUDA toolkit without a GPU (CI images) would build for an hour
    a server that then runs on the CPU anyway.
    """
    if accel != "auto":
        return accel
    return "cuda" if shutil.which("nvcc") is not None and gpu_visible() else "cpu"


def gpu_memory_mib() -> int | None:
    """nvidia-smi's used memory over all GPUs, MiB (None without a GPU)."""
    if not gpu_visible():
        return None
    res = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        return None
    return sum(int(x) for x in res.stdout.split() if x.strip().isdigit())


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (two builds into one folder wait for each other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_sdist(version: str, dest: Path) -> Path:
    """llama-cpp-python's sdist of ``version`` in ``dest`` (pip download; pip's cache is reused).

    ``--no-binary`` names llama-cpp-python alone: ``:all:`` would also refuse wheels for the
    sdist's build requirements (scikit-build-core, cmake), which pip then compiles from source to
    read the sdist's metadata (over 20 minutes with an empty cache, against seconds).
    """
    sdist = dest / f"llama_cpp_python-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}"]
        cmd += ["--no-binary", "llama-cpp-python", "--no-deps", "--quiet", "-d", tmp]
        log(f"fetching the llama-cpp-python {version} sdist: {' '.join(cmd[2:])}")
        subprocess.run(cmd, check=True)
        (got,) = Path(tmp).glob("llama_cpp_python-*.tar.gz")
        got.replace(sdist)
    return sdist


def extract_vendor(sdist: Path, version: str, dest: Path) -> None:
    """Unpack the sdist's vendor/llama.cpp into ``dest``."""
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp, tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise SystemExit(f"{sdist} holds no {prefix}")
        tar.extractall(tmp, members=members, filter="data")
        shutil.rmtree(dest, ignore_errors=True)
        (Path(tmp) / prefix).replace(dest)


def build_llama_server(accel: str, *, jobs: int | None = None) -> Path:
    """Path of ``llama-server`` built for ``accel`` (cpu or cuda) from llama-cpp-python's llama.cpp.

    Built once into ``<cache>/llama.cpp-<version>-<accel>``; a finished build leaves a stamp
    file and is reused.
    """
    version = importlib.metadata.version("llama-cpp-python")
    home = cache_root() / f"llama.cpp-{version}-{accel}"
    binary = home / "build" / "bin" / "llama-server"
    stamp = home / "build" / "traumasynth-built"
    with locked(cache_root() / f".llama.cpp-{version}-{accel}.lock"):
        if stamp.is_file() and binary.is_file():
            return binary
        t0 = time.perf_counter()
        home.mkdir(parents=True, exist_ok=True)
        src = home / "src"
        if not (src / "CMakeLists.txt").is_file():
            extract_vendor(fetch_sdist(version, cache_root() / "sdist"), version, src)
        flags = [*CMAKE_FLAGS, f"-DGGML_CUDA={'ON' if accel == 'cuda' else 'OFF'}"]
        if accel == "cuda":
            flags.append("-DCMAKE_CUDA_ARCHITECTURES=native")  # only the GPU(s) here: a shorter build
        jobs = jobs or os.cpu_count() or 1
        log(f"building llama-server ({accel}, llama.cpp of llama-cpp-python {version}) into {home}, {jobs} jobs")
        cmake = cmake_binary()
        subprocess.run([cmake, "-S", str(src), "-B", str(home / "build"), *flags], check=True, stdout=sys.stderr)
        build = [cmake, "--build", str(home / "build"), "--target", "llama-server", "-j", str(jobs)]
        subprocess.run(build, check=True, stdout=sys.stderr)
        stamp.write_text(f"{version} {accel} built in {time.perf_counter() - t0:.0f} s\n")
        log(f"built {binary} in {time.perf_counter() - t0:.0f} s")
    return binary


def cmake_binary() -> str:
    """cmake: the one pip installed beside this Python (the dev extra), else the one on PATH."""
    beside = Path(sys.executable).with_name("cmake")
    if beside.is_file():
        return str(beside)
    found = shutil.which("cmake")
    if found is None:
        raise SystemExit("cmake not found: `pip install cmake` (or the project's dev extra), or your system's package")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One running llama-server."""

    proc: subprocess.Popen[bytes]
    url: str
    log_file: IO[bytes]

    def log_tail(self) -> str:
        self.log_file.flush()
        return Path(self.log_file.name).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def start_server(binary: Path, *, model: Path, slots: int, n_ctx: int, threads: int, gpu: bool, logs: Path) -> Server:
    """Start llama-server and wait until /health answers 200 (the model is loaded)."""
    port = free_port()
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--parallel", str(slots), "--cont-batching", "-c", str(slots * n_ctx)]
    cmd += ["--threads", str(threads), "--threads-batch", str(threads), "-ngl", "99" if gpu else "0"]
    cmd += ["--no-webui", "--no-warmup"]
    log_file = (logs / f"llama-server-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log_file)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"llama-server exited ({server.proc.returncode}): {' '.join(cmd)}\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=5) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    server.stop()
    raise SystemExit(f"llama-server did not load {model} within 600 s:\n{server.log_tail()}")


@dataclass
class Config:
    """Slots per server x servers x threads per server, and what was measured."""

    slots: int
    servers: int
    threads: int
    running: list[Server] = field(default_factory=list)
    backend: Any = None
    gpu_mib: int | None = None
    runs: list[dict[str, float]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.slots} slots x {self.servers} server(s) x {self.threads} thread(s)"


def configs_for(slots: list[int], servers: list[int], threads: list[int], *, cpu: bool, cores: int) -> list[Config]:
    """Every combination; threads 0 = the cores split over the servers; on CPU none oversubscribed."""
    out = []
    for s, k, t in itertools.product(slots, servers, threads):
        t = t or max(1, cores // k)
        if cpu and k * t > cores:
            log(f"skipped {s} slots x {k} servers x {t} threads: {k * t} threads > {cores} cores")
            continue
        out.append(Config(s, k, t))
    return out


@app.command()
def main(
    model: Annotated[str, typer.Option(help="GGUF file; '' = the project's default model")] = "",
    slots: Annotated[list[int], typer.Option(help="parallel slots per server (--parallel)")] = [1, 4, 16],  # noqa: B006
    servers: Annotated[list[int], typer.Option(help="llama-server processes, requests spread over them")] = [1],  # noqa: B006
    threads: Annotated[list[int], typer.Option(help="threads per server (0 = the cores split over the servers)")] = [0],  # noqa: B006
    rows: Annotated[int, typer.Option(help="simulated rows narrated per round")] = 24,
    rounds: Annotated[int, typer.Option(help="measured rounds per configuration")] = 3,
    max_tokens: Annotated[int, typer.Option(help="narrate.max_tokens")] = 110,
    n_ctx: Annotated[int, typer.Option(help="context per slot (narrate.n_ctx); -c = slots x this")] = 2048,
    prompt_format: Annotated[str, typer.Option(help="completion (base models) or chat (MedGemma)")] = "completion",
    accel: Annotated[str, typer.Option(help="auto, cpu or cuda (auto: cuda when nvcc and a GPU are found)")] = "auto",
    interleave: Annotated[bool, typer.Option(help="keep every configuration up and run them in turn")] = False,
    build_jobs: Annotated[int, typer.Option(help="parallel compile jobs (0 = every core)")] = 0,
    build_only: Annotated[bool, typer.Option(help="build llama-server, print its path and stop")] = False,
    seed: Annotated[int, typer.Option(help="simulator and sampler seed")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the figures here")] = None,
) -> None:
    """Print narratives/s, tokens/s and GPU memory per configuration, as a table and a JSON line."""
    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.narrate.generation.backend import Request, Sampling
    from traumasynth.narrate.generation.in_process import available_cores
    from traumasynth.narrate.generation.modelfile import resolve_model_path
    from traumasynth.narrate.generation.server import ServerBackend
    from traumasynth.narrate.params import NarrateParams
    from traumasynth.narrate.prompts.templates import load_prompt
    from traumasynth.narrate.runner import candidate_seed
    from traumasynth.spec import load_spec

    if accel not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("--accel is auto, cpu or cuda")
    accel = choose_accel(accel)
    t_build = time.perf_counter()
    binary = build_llama_server(accel, jobs=build_jobs or None)
    build_s = time.perf_counter() - t_build
    if build_only:
        print(binary)
        return
    model_path = resolve_model_path(model)
    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    defaults = NarrateParams()
    template = load_prompt(prompts_dir=REPO / "prompts", dataset=spec.name, version=defaults.prompt_version)
    table = simulate(n_rows=rows, seed=seed, spec=spec)[[c.name for c in spec.modelled_columns]]
    requests = [
        Request(template.render(r, prompt_format=prompt_format), candidate_seed(seed, f"row-{i:06d}", 0))  # type: ignore[arg-type]
        for i, r in enumerate(table.to_dict(orient="records"))
    ]
    sampling = Sampling(max_tokens, defaults.temperature, defaults.top_p, template.stop)
    cores = available_cores()
    configs = configs_for(slots, servers, threads, cpu=accel == "cpu", cores=cores)
    print(f"{platform.processor() or platform.machine()}, {cores} cores, llama-server {accel} ({binary}); "
          f"{model_path.name}, {rows} rows, max_tokens {max_tokens}, {prompt_format}, {rounds} rounds"
          f"{', interleaved' if interleave else ''}", flush=True)  # fmt: skip

    def up(c: Config, logs: Path) -> None:
        before = gpu_memory_mib()
        for _ in range(c.servers):
            server = start_server(
                binary, model=model_path, slots=c.slots, n_ctx=n_ctx, threads=c.threads, gpu=accel == "cuda", logs=logs
            )
            c.running.append(server)
        c.backend = ServerBackend(
            urls=[s.url for s in c.running], concurrency=0, retries=2, timeout_s=max(600.0, 10.0 * rows)
        )
        c.backend.generate(requests[: c.slots * c.servers], sampling=sampling)  # fills every slot's prefix cache
        after = gpu_memory_mib()
        c.gpu_mib = None if after is None else after - (before or 0) if interleave else after

    def measure(c: Config, r: int) -> None:
        t0 = time.perf_counter()
        gens = c.backend.generate(requests, sampling=sampling)
        seconds = time.perf_counter() - t0
        tokens = sum(g.completion_tokens for g in gens)
        c.runs.append({"seconds": seconds, "tokens": tokens})
        c.texts = [g.text for g in gens]
        print(f"round {r + 1} {c.label}: {seconds:6.1f} s, {rows / seconds:6.2f} narratives/s, "
              f"{tokens / seconds:7.1f} tokens/s", flush=True)  # fmt: skip

    def down(c: Config) -> None:
        if c.backend is not None:
            c.backend.close()
        for s in c.running:
            s.stop()
        c.running.clear()

    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        try:
            if interleave:
                for c in configs:
                    up(c, Path(tmp))
                for r in range(rounds):
                    for c in configs:
                        measure(c, r)
            else:
                for c in configs:
                    up(c, Path(tmp))
                    for r in range(rounds):
                        measure(c, r)
                    down(c)
        finally:
            for c in configs:
                down(c)

    summary: dict[str, Any] = {
        "accel": accel, "model": model_path.name, "rows": rows, "max_tokens": max_tokens, "rounds": rounds,
        "cores": cores, "interleaved": interleave, "build_seconds": round(build_s, 1), "results": [],
    }  # fmt: skip
    base = configs[0]
    print(f"\n{'slots':>5} {'servers':>7} {'threads':>7} {'narratives/s':>12} {'tokens/s':>9} {'vs first':>8} "
          f"{'GPU memory':>14} {'empty':>5}")  # fmt: skip
    for c in configs:
        notes = statistics.median(rows / x["seconds"] for x in c.runs)
        toks = statistics.median(x["tokens"] / x["seconds"] for x in c.runs)
        # Ratio to the first configuration round by round (meaningful when interleaved).
        ratio = statistics.median(b["seconds"] / x["seconds"] for x, b in zip(c.runs, base.runs, strict=True))
        gpu = "n/a (CPU)" if c.gpu_mib is None else f"{c.gpu_mib} MiB"
        empty = sum(not t.strip() for t in c.texts)
        summary["results"].append({
            "slots": c.slots, "servers": c.servers, "threads": c.threads, "narratives_per_s": round(notes, 4),
            "tokens_per_s": round(toks, 2), "ratio_to_first": round(ratio, 3), "gpu_memory_mib": c.gpu_mib,
            "in_flight": c.backend.concurrency, "narratives": len(c.texts), "empty_narratives": empty,
            "example": c.texts[0][:200] if c.texts else "",
        })  # fmt: skip
        print(f"{c.slots:>5} {c.servers:>7} {c.threads:>7} {notes:12.3f} {toks:9.1f} {ratio:7.2f}x "
              f"{gpu:>14} {empty:>5}")  # fmt: skip
    line = json.dumps(summary)
    print(line, flush=True)
    if json_out is not None:
        json_out.write_text(line + "\n")


if __name__ == "__main__":
    app()
