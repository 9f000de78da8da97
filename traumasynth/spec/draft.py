"""Draft a dataset specification from a table's header (and a codebook), never from its values.

``tools/draft_spec.py`` calls ``draft_spec``. Each header becomes a snake_case name (a blank or
repeated header is read by position, ``source: "#N"``); its kind, unit and role are taken from the
codebook (``traumasynth.spec.codebook``: its type, values and wording) or guessed from the header's
words (``traumasynth.spec.draft_columns``, ``traumasynth.spec.draft_words``). Columns that look
clinical are listed; the rest (identifiers past the first, free text that is no note, code columns,
survey strata and weights, administrative or unrecognised headers) stand one line each, commented
out with the reason, at the end,
and ``unlisted_columns: exclude`` drops them as the file is read. A 190-column export thus gives
a spec of the few columns worth modelling, with the others one uncomment away.

What a person must decide and the header cannot tell (categories, bounds, a date format) is
written as a plain ``TODO`` value unless the codebook gives it: ``load_spec`` refuses a spec that
still holds one, naming its line, so an unfinished draft never runs. Every other guess carries a
``# TODO`` comment saying what to check. Categories and bounds are never read from the rows: the
privacy guarantee counts only what the model learns under DP (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Final

from traumasynth.spec import NUMERIC_KINDS, PLACEHOLDER
from traumasynth.spec.codebook import CodebookEntry
from traumasynth.spec.draft_columns import (
    DraftColumn,
    codebook_key,
    decide,
    keep_one_each,
    read_columns,
    weigh_the_sample,
)
from traumasynth.spec.draft_words import Guess

#: Column of the ``#`` comments in the draft.
COMMENT_AT: Final = 40
DATE_PARTS: Final = "[year, month, weekday, hour]"


@dataclass(frozen=True)
class Draft:
    """A drafted specification: its YAML text and what it holds."""

    text: str
    listed: tuple[str, ...]
    left_out: tuple[str, ...]
    placeholders: int
    codebook_unmatched: tuple[str, ...]


def draft_spec(
    *,
    headers: list[str],
    name: str,
    data_label: str,
    codebook: list[CodebookEntry] | None = None,
    codebook_label: str | None = None,
) -> Draft:
    """Draft ``datasets/<name>.yaml`` from a table's header texts and an optional codebook.

    Args:
        headers: the file's header texts in order, blank as '' (``traumasynth.datasets.table.read_headers``).
        name: the dataset name (the spec file's stem).
        data_label: how the draft's top comment names the table (its path).
        codebook: what a codebook says of the variables, matched to headers by name (or ``#N``).
        codebook_label: how comments cite the codebook (its file name).

    Returns:
        The draft, ``TODO`` values where a person must write public knowledge.
    """
    entries = {codebook_key(e.variable): e for e in codebook or []}
    columns = read_columns(headers=headers, entries=entries)
    matched = {id(c.entry) for c in columns if c.entry is not None}
    unmatched = tuple(e.variable for e in codebook or [] if id(e) not in matched)
    cite = codebook_label or "codebook"
    weigh_the_sample(columns=columns)
    for column in columns:
        decide(column=column, cite=cite)
    keep_one_each(columns=columns)
    listed = [c for c in columns if c.left_out is None]
    left_out = [c for c in columns if c.left_out is not None]
    lines = _header_lines(name=name, data_label=data_label, n_columns=len(headers), codebook_label=codebook_label)
    if not any(c.role == "target" for c in listed):
        lines.append("# TODO: no header looks like the class label: give one categorical column `role: target`.")
    lines.append("columns:" if listed else "columns: []   # TODO: no header was recognised; move columns up here")
    for column in listed:
        lines += _column_lines(column, cite)
    if left_out:
        lines += [
            "",
            f"# --- {len(left_out)} column(s) not listed: dropped as the file is read (unlisted_columns: exclude).",
            "# To model one, move its line up into `columns`, choose its kind and fill the fields (docs/data.md).",
        ]
        lines += [_left_out_line(c) for c in left_out]
    if unmatched:
        lines += ["", f"# Codebook variables with no column in the file: {', '.join(unmatched)}."]
    lines += [
        "",
        '# constraints: clinical rules every row keeps (docs/data.md, "Clinical rules"), e.g.',
        "#   - {name: ..., description: ..., if: {column: ..., in: [...]}, then: {column: ..., le: ...}}",
    ]
    text = "\n".join(lines) + "\n"
    return Draft(
        text=text,
        listed=tuple(c.name for c in listed),
        left_out=tuple(c.name for c in left_out),
        placeholders=sum(1 for line in lines if re.match(rf"^\s*[\w-]+:\s*{PLACEHOLDER}(\s|$)", line)),
        codebook_unmatched=unmatched,
    )


def _header_lines(*, name: str, data_label: str, n_columns: int, codebook_label: str | None) -> list[str]:
    source = f"the header row of {data_label} ({n_columns} columns)"
    if codebook_label:
        source += f" and the codebook {codebook_label}"
    return [
        f"# DRAFT dataset specification, written by tools/draft_spec.py from {source}.",
        "# No value of the table was read: categories and bounds must be public knowledge (codebook, form,",
        "# clinical ranges), never read from the rows, or the privacy guarantee no longer holds (docs/data.md).",
        f"# A plain `{PLACEHOLDER}` value must be replaced: every stage refuses this file until none is left.",
        "# A `# TODO` comment is a guess to check. The file is yours: edit, reorder, delete.",
        f"name: {_name(name)}",
        "version: 1",
        f"description: {_q('Attendances of ' + data_label)}".ljust(COMMENT_AT)
        + "  # TODO: what one row is, which ED, which years",
        "reader: table",
        "public: false".ljust(COMMENT_AT) + "  # true only if the real rows are published as they are",
        "unlisted_columns: exclude".ljust(COMMENT_AT) + "  # the columns not listed are dropped as the file is read",
    ]


def _column_lines(column: DraftColumn, cite: str) -> list[str]:
    entry, guess, kind = column.entry, column.guess, column.kind
    at = f"{cite} line {entry.line}" if entry else ""
    out: list[tuple[str, str]] = [(f"  - name: {_name(column.name)}", "")]
    if column.source is not None:
        where = "blank header" if not column.header else "repeated header" if column.source[0] == "#" else "header"
        out.append((f"    source: {_q(column.source)}", f"the {where} '{column.header}'" if column.header else where))
    out.append((f"    kind: {kind}", column.notes.get("kind", "")))
    if column.role != "feature":
        note = column.notes.get("role") or (at if entry and entry.role else _role_note(column.role))
        out.append((f"    role: {column.role}", note))
    elif "role" in column.notes:
        out.append(("    role: feature", column.notes["role"]))
    if entry and entry.description:
        out.append((f"    description: {_q(entry.description)}", at))
    else:
        text = column.header or f"Column {column.position + 1} (blank header)"
        out.append((f"    description: {_q(text)}", "TODO: the header's text; one line a clinician understands"))
    if entry and entry.unit:
        out.append((f"    unit: {_q(entry.unit)}", at))
    elif guess and guess.unit and guess.kind == kind and kind in NUMERIC_KINDS:
        out.append((f"    unit: {_q(guess.unit)}", "TODO: guessed; check"))
    elif kind in NUMERIC_KINDS:
        out.append(("    # unit: TODO (e.g. mmHg, hours)", ""))
    hint = guess if guess and guess.kind == kind else None
    if kind == "categorical":
        out.append(_categories_line(entry, hint, at))
    elif kind in NUMERIC_KINDS or kind == "datetime":
        out.append(_bounds_line(entry, hint, at, dates=kind == "datetime"))
    if kind == "datetime":
        if entry and entry.format:
            out.append((f"    format: {_q(entry.format)}", at))
        elif entry and entry.iso_dates:
            out.append(("    # format: none, ISO dates", at))
        elif entry and entry.format_text:
            note = f"{at} gives '{entry.format_text}', not a date format read here: write it as strftime, e.g. %d/%m/%Y"
            out.append((f"    format: {PLACEHOLDER}", note))
        else:
            out.append(
                (
                    f"    format: {PLACEHOLDER}",
                    'the strftime format of the dates, e.g. "%d/%m/%Y %H:%M"; '
                    "delete this line if they are ISO (2019-01-31 13:05)",
                )
            )
        out.append((f"    parts: {DATE_PARTS}", "TODO: what the models see of the date"))
    if column.role not in ("excluded",):
        if entry and entry.nullable is not None:
            out.append((f"    nullable: {str(entry.nullable).lower()}", at))
        elif kind == "text" or (hint and hint.nullable):
            out.append(("    nullable: true", "TODO: guessed (often missing); false if always recorded"))
        else:
            out.append(("    nullable: false", "TODO: true if the value may be missing"))
    return [_comment(line, note) for line, note in out]


def _role_note(role: str) -> str:
    return {
        "target": "TODO: guessed; exactly one categorical column is the class label",
        "excluded": "kept for traceability, never modelled",
        "narrative": "TODO: guessed; carried for the text metrics, never modelled",
    }.get(role, "")


def _categories_line(entry: CodebookEntry | None, hint: Guess | None, at: str) -> tuple[str, str]:
    if entry and entry.categories:
        labelled = [f"{c} = {lab}" for c, lab in zip(entry.categories, entry.labels or (), strict=False) if c != lab]
        note = at + (f" ({'; '.join(labelled)})" if labelled else "")
        return f"    categories: [{', '.join(_q(c) for c in entry.categories)}]", _clip(note)
    example = f", e.g. {hint.categories}" if hint and hint.categories else ""
    return f"    categories: {PLACEHOLDER}", f"every allowed value as written in the file{example}"


def _bounds_line(entry: CodebookEntry | None, hint: Guess | None, at: str, *, dates: bool) -> tuple[str, str]:
    low, high = (entry.low, entry.high) if entry else (None, None)
    kind_ok = all(isinstance(v, dt.date) == dates for v in (low, high))
    if low is not None and high is not None and kind_ok and low < high:  # type: ignore[operator]
        return f"    bounds: [{_bound(low)}, {_bound(high)}]", at
    if low is not None or high is not None:
        why = f"{at} gives min {_bound(low)}, max {_bound(high)}: not usable bounds; "
    else:
        why = ""
    if dates:
        return f"    bounds: {PLACEHOLDER}", why + "[first, last] dates of the extract, e.g. [2019-01-01, 2023-12-31]"
    example = f", e.g. {hint.bounds}" if hint and hint.bounds else ""
    return f"    bounds: {PLACEHOLDER}", why + f"[low, high] from clinical ranges{example}"


def _left_out_line(column: DraftColumn) -> str:
    fields = [f"name: {_name(column.name)}"]
    if column.source is not None:
        fields.append(f"source: {_q(column.source)}")
    description = column.entry.description if column.entry and column.entry.description else column.header
    fields += [f"kind: {PLACEHOLDER}", f"description: {_q(description or 'blank header')}"]
    return _comment("#  - {" + ", ".join(fields) + "}", f"#{column.position + 1}: {column.left_out}")


def _comment(line: str, note: str) -> str:
    return f"{line.ljust(COMMENT_AT)}  # {note}" if note else line


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bound(value: float | dt.date | None) -> str:
    return "none" if value is None else value.isoformat() if isinstance(value, dt.date) else repr(value)


_YAML_WORDS: Final = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


def _name(name: str) -> str:
    return _q(name)


def _q(text: str) -> str:
    """``text`` as a YAML scalar: plain when it cannot be misread, else double-quoted (JSON's syntax is YAML's)."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_ ./()'-]*(?<! )", text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)
