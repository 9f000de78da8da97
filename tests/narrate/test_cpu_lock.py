"""One CPU narration at a time: a second one waits for the first one's batch (narrate/cpu_lock.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from traumasynth.narrate.generation.backend import Request, Sampling
from traumasynth.narrate.generation.cpu_lock import cpu_narration, lock_path
from traumasynth.narrate.generation.in_process import LlamaCppBackend
from traumasynth.narrate.prompts.templates import Prompt

HOLD_S = 1.0


@pytest.fixture(autouse=True)
def _own_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAUMASYNTH_CPU_LOCK", str(tmp_path / "cpu.lock"))


def _hold(started: threading.Event) -> None:
    with cpu_narration():
        started.set()
        time.sleep(HOLD_S)


def test_a_second_narration_waits_for_the_first() -> None:
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(started,))
    holder.start()
    started.wait(5)
    with cpu_narration() as waited:
        holder.join(2)  # the first released the lock as its block ended: it finishes at once
        assert not holder.is_alive()  # it only got the lock once the first was done

    assert waited >= HOLD_S * 0.5
    with cpu_narration() as waited_again:  # free again: no wait
        assert waited_again < HOLD_S * 0.5


def test_the_lock_file_follows_the_environment(tmp_path: Path) -> None:
    assert lock_path() == tmp_path / "cpu.lock"


def test_cpu_generation_waits_for_the_lock(backend: LlamaCppBackend) -> None:
    prompt = Prompt(text="Facts: 34-year-old man, fall\nNote:")
    sampling = Sampling(max_tokens=4, temperature=0.0, top_p=1.0, stop=("\n",))
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(started,))
    holder.start()
    started.wait(5)
    t0, waited_before = time.perf_counter(), backend.lock_wait_seconds
    backend.generate([Request(prompt, 1)], sampling=sampling)
    holder.join(2)
    assert not holder.is_alive() and time.perf_counter() - t0 >= HOLD_S * 0.5
    # the wait is counted apart, so narratives_per_second measures narration only (runner.py)
    assert backend.lock_wait_seconds - waited_before >= HOLD_S * 0.5
