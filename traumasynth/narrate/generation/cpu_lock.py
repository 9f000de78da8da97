"""One CPU narration at a time on a machine: a file lock taken around each batch of generation.

llama.cpp's threads spin while they wait for each other. Two narrations on the same cores (two
``dvc exp run`` jobs, a user's second terminal) each slow down 10-40x, far worse than running one
after the other. Every in-process CPU narration therefore takes this lock around each
``generate`` call (one shard of rows): a second narration waits for the first one's shard to
finish, so the two take turns, shard by shard, and both finish no later than in sequence.
Training and the other stages are not held back.

The lock is an advisory ``flock`` on ``$TRAUMASYNTH_CPU_LOCK`` (default
``~/.cache/traumasynth/narrate-cpu.lock``); the operating system releases it when its process
ends, however it ends. Narration on a GPU (``narrate.n_gpu_layers`` != 0) and through servers
does not take it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

_ENV = "TRAUMASYNTH_CPU_LOCK"


def lock_path() -> Path:
    """The lock file: ``$TRAUMASYNTH_CPU_LOCK``, else ``~/.cache/traumasynth/narrate-cpu.lock``."""
    custom = os.environ.get(_ENV)
    return Path(custom) if custom else Path.home() / ".cache" / "traumasynth" / "narrate-cpu.lock"


@contextmanager
def cpu_narration() -> Iterator[float]:
    """Hold the machine's CPU narration lock for the ``with`` block; yields the seconds waited for it.

    When the lock file cannot be created (read-only home), narration goes on without it and
    says so once.
    """
    path = lock_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
    except OSError as exc:
        logger.warning("No CPU narration lock at %s (%s): two narrations at once will slow each other", path, exc)
        yield 0.0
        return
    with handle:
        start = time.perf_counter()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Another narration is using this machine's CPU: waiting for its batch to finish (%s)", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        waited = time.perf_counter() - start
        try:
            yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
