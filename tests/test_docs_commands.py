"""Every shell command block of README.md and docs/*.md runs, against a small real pipeline run.

Each fenced ``bash``/``sh``/``shell``/``console`` block is one test, named ``file:line`` (the line of
its opening fence). The blocks of one Markdown file run in order, with ``bash -euo pipefail``, in a
clone of the session's small committed run (``tests/pipeline_run.py``): a file's experiments and
edits never reach another file's clone or the end-to-end tests. The clone has ``.venv`` (this
Python's environment) and, beside it, ``../shared`` when this checkout has one, as the docs assume.

A comment on the lines just above a fence controls its block (``tests/test_docs_commands.py``
rejects any other):

- ``<!-- docs-test: skip REASON -->``: not run; ``pytest -ra`` shows the reason.
- ``<!-- docs-test: requires PATH -->``: skipped when PATH (relative to the clone) is absent.
- ``<!-- docs-test: env KEY=VALUE ... -->``: set for the block.
- ``<!-- docs-test: sub 'OLD' 'NEW' -->``: run the block with OLD replaced by NEW (a smaller
  setting than the reader's, e.g. one ε instead of five); OLD must occur.
- ``<!-- docs-test: file PATH -->``: on a block of any language, write its text to PATH in the
  clone (a spec the next command reads).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.pipeline_run import BIN, DVC, REPO, clone_run, env

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELLS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<kind>\w+)\s*(?P<arg>.*?)\s*-->\s*$")
KINDS = {"skip", "requires", "env", "sub", "file"}
TIMEOUT_S = 900
TAIL = 4000


@dataclass
class Block:
    """One fenced block and what its markers say."""

    doc: str  # path relative to the repository
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    skip: str | None = None
    requires: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    subs: list[tuple[str, str]] = field(default_factory=list)
    file: str | None = None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    def script(self) -> str:
        text = self.text
        if self.lang == "console":  # commands are the lines after a prompt; the rest is output
            text = "\n".join(line[2:] for line in text.splitlines() if line.startswith("$ "))
        for old, new in self.subs:
            if old not in text:
                raise AssertionError(f"{self.id}: docs-test sub {old!r} does not occur in the block")
            text = text.replace(old, new)
        return text


def _apply_marker(block: Block, kind: str, arg: str, where: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"{where}: unknown docs-test marker {kind!r}; use one of {sorted(KINDS)}")
    if kind == "skip":
        if not arg:
            raise ValueError(f"{where}: `docs-test: skip` needs a reason")
        block.skip = arg
    elif kind == "requires":
        block.requires.append(arg)
    elif kind == "env":
        for pair in shlex.split(arg):
            key, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"{where}: `docs-test: env` takes KEY=VALUE pairs, got {pair!r}")
            block.env[key] = value
    elif kind == "sub":
        parts = shlex.split(arg)
        if len(parts) != 2:
            raise ValueError(f"{where}: `docs-test: sub` takes 'OLD' 'NEW', got {arg!r}")
        block.subs.append((parts[0], parts[1]))
    else:
        block.file = arg


def parse_blocks(path: Path, *, root: Path = REPO) -> list[Block]:
    """The shell blocks of a Markdown file, and the blocks that a ``file`` marker writes out."""
    doc = str(path.relative_to(root))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            if MARKER.match(lines[i]) and not _marks_a_fence(lines, i):
                raise ValueError(f"{doc}:{i + 1}: a docs-test marker must stand on the lines just above a fence")
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = next((j for j in range(i + 1, len(lines)) if _closes(lines[j], fence)), None)
        if end is None:
            raise ValueError(f"{doc}:{i + 1}: unclosed fence")
        body = "\n".join(line[indent:] if not line[:indent].strip() else line.lstrip() for line in lines[i + 1 : end])
        block = Block(doc=doc, line=i + 1, lang=opening["lang"].lower(), text=body + "\n")
        j = i - 1
        while j >= 0 and (marker := MARKER.match(lines[j])):
            _apply_marker(block, marker["kind"], marker["arg"], f"{doc}:{j + 1}")
            j -= 1
        if block.lang in SHELLS or block.file:
            blocks.append(block)
        elif j < i - 1:
            raise ValueError(f"{block.id}: docs-test markers on a {block.lang or 'plain'} block need `file PATH`")
        i = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _marks_a_fence(lines: list[str], i: int) -> bool:
    j = i
    while j < len(lines) and MARKER.match(lines[j]):
        j += 1
    return j < len(lines) and bool(FENCE.match(lines[j]))


BLOCKS = [block for path in DOCS for block in parse_blocks(path)]


@pytest.fixture(scope="module")
def workspaces(pipeline_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """One clone of the small run per Markdown file, made when its first block runs."""
    root = tmp_path_factory.mktemp("docs")
    if (REPO.parent / "shared").is_dir():
        (root / "shared").symlink_to(REPO.parent / "shared")  # the docs' ../shared/data/neiss
    made: dict[str, Path] = {}

    def workspace(doc: str) -> Path:
        if doc not in made:
            dest = clone_run(pipeline_run, root / doc.replace("/", "_").removesuffix(".md"))
            (dest / ".venv").symlink_to(BIN.parent)  # `. .venv/bin/activate`, as after `make setup`
            # The clone's pyproject.toml is newer than the shared venv's install marker, so a make
            # target (`make audit`) would `pip install -e .` the clone into this checkout's .venv,
            # leaving it importing traumasynth from a folder that is deleted after the tests.
            os.utime(dest / "pyproject.toml", (0, 0))
            made[doc] = dest
        return made[doc]

    yield workspace
    for dest in made.values():  # queue workers a sweep left behind
        subprocess.run([DVC, "queue", "stop", "--kill"], cwd=dest, env=env(dest), capture_output=True, timeout=120)


def test_every_doc_is_scanned_and_blocks_are_found() -> None:
    """The parser sees the README's quickstart and at least one block per page that has shell commands."""
    found = {block.doc for block in BLOCKS}
    assert "README.md" in found
    for path in DOCS:
        has_shell = any(
            (m := FENCE.match(line)) and m["lang"].lower() in SHELLS for line in path.read_text().splitlines()
        )
        assert not has_shell or str(path.relative_to(REPO)) in found, path


