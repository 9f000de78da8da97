"""NEISS code tables and the decoding of both file layouts into labels.

Codes are decoded with the public NEISS code table (``neiss_code_text_mapping.csv``),
whose labels lose their numeric prefix (``75 - HEAD`` -> ``HEAD``) so both layouts give
identical labels. Ages under two are coded 201-223 (months) in the coded layout and are
fractional years in the decoded one; age code 0 ("UNK") becomes a missing age in both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.datasets.neiss_products import resolve_product_codes

MAPPING_FILE_NAME: Final = "neiss_code_text_mapping.csv"

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


def _codes(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").round().astype("Int64")


def decode_coded(*, raw: pd.DataFrame, tables: dict[str, dict[int, str]], path: Path) -> pd.DataFrame:
    """Decode a coded-layout file: code columns to labels, ``Product_k_code`` columns, ages in years.

    Raises:
        DataError: some codes are not in their code table, or an age code is out of range.
    """
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


def decode_labels(*, raw: pd.DataFrame, tables: dict[str, dict[int, str]], path: Path) -> pd.DataFrame:
    """Normalise a decoded-layout file: labels without prefix, bare codes decoded, product codes resolved.

    Raises:
        DataError: some bare codes are not in their code table.
    """
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
            resolved = resolve_product_codes(
                labels=out[column].where(exact_codes[column].isna()), table=tables.get("PROD", {})
            )
            out[f"{column}_code"] = exact_codes[column].fillna(resolved)
    age = pd.to_numeric(raw["Age"], errors="coerce")
    # Fractional ages are months/12, rounded in the file: give them the exact value of the coded layout.
    out["Age"] = age.where(age >= 2, (age * 12).round() / 12).where(age != 0)
    return out
