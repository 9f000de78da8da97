"""`make bench-server` end to end on the CPU: build llama-server, narrate through its slots.

The first run builds llama-server from llama-cpp-python's vendored llama.cpp into
``~/.cache/traumasynth/llama.cpp-<version>-cpu`` (a few minutes on 2 cores; later runs reuse it).
Fetching its sdist must not build the sdist's build requirements from source (a fast test below).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench_server(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """benchmarks/bench_server.py as a module (a script, not in a package)."""
    spec = importlib.util.spec_from_file_location("bench_server", REPO / "benchmarks/bench_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_server", module)  # its dataclasses look their module up there
    monkeypatch.setattr(sys, "path", [*sys.path])  # it puts the repository on sys.path
    spec.loader.exec_module(module)
    return module


def test_sdist_is_fetched_without_building_its_build_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--no-binary :all:` would make pip compile cmake and scikit-build-core (>20 min with empty caches)."""
    bench = _bench_server(monkeypatch)
    calls: list[list[str]] = []

    def fake_pip(cmd: list[str], check: bool) -> None:
        calls.append(cmd)
        (Path(cmd[cmd.index("-d") + 1]) / "llama_cpp_python-9.9.9.tar.gz").write_bytes(b"sdist")

    monkeypatch.setattr(bench.subprocess, "run", fake_pip)
    sdist = bench.fetch_sdist("9.9.9", tmp_path / "sdist")
    assert sdist == tmp_path / "sdist/llama_cpp_python-9.9.9.tar.gz" and sdist.read_bytes() == b"sdist"
    (cmd,) = calls
    assert cmd[cmd.index("--no-binary") + 1] == "llama-cpp-python" and ":all:" not in cmd
    assert "--no-deps" in cmd
    assert bench.fetch_sdist("9.9.9", tmp_path / "sdist") == sdist and len(calls) == 1  # reused, not fetched again


@pytest.mark.slow
def test_bench_server_narrates_through_llama_server_slots(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "benchmarks/bench_server.py", "--accel", "cpu", "--slots", "1", "--slots", "2",
           "--threads", "1", "--rows", "4", "--rounds", "1", "--max-tokens", "24", "--json", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert json.loads(res.stdout.strip().splitlines()[-1]) == summary  # the JSON line, last
    assert "narratives/s" in res.stdout and "n/a (CPU)" in res.stdout  # the table
    assert summary["accel"] == "cpu"
    results = summary["results"]
    assert [(r["slots"], r["servers"], r["threads"]) for r in results] == [(1, 1, 1), (2, 1, 1)]
    for r in results:
        assert r["narratives_per_s"] > 0 and r["tokens_per_s"] > 0
        assert r["in_flight"] == r["slots"]  # ServerBackend(concurrency=0) reads llama-server's slots
        assert r["narratives"] == 4 and r["empty_narratives"] < 4 and r["example"].strip()
        assert r["gpu_memory_mib"] is None
