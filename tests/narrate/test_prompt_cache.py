"""The on-disk store of few-shot prefix states: keys, atomic writes, pruning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from traumasynth.narrate.generation import prompt_cache
from traumasynth.narrate.generation.prompt_cache import PromptCache, default_dir, model_identity


def test_a_state_is_found_only_for_the_same_model_context_and_tokens(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, model="model-a")
    cache.save([1, 2, 3], b"state", context="ctx=1024")
    assert cache.load([1, 2, 3], context="ctx=1024") == b"state"
    assert cache.load([1, 2, 3], context="ctx=2048") is None
    assert cache.load([1, 2, 4], context="ctx=1024") is None
    assert cache.load([12, 3], context="ctx=1024") is None  # token boundaries count, not their digits
    assert PromptCache(tmp_path, model="model-b").load([1, 2, 3], context="ctx=1024") is None
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_only_the_most_recently_used_states_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PromptCache(tmp_path, model="m")
    for t in range(3):
        cache.save([t], b"x", context="c")
        os.utime(cache.path([t], context="c"), (1000 + t, 1000 + t))
    cache.load([0], context="c")  # used now: the newest
    monkeypatch.setattr(prompt_cache, "KEEP", 2)
    cache.save([3], b"x", context="c")
    assert sorted(p.name for p in tmp_path.glob("*.kv")) == sorted(cache.path([t], context="c").name for t in (0, 3))


def test_a_folder_that_cannot_be_written_only_costs_the_evaluation(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = PromptCache(blocker / "cache", model="m")
    cache.save([1], b"state", context="c")  # logs, does not raise
    assert cache.load([1], context="c") is None


def test_the_folder_and_the_model_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAUMASYNTH_PROMPT_CACHE", str(tmp_path / "custom"))
    assert default_dir() == tmp_path / "custom"
    monkeypatch.delenv("TRAUMASYNTH_PROMPT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "traumasynth" / "prompt-cache"
    model = tmp_path / "m.gguf"
    model.write_bytes(b"a")
    before = model_identity(model)
    model.write_bytes(b"ab")  # another file at the same path
    assert model_identity(model) != before
