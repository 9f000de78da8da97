"""Sharded, resumable narration of synthetic rows.

Rows are cut into shards of ``shard_size``; each finished shard is written atomically to
``<shard_dir>/part-NNNNNN.parquet``. A run that stops (Ctrl-C, crash, killed server) loses at
most the shard in progress: the next run with the same fingerprint (model sha256, prompt
version and hash, lexicon, seed, generation params, input rows) keeps every finished shard
and narrates only the rest. Any other fingerprint clears the shards first. Each candidate's
seed is derived from (seed, row id, candidate index), and the batched in-process backend
starts every call from the same KV cache, so a resumed run writes the same bytes as an
uninterrupted one. With ``narrate.parallel > 1`` (or a server backend) a shard's rows and the
further candidates of those that need one are one ``generate_until_done`` call, so the
backend's slots stay full.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from traumasynth.core.errors import DataError
from traumasynth.core.io import write_json_atomic, write_parquet_atomic
from traumasynth.narrate.checking.factcheck import FactCheck, check_narrative
from traumasynth.narrate.checking.facts import Lexicon
from traumasynth.narrate.checking.repair import Repaired, repair_narrative
from traumasynth.narrate.checking.unsupported import StatementCheck, SupportRules
from traumasynth.narrate.fallback import FallbackNote
from traumasynth.narrate.generation.backend import Generation, NarratorBackend, Request, Sampling
from traumasynth.narrate.params import NarrateParams
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.templates import PromptTemplate
from traumasynth.spec.ids import NARRATIVE_ID

logger = logging.getLogger(__name__)

_WS = re.compile(r"\s+")

#: The columns of a narratives file and their dtypes (lists of fact names are Python objects).
OUTPUT_DTYPES: dict[str, str] = {
    NARRATIVE_ID: "object",
    "narrative": "object",
    "faithfulness": "float64",
    "core_faithful": "bool",
    "contradictions": "object",
    "omissions": "object",
    "facts_agreed": "int64",
    "draft_contradictions": "int64",
    "clauses_cut": "int64",
    "unsupported": "object",
    "loop": "object",
    "fallback": "bool",
    "draft_unsupported": "int64",
    "draft_loops": "int64",
    "n_candidates": "int64",
    "model_sha256": "object",
    "prompt_version": "object",
    "seed": "int64",
    "completion_tokens": "int64",
    "seconds": "float64",
}
OUTPUT_COLUMNS: tuple[str, ...] = tuple(OUTPUT_DTYPES)
#: What a released note must pass and what repair cuts (part of the shard fingerprint): a change
#: here makes old shards stale.
RELEASE_RULES = "repair cuts contradicted, unsupported and looping clauses; failing rows get the fallback note"


def empty_narratives() -> pd.DataFrame:
    """A narratives table with no rows: the columns and dtypes of ``run_narration``'s output."""
    return pd.DataFrame({c: pd.Series(dtype=dtype) for c, dtype in OUTPUT_DTYPES.items()})


@dataclass(frozen=True)
class NarrationJob:
    """Everything that decides what a run generates.

    Attributes:
        params: the ``narrate`` section.
        seed: ``base.seed``.
        template: the loaded prompt version, or the prompt made from the spec.
        lexicon: the dataset's fact vocabulary (None: no fact check).
        model_sha256: sha256 of the GGUF file (or ``server:<model id>``).
        statements: the spec's rules for unsupported statements and loops (None: not checked).
        fallback: writes the note released when every candidate of a row still fails its
            checks after repair (None: the best candidate is released whatever it holds).
    """

    params: NarrateParams
    seed: int
    template: PromptTemplate | SpecPrompt
    lexicon: Lexicon | None
    model_sha256: str
    statements: SupportRules | None = None
    fallback: FallbackNote | None = None

    def fingerprint(self, rows: pd.DataFrame) -> dict[str, Any]:
        """What shards made by this job are valid for."""
        rows_hash = hashlib.sha256(pd.util.hash_pandas_object(rows, index=True).to_numpy().tobytes()).hexdigest()
        lexicon = self.lexicon.model_dump_json() if self.lexicon is not None else ""
        return {
            "model_sha256": self.model_sha256,
            "prompt_version": self.template.version,
            "prompt_sha256": self.template.sha256,
            "lexicon_sha256": hashlib.sha256(lexicon.encode()).hexdigest(),
            "statements_sha256": hashlib.sha256(repr(self.statements).encode()).hexdigest(),
            "release": RELEASE_RULES,
            "fallback": repr(self.fallback),
            "seed": self.seed,
            "generation": self.params.generation_settings(),
            "rows_sha256": rows_hash,
        }


