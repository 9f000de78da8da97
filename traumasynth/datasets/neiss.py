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
file (``1842`` among product labels) are decoded too. Codes are
decoded with the public NEISS code table (``neiss_code_text_mapping.csv``), whose
labels lose their numeric prefix (``75 - HEAD`` -> ``HEAD``) so both layouts give
identical labels. Age code 0 ("UNK") becomes a missing age in both layouts.

Products (1,100+ codes) are kept as text (``product_1..3``, not modelled) and grouped
into :data:`PRODUCT_GROUPS`, ~20 coarse public groups that follow the chapters of
the NEISS product-code list (hundreds of the code: 01xx general household appliances,
04xx housewares, 18xx home structures, 12xx/32xx sports...), with vehicles and cycles
gathered by keyword. A decoded file's product labels are mapped back to their codes
with the same code table (exact, then prefix, then close spelling: the wording of a
few labels changed between code-table editions). ``product_group_2`` is ``none`` when
there is no second product.

The mechanism label is derived by :mod:`traumasynth.datasets.neiss_mechanism`.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from pathlib import Path
from typing import Final

import pandas as pd

from traumasynth.datasets.files import read_errors
from traumasynth.datasets.neiss_mechanism import derive_mechanism
from traumasynth.errors import DataError
from traumasynth.schema import coerce_to_spec
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)

MAPPING_FILE_NAME: Final = "neiss_code_text_mapping.csv"

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
#: Raw column -> code-table format that decodes it.
CODE_FORMATS: Final[dict[str, str]] = {
    "Sex": "GENDER",
    "Race": "RACE",
    "Hispanic": "HISP",
    "Body_Part": "BDYPT",
    "Body_Part_2": "BDYPT",
    "Diagnosis": "DIAG",
    "Diagnosis_2": "DIAG",
    "Disposition": "DISP",
    "Location": "LOC",
    "Fire_Involvement": "FIRE",
    "Product_1": "PROD",
    "Product_2": "PROD",
    "Product_3": "PROD",
    "Alcohol": "ALC_DRUG",
    "Drug": "ALC_DRUG",
}
_DETECT_COLUMNS: Final = ("Sex", "Race", "Body_Part", "Diagnosis", "Disposition", "Location", "Fire_Involvement")
_LAYOUTS_HELP: Final = (
    "Accepted layouts: the decoded NEISS layout (labels such as MALE, FRACTURE, as in NEISS_17-21_sample.csv) "
    "and CPSC's coded layout (numeric codes, as in the yearly NEISS files), both with the columns "
    f"{', '.join(REQUIRED_COLUMNS)} (names matched ignoring case and underscores)."
)

