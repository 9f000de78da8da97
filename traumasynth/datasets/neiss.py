"""Reader of CPSC NEISS injury records, in the decoded and in the coded layout.

NEISS (National Electronic Injury Surveillance System) case files come in two layouts:

- **decoded**: code columns already hold their labels (``MALE``, ``FRACTURE``,
  ``STAIRS OR STEPS``), ages under two are fractional years (the layout of the
  shared ``NEISS_17-21_sample.csv``);
- **coded**: CPSC's own yearly files, with numeric codes in ``Sex``, ``Race``,
  ``Body_Part``, ``Diagnosis``, ``Disposition``, ``Location``, ``Fire_Involvement``,
  ``Product_1..3``, ``Hispanic``, ``Alcohol``, ``Drug``, and ages under two coded
  201-223 (months). Column names are matched case- and punctuation-insensitively, and
  the older names (``trmt_date``, ``diag``, ``prod1``, ``narr1``...) are accepted.

A narrative split into ``Narrative_1``, ``Narrative_2``... (or ``Narrative`` and ``Narrative_1``)
is joined in that order. Treatment dates may be ISO or CPSC's ``1/31/2019`` and ``1/31/19``.

The layout is detected from the code columns: all numeric means coded; bare codes in a decoded
file (``1842`` among product labels) are decoded too. Codes are decoded with the public NEISS
code table (:mod:`traumasynth.datasets.neiss_codes`), so both layouts give identical labels.

Products (1,100+ codes) are kept as text (``product_1..3``, not modelled) and grouped into
coarse public groups (:mod:`traumasynth.datasets.neiss_products`); ``product_group_2`` is
``none`` when there is no second product.

The mechanism label is derived by :mod:`traumasynth.datasets.neiss_mechanism`.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Final

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.datasets.files import read_errors
from traumasynth.datasets.neiss_codes import MAPPING_FILE_NAME, decode_coded, decode_labels, read_code_tables
from traumasynth.datasets.neiss_mechanism import derive_mechanism
from traumasynth.datasets.neiss_products import NO_SECOND_PRODUCT, product_groups
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import coerce_to_spec

logger = logging.getLogger(__name__)

#: Raw NEISS column -> canonical name. The raw name's aliases follow in _ALIASES.
CANONICAL_NAMES: Final[dict[str, str]] = {
    "CPSC_Case_Number": "case_number",
    "Treatment_Date": "treatment_date",
    "Age": "age",
    "Sex": "sex",
    "Race": "race",
    "Other_Race": "other_race",
    "Hispanic": "hispanic",
    "Body_Part": "body_part",
    "Diagnosis": "diagnosis",
    "Other_Diagnosis": "other_diagnosis",
    "Body_Part_2": "body_part_2",
    "Diagnosis_2": "diagnosis_2",
    "Other_Diagnosis_2": "other_diagnosis_2",
    "Disposition": "disposition",
    "Location": "location",
    "Fire_Involvement": "fire_involvement",
    "Product_1": "product_1",
    "Product_2": "product_2",
    "Product_3": "product_3",
    "Alcohol": "alcohol",
    "Drug": "drug",
    "Narrative": "narrative",
    "Stratum": "stratum",
    "PSU": "psu",
    "Weight": "weight",
}
_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "CPSC_Case_Number": ("cpsccase", "casenumber"),
    "Treatment_Date": ("trmtdate",),
    "Sex": ("gender",),
    "Other_Race": ("raceother",),
    "Body_Part": ("bdypt",),
    "Diagnosis": ("diag",),
    "Other_Diagnosis": ("diagother",),
    "Body_Part_2": ("bdypt2",),
    "Diagnosis_2": ("diag2",),
    "Other_Diagnosis_2": ("diag2other",),
    "Disposition": ("disp",),
    "Location": ("loc",),
    "Fire_Involvement": ("fmv",),
    "Product_1": ("prod1", "product"),
    "Product_2": ("prod2",),
    "Product_3": ("prod3",),
}
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "CPSC_Case_Number",
    "Treatment_Date",
    "Age",
    "Sex",
    "Race",
    "Body_Part",
    "Diagnosis",
    "Disposition",
    "Location",
    "Fire_Involvement",
    "Product_1",
    "Narrative",
    "Stratum",
    "PSU",
    "Weight",
)
_DETECT_COLUMNS: Final = ("Sex", "Race", "Body_Part", "Diagnosis", "Disposition", "Location", "Fire_Involvement")
_LAYOUTS_HELP: Final = (
    "Accepted layouts: the decoded NEISS layout (labels such as MALE, FRACTURE, as in NEISS_17-21_sample.csv) "
    "and CPSC's coded layout (numeric codes, as in the yearly NEISS files), both with the columns "
    f"{', '.join(REQUIRED_COLUMNS)} (names matched ignoring case and underscores)."
)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


#: A part of the narrative: ``Narrative``, ``Narrative_1``, ``Narrative_2``... (``narr1``, ``narr2`` in older files).
_NARRATIVE_PART: Final = re.compile(r"(?:narrative|narr)(\d*)")


def _join_narratives(raw: pd.DataFrame) -> pd.DataFrame:
    """One ``Narrative`` column: CPSC splits a long narrative into ``Narrative_1``, ``Narrative_2``...

    The parts are joined in their order (``Narrative`` or ``Narrative_1`` first), a space between.
    """
    parts = sorted(
        (int(match.group(1) or 0), i)
        for i, name in enumerate(raw.columns)
        if (match := _NARRATIVE_PART.fullmatch(_key(str(name))))
    )
    if not parts:
        return raw
    if len(parts) == 1:
        return raw.set_axis(["Narrative" if i == parts[0][1] else c for i, c in enumerate(raw.columns)], axis=1)
    texts = [raw.iloc[:, i].astype("string").str.strip() for _, i in parts]
    joined = texts[0].fillna("")
    for text in texts[1:]:
        joined = joined.str.cat(text, sep=" ", na_rep="").str.strip()
    out = raw.drop(columns=raw.columns[[i for _, i in parts]])
    out["Narrative"] = joined.mask(joined == "").astype(object).where(lambda v: v.notna(), None)
    return out


def _rename_columns(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    raw = _join_narratives(raw)
    lookup: dict[str, str] = {}
    for canonical in CANONICAL_NAMES:
        for alias in (_key(canonical), *_ALIASES.get(canonical, ())):
            lookup.setdefault(alias, canonical)
    renames = {c: lookup[_key(str(c))] for c in raw.columns if _key(str(c)) in lookup}
    sources: dict[str, list[str]] = {}
    for column in raw.columns:
        if column in renames:
            sources.setdefault(renames[column], []).append(str(column))
    doubled = {canonical: names for canonical, names in sources.items() if len(names) > 1}
    if doubled:
        described = "; ".join(f"{c}: {', '.join(repr(n) for n in names)}" for c, names in doubled.items())
        raise DataError(f"NEISS file {path} has several columns for one field ({described}). Keep one of each.")
    return raw.rename(columns=renames)


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"NEISS file {path} not found. Set base.dataset_path to a NEISS CSV or Parquet file.")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".tsv", ".txt"):
        raise DataError(f"NEISS file {path} has suffix '{suffix}'; use .csv, .tsv/.txt or .parquet.")
    fix = "Point base.dataset_path to a file with NEISS rows."
    with read_errors(path, what="NEISS file", if_empty=fix, export_as="a UTF-8 CSV or Parquet"):
        if suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype=str, sep="," if suffix == ".csv" else "\t", keep_default_na=True)
    if raw.empty:
        raise DataError(f"NEISS file {path} has no rows. Point base.dataset_path to a file with NEISS rows.")
    return raw


def _is_numeric(values: pd.Series) -> bool:
    present = values.dropna()
    present = present[present.astype("string").str.strip() != ""]
    return bool(len(present)) and bool(pd.to_numeric(present, errors="coerce").notna().all())


def _detect_layout(raw: pd.DataFrame, path: Path) -> str:
    numeric = {c: _is_numeric(raw[c]) for c in _DETECT_COLUMNS}
    if all(numeric.values()):
        return "coded"
    if not any(numeric.values()):
        return "decoded"
    raise DataError(
        f"NEISS file {path} mixes layouts: {[c for c, n in numeric.items() if n]} hold numeric codes but "
        f"{[c for c, n in numeric.items() if not n]} hold labels. Use one layout for all code columns. " + _LAYOUTS_HELP
    )


#: Date layouts of NEISS files: ISO (decoded files), and CPSC's US dates with four- or two-digit years.
DATE_FORMATS: Final[tuple[str, ...]] = ("ISO8601", "%m/%d/%Y", "%m/%d/%y")


def _parse_dates(values: pd.Series, *, path: Path, date_format: str | None = None) -> pd.Series:
    """Treatment dates as datetimes: in ``date_format`` when the spec gives one, else any of :data:`DATE_FORMATS`.

    Raises:
        DataError: some values are in none of the formats (one line: the count, examples and the formats).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string").str.strip().mask(lambda v: v == "")
    formats = (date_format,) if date_format else DATE_FORMATS
    stamps = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in formats:
        stamps = stamps.fillna(pd.to_datetime(text, errors="coerce", format=fmt).astype("datetime64[ns]"))
    bad = stamps.isna() & text.notna()
    if bad.any():
        examples = sorted({str(v) for v in text[bad]})[:5]
        shown = ", ".join("ISO (2019-01-31)" if f == "ISO8601" else f"'{f}'" for f in formats)
        raise DataError(
            f"NEISS file {path}: column 'Treatment_Date' has {int(bad.sum())} value(s) that are not dates in "
            f"{shown}, e.g. {examples}. Fix them, or give `treatment_date` a `format` in the dataset specification."
        )
    return stamps


