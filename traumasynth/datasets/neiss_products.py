"""NEISS products: the coarse public product groups and the codes of decoded product labels.

Products (1,100+ codes) are grouped into :data:`PRODUCT_GROUPS`, ~20 coarse public
groups that follow the chapters of the NEISS product-code list (hundreds of the code:
01xx general household appliances, 04xx housewares, 18xx home structures, 12xx/32xx
sports...), with vehicles and cycles gathered by keyword. A decoded file's product
labels are mapped back to their codes with the code table (exact, then prefix, then
close spelling: the wording of a few labels changed between code-table editions).
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Final

import pandas as pd

logger = logging.getLogger(__name__)

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


def _normalise_label(label: str) -> str:
    return " ".join(re.sub(r"[^A-Z0-9 ]", " ", label.upper().replace("&", " AND ")).split())


def resolve_product_codes(*, labels: pd.Series, table: dict[int, str]) -> pd.Series:
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


def product_groups(*, codes: pd.Series, labels: pd.Series, table: dict[int, str]) -> pd.Series:
    """The product group of each row: :data:`NO_SECOND_PRODUCT` where there is no product, ``unknown`` without a code.

    Args:
        codes: the NEISS product codes (missing where the label has none).
        labels: the product labels (missing where there is no product).
        table: the ``PROD`` code table (code -> label).
    """
    groups = pd.Series(NO_SECOND_PRODUCT, index=codes.index, dtype=object)
    present = labels.notna()
    groups[present & codes.isna()] = "unknown"
    known = present & codes.notna()
    unique_codes = codes[known].unique()
    lookup = {int(c): product_group(code=int(c), label=table.get(int(c), "")) for c in unique_codes}
    groups[known] = codes[known].map(lookup)
    return groups