def candidate_seed(seed: int, row_id: str, k: int) -> int:
    """The sampler seed of candidate ``k`` of ``row_id`` (independent of run order)."""
    digest = hashlib.sha256(f"{seed}|{row_id}|{k}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _continued(opening: str, text: str) -> str:
    """The note: the prompt's opening (if any) continued by the generated ``text``."""
    if not opening:
        return _clean(text)
    glue = "" if text[:1].isspace() or text[:1] in ",.;:!?)" else " "
    return _clean(opening + glue + text)


def _good_enough(check: FactCheck | None, statements: StatementCheck | None) -> bool:
    clean = statements is None or not statements.problems
    return check is None or (not check.contradictions and not check.omissions and clean)


def _rank(check: FactCheck, statements: StatementCheck | None) -> tuple[int, int, float]:
    """``FactCheck.rank`` with unsupported statements and a loop counted as contradictions."""
    contradictions, omissions, score = check.rank()
    return (contradictions + (statements.problems if statements else 0), omissions, score)


def _checked(text: str, row: dict[str, Any], job: NarrationJob) -> Repaired | None:
    """The note's checks, after the repair when ``narrate.repair`` is on (None: no lexicon)."""
    if job.lexicon is None:
        return None
    if job.params.repair:
        return repair_narrative(narrative=text, row=row, lexicon=job.lexicon, statements=job.statements)
    check = check_narrative(narrative=text, row=row, lexicon=job.lexicon)
    said = job.statements.check(narrative=text, row=row) if job.statements is not None else None
    return Repaired(text, check, len(check.contradictions), 0, said, said)


def releasable(text: str, check: FactCheck | None, statements: StatementCheck | None) -> bool:
    """Whether a (repaired) note may be released: it states a fact of its row that the checker reads
    (a note cut down to "No." says nothing), and contradicts, loops and invents nothing."""
    if check is None:  # no lexicon: only the statements are known
        return bool(re.search(r"\w", text)) and (statements is None or not statements.problems)
    return bool(check.agreed) and not check.contradictions and (statements is None or not statements.problems)


def _narrate_batch(
    rows: list[dict[str, Any]], ids: list[str], *, job: NarrationJob, backend: NarratorBackend, sampling: Sampling
) -> list[dict[str, Any]]:
    """Narrate a few rows: up to n_candidates candidates a row, a next one only while the row is not good enough.

    Each candidate is repaired (contradicted, unsupported and looping clauses cut) before it is
    ranked, so a row gets another candidate only when its repaired note still omits, contradicts,
    invents or loops. The backend starts that candidate as soon as the last one is checked
    (``generate_until_done``). When the best repaired candidate still fails (``releasable``) and
    the job has a ``fallback``, the row's note is the fallback note written from its facts.
    """
    p = job.params
    prompts = [job.template.render(r, prompt_format=p.prompt_format) for r in rows]
    rules = job.statements if p.guard_numbers else None
    numbers = [rules.writable_numbers(r).after if rules is not None else None for r in rows]
    best: list[tuple[str, Repaired | None, int, StatementCheck | None] | None] = [None] * len(rows)
    tried = [0] * len(rows)
    tokens = [0] * len(rows)
    draft_unsupported = [0] * len(rows)
    draft_loops = [0] * len(rows)

    def follow_up(i: int, gen: Generation) -> Request | None:
        text = _continued(prompts[i].note_prefix, gen.text)
        seed = candidate_seed(job.seed, ids[i], tried[i])
        tried[i] += 1
        tokens[i] += gen.completion_tokens
        result = _checked(text, rows[i], job)
        note = result.text if result is not None else text
        if result is not None:
            said, draft = result.statements, result.draft_statements
        else:
            said = draft = job.statements.check(narrative=note, row=rows[i]) if job.statements is not None else None
        if draft is not None:
            draft_unsupported[i] += bool(draft.unsupported)
            draft_loops[i] += draft.loop is not None
        current = best[i]
        if current is None or (
            result is not None
            and current[1] is not None
            and _rank(result.check, said) < _rank(current[1].check, current[3])
        ):
            best[i] = current = (note, result, seed, said)
        if tried[i] >= p.n_candidates or _good_enough(_check_of(current[1]), current[3]):
            return None
        return Request(prompts[i], candidate_seed(job.seed, ids[i], tried[i]), numbers[i])

    first = [Request(prompts[i], candidate_seed(job.seed, ids[i], 0), numbers[i]) for i in range(len(rows))]
    backend.generate_until_done(first, sampling=sampling, follow_up=follow_up)
    out: list[dict[str, Any]] = []
    core = job.lexicon.core_facts if job.lexicon is not None else ()
    for i, kept in enumerate(best):
        assert kept is not None  # n_candidates >= 1, so every row got one round
        text, result, seed, said = kept
        check = _check_of(result)
        clauses_cut = result.clauses_cut if result else 0
        fallback = job.fallback is not None and not releasable(text, check, said)
        if fallback:
            assert job.fallback is not None
            written = job.fallback.write(rows[i], lexicon=job.lexicon, statements=job.statements)
            text, said, clauses_cut = written.text, written.statements, 0
            check = written.check if job.lexicon is not None else None
        out.append(
            {
                NARRATIVE_ID: ids[i],
                "narrative": text,
                "faithfulness": check.score if check else math.nan,
                "core_faithful": (not check.contradicts(core)) if check else None,
                "contradictions": list(check.contradictions) if check else [],
                "omissions": list(check.omissions) if check else [],
                "facts_agreed": len(check.agreed) if check else 0,
                "draft_contradictions": result.draft_contradictions if result else 0,
                "clauses_cut": clauses_cut,
                "unsupported": list(said.unsupported) if said else None,
                "loop": (said.loop or "") if said else None,
                "fallback": fallback,
                "draft_unsupported": draft_unsupported[i],
                "draft_loops": draft_loops[i],
                "n_candidates": tried[i],
                "model_sha256": job.model_sha256,
                "prompt_version": job.template.version,
                "seed": seed,
                "completion_tokens": tokens[i],
            }
        )
    return out


def _check_of(result: Repaired | None) -> FactCheck | None:
    return result.check if result is not None else None


def _shard_path(shard_dir: Path, index: int) -> Path:
    return shard_dir / f"part-{index:06d}.parquet"


def _prepare_shard_dir(shard_dir: Path, fingerprint: dict[str, Any]) -> None:
    """Clear shards of another fingerprint and half-written temporary files."""
    shard_dir.mkdir(parents=True, exist_ok=True)
    for tmp in shard_dir.glob(".*.tmp"):
        tmp.unlink()
    manifest = shard_dir / "manifest.json"
    if manifest.is_file():
        try:
            previous = json.loads(manifest.read_text()).get("fingerprint")
        except json.JSONDecodeError:
            previous = None
        if previous == json.loads(json.dumps(fingerprint)):
            return
        stale = sorted(shard_dir.glob("part-*.parquet"))
        if stale:
            logger.info("Model, prompt, seed, params or rows changed: discarding %d old shard(s)", len(stale))
        for path in stale:
            path.unlink()
    write_json_atomic({"fingerprint": fingerprint}, manifest)


def _finished(path: Path, ids: Sequence[str]) -> pd.DataFrame | None:
    """The shard at ``path`` if it exists and holds exactly ``ids``, else None."""
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    if frame[NARRATIVE_ID].tolist() != list(ids):
        logger.warning("Shard %s does not hold the expected rows; narrating it again", path)
        return None
    return frame


def _run_shards(
    records: list[dict[str, Any]],
    ids: list[str],
    shards: list[pd.DataFrame | None],
    *,
    job: NarrationJob,
    backend: NarratorBackend,
    sampling: Sampling,
    shard_dir: Path,
    bar: Any,
) -> None:
    """Narrate every unfinished shard, writing each one atomically as soon as it is done."""
    size = job.params.shard_size
    # Rows sent per generate() call: the server backend and the batched in-process backend get the
    # whole shard, so their slots stay full while rows remain (the server backend keeps
    # request_concurrency of them in flight); the sequential backend gets one row at a time.
    step = size if backend.name == "server" or job.params.parallel > 1 else 1
    for n, shard in enumerate(shards):
        if shard is not None:
            continue
        t0, waited_before = time.perf_counter(), backend.lock_wait_seconds
        start, stop = n * size, min((n + 1) * size, len(records))
        out: list[dict[str, Any]] = []
        for s in range(start, stop, step):
            e = min(s + step, stop)
            out += _narrate_batch(records[s:e], ids[s:e], job=job, backend=backend, sampling=sampling)
            bar.update(e - s)
        frame = pd.DataFrame(out)
        # narration time only: the wait for another narration's turn on the CPU is not this shard's
        waited = backend.lock_wait_seconds - waited_before
        frame["seconds"] = (time.perf_counter() - t0 - waited) / len(frame)
        frame = frame[list(OUTPUT_COLUMNS)]
        write_parquet_atomic(frame, _shard_path(shard_dir, n))
        shards[n] = frame


def run_narration(
    *,
    rows: pd.DataFrame,
    row_ids: Sequence[str],
    job: NarrationJob,
    backend: NarratorBackend,
    shard_dir: Path,
    desc: str = "narrate",
) -> pd.DataFrame:
    """Narrate ``rows`` shard by shard, resuming from finished shards.

    Args:
        rows: the synthetic rows (modelled columns), in output order.
        row_ids: one unique id per row.
        job: model, prompt, lexicon, seed and params.
        backend: where text is generated.
        shard_dir: folder of this run's shards (one per synthetic file).
        desc: progress-bar label.

    Returns:
        One row per input row, columns ``OUTPUT_COLUMNS``, in input order.

    Raises:
        DataError: ``rows`` is empty, ids are not unique, or the shards do not add up.
    """
    ids = [str(i) for i in row_ids]
    if rows.empty:
        raise DataError("There are no rows to narrate. Check the synthetic file and narrate.n_rows.")
    if len(ids) != len(rows) or len(set(ids)) != len(ids):
        raise DataError("Row ids must be unique, one per row. Fix the synthetic file's identifier column.")
    p = job.params
    sampling = Sampling(p.max_tokens, p.temperature, p.top_p, job.template.stop)
    _prepare_shard_dir(shard_dir, job.fingerprint(rows))
    records = rows.to_dict(orient="records")
    starts = list(range(0, len(rows), p.shard_size))
    shards: list[pd.DataFrame | None] = [
        _finished(_shard_path(shard_dir, n), ids[s : s + p.shard_size]) for n, s in enumerate(starts)
    ]
    done = sum(len(f) for f in shards if f is not None)
    if done:
        logger.info("Resuming: %d of %d rows already narrated in %s", done, len(rows), shard_dir)
    with tqdm(total=len(rows), initial=done, unit="row", desc=desc) as bar:
        try:
            _run_shards(records, ids, shards, job=job, backend=backend, sampling=sampling, shard_dir=shard_dir, bar=bar)
        except KeyboardInterrupt:
            kept = sum(len(f) for f in shards if f is not None)
            logger.warning("Interrupted: %d of %d rows are saved in %s; rerun to resume", kept, len(rows), shard_dir)
            raise
    result = pd.concat([f for f in shards if f is not None], ignore_index=True)
    if result["row_id"].tolist() != ids:
        raise DataError(f"Shards in {shard_dir} do not add up to the requested rows. Delete the folder and rerun.")
    return result