# --- product groups ---------------------------------------------------------------
PRODUCT_GROUPS: Final[tuple[str, ...]] = (
    "household_appliances",
    "heating_cooling",
    "housewares",
    "home_entertainment_hobby",
    "home_furnishings",
    "home_structures",
    "workshop_tools",
    "household_chemicals",
    "yard_garden_farm",
    "packaging_containers",
    "sports_recreation",
    "vehicles_and_cycles",
    "toys",
    "child_nursery",
    "personal_use",
    "drugs_medications",
    "animals_plants_insects",
    "misc_products",
    "no_product",
    "unknown",
)
NO_SECOND_PRODUCT: Final = "none"
_VEHICLE_LABEL = re.compile(
    r"BICYCLE|TRICYCLE|UNICYCLE|SKATEBOARD|SCOOTER|HOVERBOARD|ALL TERR|MOPED|MINIBIKE|TRAIL BIKE|GO-CART"
    r"|DUNE BUGG|UTILITY VEHICLE|OFF-ROAD VEHICLE|MOTOR VEHICLE|MOTORIZED VEHICLE|GOLF CART|SNOWMOBILE"
)
_NOT_VEHICLE_LABEL = re.compile(r"BATTERIES|BABY CARRIERS")
#: (first code, last code, group), checked in order after the vehicle keywords.
_PRODUCT_RANGES: Final[tuple[tuple[int, int, str], ...]] = (
    (1, 1, "no_product"),
    (1903, 1903, "drugs_medications"),
    (1909, 1909, "drugs_medications"),
    (1913, 1913, "personal_use"),
    (1914, 1916, "drugs_medications"),
    (1923, 1923, "drugs_medications"),
    (1926, 1926, "household_chemicals"),
    (1927, 1932, "drugs_medications"),
    (1939, 1940, "drugs_medications"),
    (5029, 5034, "sports_recreation"),
    (5037, 5038, "sports_recreation"),
    (5041, 5041, "sports_recreation"),
    (5043, 5043, "sports_recreation"),
    (100, 299, "household_appliances"),
    (300, 399, "heating_cooling"),
    (400, 499, "housewares"),
    (500, 599, "home_entertainment_hobby"),
    (600, 799, "home_furnishings"),
    (800, 899, "workshop_tools"),
    (900, 999, "household_chemicals"),
    (1000, 1099, "yard_garden_farm"),
    (1100, 1199, "packaging_containers"),
    (1200, 1299, "sports_recreation"),
    (1300, 1399, "toys"),
    (1400, 1499, "yard_garden_farm"),
    (1500, 1599, "child_nursery"),
    (1600, 1699, "personal_use"),
    (1700, 1799, "misc_products"),
    (1800, 1899, "home_structures"),
    (1900, 1999, "misc_products"),
    (2000, 2099, "animals_plants_insects"),
    (2288, 2288, "no_product"),
    (2200, 2499, "misc_products"),
    (2500, 2699, "personal_use"),
    (3200, 3299, "sports_recreation"),
    (4000, 4099, "home_furnishings"),
    (4800, 4899, "packaging_containers"),
    (5000, 5099, "toys"),
    (5555, 5555, "drugs_medications"),
    (6666, 6666, "drugs_medications"),
    (7000, 7099, "yard_garden_farm"),
    (7777, 7777, "misc_products"),
    (7878, 9999, "no_product"),
)


def product_group(*, code: int, label: str) -> str:
    """The coarse group (one of :data:`PRODUCT_GROUPS`) of NEISS product ``code``.

    Args:
        code: the NEISS product code (0 or missing products are handled by the caller).
        label: the code table's label of ``code`` (vehicles and cycles are found by keyword).
    """
    if _VEHICLE_LABEL.search(label.upper()) and not _NOT_VEHICLE_LABEL.search(label.upper()):
        return "vehicles_and_cycles"
    for low, high, group in _PRODUCT_RANGES:
        if low <= code <= high:
            return group
    return "unknown"


# --- code tables ------------------------------------------------------------------
# The code table's "84 - 25-50% OF BODY": a space before the dash, so the label "25-50% OF BODY" keeps its own.
_PREFIX = re.compile(r"^\s*\d+\s+-\s*")
_MAPPING_COLUMNS: Final = (
    "Format name",
    "Starting value for format",
    "Ending value for format",
    "Format value label",
)


def read_code_tables(*, path: Path) -> dict[str, dict[int, str]]:
    """Read the NEISS code tables: format name -> {code: label without numeric prefix}.

    Args:
        path: the public ``neiss_code_text_mapping.csv`` (format name, start, end, label).

    Raises:
        DataError: the file is missing or lacks the four code-table columns.
    """
    if not path.is_file():
        raise DataError(
            f"NEISS code table {path} not found. Put CPSC's {MAPPING_FILE_NAME} beside the NEISS file "
            "or pass mapping_path=..."
        )
    table = pd.read_csv(path, dtype=str)
    missing = [c for c in _MAPPING_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"NEISS code table {path} lacks column(s) {missing}; expected {list(_MAPPING_COLUMNS)} "
            f"(found {list(table.columns)})."
        )
    tables: dict[str, dict[int, str]] = {}
    for name, start, end, label in table[list(_MAPPING_COLUMNS)].itertuples(index=False):
        first, last = int(str(start).strip()), int(str(end).strip())
        if last - first > 1000:  # e.g. "2..120 = 2 YEARS AND OLDER": not a label to expand
            continue
        codes = tables.setdefault(str(name).strip(), {})
        for code in range(first, last + 1):
            codes.setdefault(code, _PREFIX.sub("", str(label)).strip())
    return tables


