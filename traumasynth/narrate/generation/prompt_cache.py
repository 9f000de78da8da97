"""The few-shot prefix's KV state kept on disk, so each narration does not evaluate it again.

Every narration of a dataset starts with the same few-shot block (~1,000 tokens for the
default prompts, ~1.8 s on 2 cores with the default model, far more with a 27B model on a
CPU). Its KV state depends only on the model file, the llama.cpp build and the prefix's
tokens, so the first run saves it (``llama_state_seq_get_data``) and later runs load it: the
same thing llama.cpp's ``--prompt-cache`` and ``llama-server --slot-save-path`` do. The
batched decoder loads a saved state even within one run (see ``batched.BatchedDecoder``), so a
state read from disk gives the same texts as one evaluated in this process.

The prompts are the hand-written (or spec-generated) few-shot examples, never a real record,
so a state file holds nothing private. Files live in ``$TRAUMASYNTH_PROMPT_CACHE``, else
``$XDG_CACHE_HOME/traumasynth/prompt-cache`` (``~/.cache/...``); only the ``KEEP`` most recently
used are kept. A file that cannot be read, or that llama.cpp refuses (a truncated file, another build), is
written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

#: State files kept (most recently used first); each is ~20-40 MB for the default model.
KEEP = 8
_SUFFIX = ".kv"


def default_dir() -> Path:
    """``$TRAUMASYNTH_PROMPT_CACHE``, else ``$XDG_CACHE_HOME/traumasynth/prompt-cache``."""
    custom = os.environ.get("TRAUMASYNTH_PROMPT_CACHE")
    if custom:
        return Path(custom)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "traumasynth" / "prompt-cache"


def model_identity(path: Path) -> str:
    """What names a model file without reading it: resolved path, size and modification time."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class PromptCache:
    """Saved prefix states of one model in one folder.

    Args:
        directory: where state files live (created on the first save).
        model: ``model_identity`` of the GGUF file, plus whatever else changes the state
            (the llama.cpp version, the KV cache type).
    """

    def __init__(self, directory: Path, *, model: str):
        self.directory = directory
        self._model = model

    def path(self, tokens: Sequence[int], *, context: str) -> Path:
        """The file of the state of ``tokens`` in a context described by ``context`` (a hash of all three)."""
        digest = hashlib.sha256(f"{self._model}\0{context}\0".encode())
        digest.update(b",".join(str(t).encode("ascii") for t in tokens))
        return self.directory / f"{digest.hexdigest()[:32]}{_SUFFIX}"

    def load(self, tokens: Sequence[int], *, context: str) -> bytes | None:
        """The saved state of ``tokens``, or None when there is none or it cannot be read."""
        path = self.path(tokens, context=context)
        try:
            data = path.read_bytes()
            os.utime(path)  # most recently used
        except OSError:
            return None
        return data or None

    def save(self, tokens: Sequence[int], data: bytes, *, context: str) -> None:
        """Write the state of ``tokens`` atomically; a failure only costs the next run the evaluation."""
        path = self.path(tokens, context=context)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            logger.info("Could not save the prompt's KV state in %s (%s): the next run evaluates it again", path, exc)
            return
        self._prune()

    def _prune(self) -> None:
        files = sorted(self.directory.glob(f"*{_SUFFIX}"), key=_mtime, reverse=True)
        for old in files[KEEP:]:
            with contextlib.suppress(OSError):
                old.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
