"""Build the blinded review page: one self-contained HTML file plus its key file.

The page embeds its data as JSON and its CSS and script inline, fetches nothing, and
runs from a file on a USB stick. It never holds the sources of its items: they go to
the key file, which stays with the study coordinator.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from traumasynth.core import layout
from traumasynth.core.errors import ParamsError
from traumasynth.core.io import write_json_atomic, write_text_atomic
from traumasynth.privacy.keys import keyed_seed
from traumasynth.review.form import form_definition
from traumasynth.review.items import REAL, ReviewItem, build_key, draw_items, review_id
from traumasynth.review.params import ReviewParams
from traumasynth.review.records import glossary
from traumasynth.review.sources import load_real, load_synthetic
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)

_PLACEHOLDER = "__REVIEW_DATA__"


@dataclass(frozen=True)
class ReviewPage:
    """What ``run`` wrote.

    Attributes:
        n_items: records on the page.
        n_by_source: records per source (``real`` and each model).
        real_included: whether real rows are on the page.
        review_id: fingerprint of the page (also in the key file).
    """

    n_items: int
    n_by_source: dict[str, int]
    real_included: bool
    review_id: str


def _embed_json(payload: dict) -> str:
    # Inside <script>, "</script>" or "<!--" in a narrative would end the block: escape <, > and &.
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(*, spec: DatasetSpec, items: Sequence[ReviewItem]) -> str:
    """The page's HTML for ``items`` (no source or record id is written into it).

    Args:
        spec: the dataset specification (title, description, column glossary).
        items: the drawn, shuffled items.
    """
    payload = {
        "title": f"Clinical review of records: {spec.name}",
        "description": " ".join(spec.description.split()),
        "review_id": review_id(list(items)),
        "glossary": glossary(spec),
        "form": form_definition(),
        "items": [{"id": i.item_id, "fields": [list(f) for f in i.fields], "narrative": i.narrative} for i in items],
    }
    template = resources.files("traumasynth.review").joinpath("template.html").read_text(encoding="utf-8")
    return template.replace(_PLACEHOLDER, _embed_json(payload), 1)


def run(
    *,
    spec: DatasetSpec,
    params: ReviewParams,
    models: Sequence[str],
    synthetic_dir: Path,
    narratives_dir: Path,
    real_path: Path,
    page_path: Path,
    key_path: Path,
) -> ReviewPage:
    """The review ``build`` step: draw records from each model (and the real split when allowed), write page and key.

    Args:
        spec: the dataset specification.
        params: the ``review`` section.
        models: model names; reads ``<synthetic_dir>/<m>.parquet`` and ``<narratives_dir>/<m>.parquet``.
        synthetic_dir: folder of the sampled tables.
        narratives_dir: folder of the narrated tables.
        real_path: the real split whose rows may be shown (``data/prepared/test.parquet``).
        page_path: where the HTML page goes.
        key_path: where the key (item id -> source) goes; keep it away from reviewers.

    Raises:
        ParamsError: no model given, or a model is called ``real``.
        DataError: an input file is missing or unusable, or real rows were asked for a
            dataset without narratives.
    """
    if not models:
        raise ParamsError("No model to review: base.models is empty. List at least one synthesizer.")
    if REAL in models:
        raise ParamsError(f"A model called '{REAL}' would be confused with the real rows; rename it.")
    sources: dict[str, pd.DataFrame] = {}
    for model in models:
        sources[model] = load_synthetic(
            spec=spec,
            model=model,
            synthetic_path=layout.synthetic(model, synthetic_dir),
            narratives_path=layout.narratives(model, narratives_dir),
        )
    real = params.real_included(spec)
    if real:
        logger.warning(
            "The review page will contain real rows of '%s' (%s): share it only where those rows may go.",
            spec.name,
            real_path,
        )
        sources[REAL] = load_real(spec=spec, real_path=real_path)
    # Keyed by the custodian's noise key (traumasynth.privacy.keys): whoever reads review.seed in
    # params.yaml cannot redo the draw and tell which items are real.
    blinding = keyed_seed("review blinding", params.seed)
    items = draw_items(spec=spec, sources=sources, n_per_source=params.n_items_per_source, seed=blinding)
    key = build_key(items=items, dataset=spec.name, seed=params.seed)
    html = render_page(spec=spec, items=items)
    # Key first: a page without its key could never be scored.
    write_json_atomic(key, key_path)
    write_text_atomic(html, page_path)
    counts = {name: sum(i.source == name for i in items) for name in sorted(sources)}
    logger.info("Review page %s: %d records %s; key in %s", page_path, len(items), counts, key_path)
    return ReviewPage(n_items=len(items), n_by_source=counts, real_included=real, review_id=key["review_id"])