# --- reading ------------------------------------------------------------------------
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


def _codes(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").round().astype("Int64")


def _decode_coded(raw: pd.DataFrame, tables: dict[str, dict[int, str]], path: Path) -> pd.DataFrame:
    out = raw.copy()
    problems: list[str] = []
    for column, fmt in CODE_FORMATS.items():
        if column not in raw.columns:
            continue
        codes = _codes(raw[column])
        if column.startswith("Product_"):
            codes = codes.mask(codes == 0)  # 0 = no second/third product
        table = tables.get(fmt, {})
        labels = codes.map(table, na_action="ignore")
        unknown = codes.notna() & labels.isna()
        if unknown.any():
            shown = sorted({int(c) for c in codes[unknown]})[:10]
            problems.append(f"Column '{column}' has {int(unknown.sum())} code(s) not in table {fmt}, e.g. {shown}.")
        out[column] = labels.astype(object).where(labels.notna(), None)
        if column.startswith("Product_"):
            out[f"{column}_code"] = codes
    if "Diagnosis_2" in raw.columns:  # Body_Part_2 is meaningful only with a second diagnosis
        has_second = out["Diagnosis_2"].notna()
        out["Body_Part_2"] = out.get("Body_Part_2", pd.Series(None, index=out.index)).where(has_second, None)
    age_code = _codes(raw["Age"])
    months = age_code.between(201, 223)
    bad_age = age_code.notna() & ~(age_code.between(0, 120) | months)
    if bad_age.any() or (raw["Age"].notna() & age_code.isna()).any():
        problems.append("Column 'Age' has codes outside 0-120 (years) and 201-223 (months).")
    age = age_code.astype("float64")
    out["Age"] = age.where(~months, (age - 200) / 12).where(age_code != 0)
    if problems:
        raise DataError(
            f"NEISS file {path} has codes its code table cannot decode: "
            + " ".join(problems)
            + " Use the code table of the file's edition (mapping_path=...)."
        )
    return out


def _normalise_label(label: str) -> str:
    return " ".join(re.sub(r"[^A-Z0-9 ]", " ", label.upper().replace("&", " AND ")).split())


def _resolve_product_codes(labels: pd.Series, table: dict[int, str]) -> pd.Series:
    """Map decoded product labels back to codes: exact, then prefix, then close spelling."""
    by_label: dict[str, int] = {}
    for code, label in sorted(table.items()):
        by_label.setdefault(_normalise_label(label), code)
    resolved: dict[str, int] = {}
    unresolved: list[str] = []
    for label in labels.dropna().unique():
        norm = _normalise_label(str(label))
        if norm in by_label:
            resolved[label] = by_label[norm]
            continue
        # A re-spelt label (INSTRMNTS) is close to its old form; a shortened one (UNICYCLES) is a prefix of it.
        near = difflib.get_close_matches(norm, list(by_label), n=1, cutoff=0.9)
        prefix = [c for lab, c in by_label.items() if lab.startswith(norm) or norm.startswith(lab)]
        close = difflib.get_close_matches(norm, list(by_label), n=1, cutoff=0.8)
        if near:
            resolved[label] = by_label[near[0]]
        elif len(prefix) == 1:
            resolved[label] = prefix[0]
        elif close:
            resolved[label] = by_label[close[0]]
        else:
            unresolved.append(str(label))
    if unresolved:
        logger.warning(
            "%d product label(s) are not in the NEISS code table; their product group is 'unknown': %s",
            len(unresolved),
            sorted(unresolved)[:10],
        )
    return labels.map(resolved).astype("Int64")


def _decode_labels(raw: pd.DataFrame, tables: dict[str, dict[int, str]], path: Path) -> pd.DataFrame:
    out = raw.copy()
    problems: list[str] = []
    exact_codes: dict[str, pd.Series] = {}
    for column, fmt in CODE_FORMATS.items():
        if column not in raw.columns:
            continue
        text = raw[column].astype("string").str.replace(_PREFIX, "", regex=True).str.strip()
        if column.startswith("Product_"):
            text = text.mask(text.isin(["0", "0.0", ""]))
        # A decoded file may still hold bare codes in places (345 rather than its label): decode them.
        codes = _codes(text.where(text.str.fullmatch(r"\d+(?:\.0+)?").fillna(False)))
        labels = codes.map(tables.get(fmt, {}), na_action="ignore")
        unknown = codes.notna() & labels.isna()
        if unknown.any():
            shown = sorted({int(c) for c in codes[unknown]})[:10]
            problems.append(f"Column '{column}' has {int(unknown.sum())} code(s) not in table {fmt}, e.g. {shown}.")
        text = text.where(codes.isna(), labels.astype("string"))
        out[column] = text.astype(object).where(text.notna(), None)
        exact_codes[column] = codes
    if problems:
        raise DataError(
            f"NEISS file {path} has codes its code table cannot decode: "
            + " ".join(problems)
            + " Use the code table of the file's edition (mapping_path=...)."
        )
    for column in ("Product_1", "Product_2", "Product_3"):
        if column in out.columns:
            resolved = _resolve_product_codes(out[column].where(exact_codes[column].isna()), tables.get("PROD", {}))
            out[f"{column}_code"] = exact_codes[column].fillna(resolved)
    age = pd.to_numeric(raw["Age"], errors="coerce")
    # Fractional ages are months/12, rounded in the file: give them the exact value of the coded layout.
    out["Age"] = age.where(age >= 2, (age * 12).round() / 12).where(age != 0)
    return out


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


def _product_groups(codes: pd.Series, labels: pd.Series, table: dict[int, str]) -> pd.Series:
    groups = pd.Series(NO_SECOND_PRODUCT, index=codes.index, dtype=object)
    present = labels.notna()
    groups[present & codes.isna()] = "unknown"
    known = present & codes.notna()
    unique_codes = codes[known].unique()
    lookup = {int(c): product_group(code=int(c), label=table.get(int(c), "")) for c in unique_codes}
    groups[known] = codes[known].map(lookup)
    return groups


def read_neiss(*, path: Path, spec: DatasetSpec, mapping_path: Path | None = None) -> pd.DataFrame:
    """Read a NEISS file (decoded or coded layout) into the spec's canonical frame.

    Args:
        path: a ``.csv``, ``.tsv``/``.txt`` or ``.parquet`` NEISS case file.
        spec: the NEISS dataset specification (``datasets/neiss.yaml``): its columns are returned.
        mapping_path: the NEISS code table; default ``neiss_code_text_mapping.csv`` beside ``path``.
            Needed to decode a coded file and to group the products of either layout.

    Returns:
        One row per case with the spec's columns in canonical dtypes (not yet validated:
        the caller runs ``traumasynth.schema.validate``), including ``product_group_1/2``
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
    decoded = _decode_coded(raw, tables, path) if layout == "coded" else _decode_labels(raw, tables, path)

    frame = pd.DataFrame(index=decoded.index)
    for source, target in CANONICAL_NAMES.items():
        frame[target] = decoded[source] if source in decoded.columns else None
    date_format = spec.column("treatment_date").format if "treatment_date" in spec.column_names else None
    frame["treatment_date"] = _parse_dates(frame["treatment_date"], path=path, date_format=date_format)
    prod_table = tables.get("PROD", {})
    frame["product_group_1"] = _product_groups(decoded["Product_1_code"], frame["product_1"], prod_table)
    frame["product_group_2"] = _product_groups(
        decoded.get("Product_2_code", pd.Series(pd.NA, index=frame.index, dtype="Int64")),
        frame["product_2"],
        prod_table,
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


__all__ = [
    "CANONICAL_NAMES",
    "MAPPING_FILE_NAME",
    "PRODUCT_GROUPS",
    "REQUIRED_COLUMNS",
    "product_group",
    "read_code_tables",
    "read_neiss",
]