def _write_file(block: Block, cwd: Path) -> None:
    target = cwd / block.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.text, encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in BLOCKS])
def test_documented_commands_run(block: Block, request: pytest.FixtureRequest) -> None:
    if block.skip:  # before the pipeline run is built: `pytest -k` on skipped blocks costs nothing
        pytest.skip(f"{block.id}: {block.skip}")
    cwd = request.getfixturevalue("workspaces")(block.doc)
    for needed in block.requires:
        if not (cwd / needed).exists():
            pytest.skip(f"{block.id}: needs {needed}, not found beside this checkout")
    # The files this page wrote so far (a spec), also when this block runs alone (pytest -k).
    for earlier in BLOCKS:
        if earlier.doc == block.doc and earlier.line <= block.line and earlier.file:
            _write_file(earlier, cwd)
    if block.file:
        return
    script = block.script()
    try:
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd, env={**env(cwd), **block.env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        pytest.fail(f"{block.id} ran past {TIMEOUT_S} s:\n{script}\n--- output (tail) ---\n{out[-TAIL:]}")
    if proc.returncode != 0:
        pytest.fail(
            f"{block.id} exited {proc.returncode} (run in {cwd}):\n{script}\n--- output (tail) ---\n"
            f"{proc.stdout[-TAIL:]}",
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        pytest.param("<!-- docs-test: skipp x -->\n```bash\ntrue\n```\n", "unknown docs-test marker", id="typo"),
        pytest.param("<!-- docs-test: skip -->\n```bash\ntrue\n```\n", "needs a reason", id="no-reason"),
        pytest.param("<!-- docs-test: skip why -->\n\n```bash\ntrue\n```\n", "just above a fence", id="detached"),
        pytest.param("<!-- docs-test: env A=1 -->\n```yaml\na: 1\n```\n", "need `file PATH`", id="yaml-no-file"),
    ],
)
def test_markers_reject_what_they_do_not_know(tmp_path: Path, markdown: str, error: str) -> None:
    """A misspelt or misplaced marker fails loudly instead of letting a heavy block run or a broken one hide."""
    doc = tmp_path / "page.md"
    doc.write_text(markdown)
    with pytest.raises(ValueError, match=re.escape(error)):
        parse_blocks(doc, root=tmp_path)


def test_blocks_are_read_with_their_markers(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(
        "text\n\n1. Build:\n\n   <!-- docs-test: env A=1 -->\n   <!-- docs-test: sub 'x 1 2' 'x 1' -->\n"
        "   ```bash\n   echo x 1 2   # a comment\n   ```\n\n```python\nprint()\n```\n"
        "<!-- docs-test: file d/s.yaml -->\n```yaml\nname: s\ncolumns:\n  - a\n```\n"
        "```console\n$ echo hi\nhi\n```\n"
    )
    shell, spec, console = parse_blocks(doc, root=tmp_path)
    assert (shell.id, shell.env, shell.script()) == ("page.md:7", {"A": "1"}, "echo x 1   # a comment\n")
    assert (spec.file, spec.text) == ("d/s.yaml", "name: s\ncolumns:\n  - a\n")
    assert console.script() == "echo hi"
