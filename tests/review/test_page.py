from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.review.conftest import MODELS, write_inputs
from traumasynth.core.errors import DataError, ParamsError
from traumasynth.review.items import ReviewItem, draw_items
from traumasynth.review.page import render_page, run
from traumasynth.review.params import ReviewParams
from traumasynth.review.sources import load_real, load_synthetic
from traumasynth.spec import DatasetSpec


def _build(root: Path, spec: DatasetSpec, params: ReviewParams, out: str = "review"):
    return run(
        spec=spec,
        params=params,
        models=MODELS,
        synthetic_dir=root / "data" / "synthetic",
        narratives_dir=root / "data" / "narratives",
        real_path=root / "data" / "prepared" / "test.parquet",
        page_path=root / out / "page.html",
        key_path=root / out / "key.json",
    )


def _embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_page_is_blinded_and_key_holds_the_sources(tmp_path: Path, public_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, public_spec, n_rows=30)
    result = _build(root, public_spec, ReviewParams(n_items_per_source=5, seed=1))
    assert result.real_included
    assert result.n_by_source == {"ddpm": 5, "real": 5, "vae": 5}
    html = (root / "review" / "page.html").read_text()
    key = json.loads((root / "review" / "key.json").read_text())
    data = _embedded(html)
    assert len(data["items"]) == 15
    assert set(key["items"]) == {i["id"] for i in data["items"]}
    assert all(re.fullmatch(r"item-[0-9a-f]{12}", i) for i in key["items"])
    # Nothing on the page names a source or a source's record id.
    for entry in key["items"].values():
        assert entry["record_id"] not in html
    for word in ("vae", "ddpm", "sim-0", '"real"', "source"):
        assert word not in json.dumps(data["items"])
    # The shuffle mixes sources: the first five items do not all come from one source.
    first = [key["items"][i["id"]]["source"] for i in data["items"][:5]]
    assert len(set(first)) > 1
    # Self-contained: no external fetch of any kind.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(" not in html


def test_same_seed_same_bytes_other_seed_other_page(tmp_path: Path, public_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, public_spec, n_rows=30)
    _build(root, public_spec, ReviewParams(n_items_per_source=5, seed=1), out="a")
    _build(root, public_spec, ReviewParams(n_items_per_source=5, seed=1), out="b")
    _build(root, public_spec, ReviewParams(n_items_per_source=5, seed=2), out="c")
    a, b, c = ((root / d / "page.html").read_bytes() for d in "abc")
    assert a == b
    assert a != c
    assert (root / "a" / "key.json").read_bytes() == (root / "b" / "key.json").read_bytes()


def test_the_blinding_needs_the_noise_key_not_just_the_seed(
    tmp_path: Path, public_spec: DatasetSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_inputs(tmp_path, public_spec, n_rows=30)
    _build(root, public_spec, ReviewParams(n_items_per_source=5, seed=1), out="a")
    monkeypatch.setenv("TRAUMASYNTH_NOISE_KEY_FILE", str(tmp_path / "other.key"))
    _build(root, public_spec, ReviewParams(n_items_per_source=5, seed=1), out="b")
    a, b = (json.loads((root / d / "key.json").read_text())["items"] for d in "ab")
    assert set(a) != set(b)  # same review.seed, another key: other ids (and another draw and order)


def test_default_dataset_gets_synthetic_records_only(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=30, with_real_narrative=False)
    result = _build(root, sim_spec, ReviewParams(n_items_per_source=3))
    assert not result.real_included
    assert result.n_by_source == {"ddpm": 3, "vae": 3}


def test_forcing_real_rows_without_narratives_is_refused(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=10, with_real_narrative=False)
    with pytest.raises(DataError, match="no narrative column"):
        _build(root, sim_spec, ReviewParams(include_real=True))
    assert not (root / "review").exists()


def test_a_model_called_real_is_refused(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    with pytest.raises(ParamsError, match="real"):
        run(
            spec=sim_spec,
            params=ReviewParams(),
            models=["real"],
            synthetic_dir=tmp_path,
            narratives_dir=tmp_path,
            real_path=tmp_path / "t.parquet",
            page_path=tmp_path / "p.html",
            key_path=tmp_path / "k.json",
        )


def test_fewer_rows_than_asked_takes_them_all(tmp_path: Path, public_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, public_spec, n_rows=6)
    sources = {
        "vae": load_synthetic(
            spec=public_spec,
            model="vae",
            synthetic_path=root / "data/synthetic/vae.parquet",
            narratives_path=root / "data/narratives/vae.parquet",
        ),
        "real": load_real(spec=public_spec, real_path=root / "data/prepared/test.parquet"),
    }
    items = draw_items(spec=public_spec, sources=sources, n_per_source=50, seed=0)
    assert sorted(i.source for i in items) == ["real"] * 6 + ["vae"] * 6
    assert len({i.item_id for i in items}) == 12


def test_narrative_cannot_break_out_of_the_data_block(public_spec: DatasetSpec) -> None:
    evil = 'fell </script><script>alert("x")</script> <!-- & more'
    item = ReviewItem(
        item_id="item-000000000001", source="vae", record_id="vae-1", fields=(("Age", "3"),), narrative=evil
    )
    html = render_page(spec=public_spec, items=[item])
    assert "</script><script>alert" not in html
    assert _embedded(html)["items"][0]["narrative"] == evil