def read_neiss(*, path: Path, spec: DatasetSpec, mapping_path: Path | None = None) -> pd.DataFrame:
    """Read a NEISS file (decoded or coded layout) into the spec's canonical frame.

    Args:
        path: a ``.csv``, ``.tsv``/``.txt`` or ``.parquet`` NEISS case file.
        spec: the NEISS dataset specification (``datasets/neiss.yaml``): its columns are returned.
        mapping_path: the NEISS code table; default ``neiss_code_text_mapping.csv`` beside ``path``.
            Needed to decode a coded file and to group the products of either layout.

    Returns:
        One row per case with the spec's columns in canonical dtypes (not yet validated:
        the caller runs ``traumasynth.spec.schema.validate``), including ``product_group_1/2``
        and the derived ``mechanism``.

    Raises:
        DataError: the file is missing, empty, of another layout (the message lists the
            missing columns), has codes the table cannot decode, or the code table is missing.
        SchemaError: a value cannot be converted to its column's kind.
    """
    started = time.perf_counter()
    path = Path(path)
    mapping_path = Path(mapping_path) if mapping_path is not None else path.parent / MAPPING_FILE_NAME
    raw = _rename_columns(_read_table(path), path)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"NEISS file {path} is missing required column(s) {missing} (found {list(raw.columns)}). " + _LAYOUTS_HELP
        )
    layout = _detect_layout(raw, path)
    if not mapping_path.is_file():
        why = "decode its codes" if layout == "coded" else "group its products"
        raise DataError(
            f"NEISS code table {mapping_path} not found: it is needed to {why}. Put CPSC's {MAPPING_FILE_NAME} "
            "beside the NEISS file or pass mapping_path=..."
        )
    tables = read_code_tables(path=mapping_path)
    decode = decode_coded if layout == "coded" else decode_labels
    decoded = decode(raw=raw, tables=tables, path=path)

    frame = pd.DataFrame(index=decoded.index)
    for source, target in CANONICAL_NAMES.items():
        frame[target] = decoded[source] if source in decoded.columns else None
    date_format = spec.column("treatment_date").format if "treatment_date" in spec.column_names else None
    frame["treatment_date"] = _parse_dates(frame["treatment_date"], path=path, date_format=date_format)
    prod_table = tables.get("PROD", {})
    frame["product_group_1"] = product_groups(
        codes=decoded["Product_1_code"], labels=frame["product_1"], table=prod_table
    )
    frame["product_group_2"] = product_groups(
        codes=decoded.get("Product_2_code", pd.Series(pd.NA, index=frame.index, dtype="Int64")),
        labels=frame["product_2"],
        table=prod_table,
    )
    frame["product_group_1"] = frame["product_group_1"].replace(NO_SECOND_PRODUCT, "no_product")
    frame["mechanism"] = derive_mechanism(frame=frame)

    absent = [c for c in spec.column_names if c not in frame.columns]
    if absent:
        raise DataError(
            f"Dataset specification '{spec.name}' asks for column(s) {absent}, which the NEISS reader does not "
            f"produce. It produces: {', '.join(frame.columns)}."
        )
    out = coerce_to_spec(frame[spec.column_names].reset_index(drop=True), spec, what=f"NEISS file {path}")
    logger.info(
        "Read %d NEISS rows (%s layout) from %s in %.2f s; mechanism counts: %s",
        len(out),
        layout,
        path,
        time.perf_counter() - started,
        out["mechanism"].value_counts().to_dict() if "mechanism" in out.columns else {},
    )
    return out
