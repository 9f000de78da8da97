"""Atomic file writes: a reader never sees a half-written output.

Each writer writes to a temporary file in the destination folder, flushes it, then
renames it over the target (``os.replace`` is atomic on POSIX).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core.errors import DataError


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it to ``target`` if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates files readable by their owner only; give the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def read_json_object(path: str | Path, *, fix: str, label: str = "") -> dict[str, Any]:
    """Read a JSON file that must hold an object (a stage's metrics, a model's config).

    Args:
        path: the file.
        fix: what the user should do, ending the error message (e.g. "Retrain the model.").
        label: what the file is, put before its path in messages (e.g. "training metrics ").

    Raises:
        DataError: the file cannot be read, is not JSON, or holds something else than an object.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"Cannot read {label}{path}: {exc}. {fix}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{label[:1].upper()}{label[1:]}{path} is not a JSON object. {fix}")
    return data


def write_parquet_atomic(df: pd.DataFrame, target: str | Path) -> None:
    """Write ``df`` to Parquet without its index, byte-for-byte reproducible for the same frame."""
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")


def write_json_atomic(obj: Any, target: str | Path) -> None:
    """Write ``obj`` as indented, key-sorted JSON (stable diffs under git)."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_text_atomic(text: str, target: str | Path) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; swap it in for ``target`` if the block succeeds.

    A failure leaves the previous ``target`` (if any) untouched and removes the temporary folder.
    """
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
