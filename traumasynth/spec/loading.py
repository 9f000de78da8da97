"""Reading a dataset specification from YAML: ``load_spec``, and the refusal of unfinished drafts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from traumasynth.core.errors import SpecError
from traumasynth.spec.dataset import DatasetSpec


class _SpecLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: YAML 1.1 reads `yes`/`no`/`on`/`off` as booleans, but in a
    specification they are category labels (alcohol suspected: yes, no, unknown)."""


_SpecLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


#: The value ``tools/draft_spec.py`` writes where a person must decide (categories, bounds, a date
#: format): a spec holding it does not load, so an unfinished draft cannot be run by mistake.
PLACEHOLDER: Final = "TODO"


def unfilled_placeholders(text: str, raw: dict[str, Any]) -> list[str]:
    """Where the spec text still holds a plain ``TODO`` value, e.g. ``line 42 (`categories` of column 'sex')``.

    Args:
        text: the YAML text (for line numbers).
        raw: the same text parsed (for column names).
    """
    found: list[str] = []

    def walk(node: yaml.Node, keys: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and node.value == PLACEHOLDER:  # plain `TODO`; a quoted "TODO" is a label
                found.append(f"line {node.start_mark.line + 1} ({_describe(keys, raw)})")
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*keys, i))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*keys, str(key.value)))

    root = yaml.compose(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    if root is not None:
        walk(root, ())
    return found


def _describe(keys: tuple[str | int, ...], raw: dict[str, Any]) -> str:
    """``keys`` in words: ```categories` of column 'sex'`` for ``("columns", 3, "categories")``."""
    if len(keys) >= 3 and keys[0] == "columns" and isinstance(keys[1], int):
        columns = raw.get("columns")
        column = columns[keys[1]] if isinstance(columns, list) and keys[1] < len(columns) else {}
        name = column.get("name") if isinstance(column, dict) else None
        field = ".".join(str(k) for k in keys[2:])
        return f"`{field}` of column '{name}'" if name else f"`{field}` of column {keys[1] + 1}"
    return "`" + ".".join(str(k) for k in keys) + "`"


def load_spec(path: str | Path) -> DatasetSpec:
    """Read and validate a dataset specification from YAML.

    Args:
        path: the spec file, e.g. ``datasets/ed_trauma_sim.yaml``.

    Raises:
        SpecError: the file is missing, is not YAML, still holds a ``TODO`` value (an unfinished
            draft of ``tools/draft_spec.py``: the first one is named, by line and column), or breaks a
            rule (each rule's message names the column and says what to write instead).
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Dataset specification {path} not found. Write one (see docs/data.md).")
    text = path.read_text()
    try:
        raw = yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SpecError(f"Dataset specification {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"Dataset specification {path} must be a mapping with `name`, `description` and `columns`.")
    todos = unfilled_placeholders(text, raw)
    if todos:
        more = f" (and {len(todos) - 1} more {PLACEHOLDER}s)" if len(todos) > 1 else ""
        raise SpecError(
            f"Dataset specification {path} is an unfinished draft: replace the {PLACEHOLDER} at {todos[0]}{more}. "
            "Write public knowledge (codebook, form, clinical ranges), never values read from the data (docs/data.md)."
        )
    try:
        return DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SpecError(f"Dataset specification {path} is invalid:\n  - " + "\n  - ".join(lines)) from exc


def spec_yaml(spec: DatasetSpec, *, header: str = "") -> str:
    """``spec`` as YAML that ``load_spec`` reads back to an equal spec (defaults left out; ``header`` as comments)."""
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return comments + yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True, width=110)
