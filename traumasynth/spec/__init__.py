"""Dataset specifications: the one source of truth about a table's columns.

A specification is a YAML file (see ``datasets/*.yaml``) that lists every column
with its kind, role, allowed categories or numeric bounds, nullability, unit and
a one-line clinical description (or only the columns it uses, with
``unlisted_columns: exclude``; ``source`` and ``format`` say how the raw file is
read). Categories and bounds are *public knowledge* written by a person, never
read from the data: that is what lets the encoders and the DP training give an
honest privacy guarantee (nothing data-dependent is computed outside the privacy
budget).

Pandera schemas (``traumasynth.spec.schema``), the encoders and the decoders are all
generated from this object; no other module keeps its own list of columns.
"""

from traumasynth.spec.column import (
    DATETIME_PART_BOUNDS,
    NUMERIC_KINDS,
    ColumnSpec,
    DatetimePart,
    Kind,
    Role,
    Transform,
)
from traumasynth.spec.dataset import DatasetSpec
from traumasynth.spec.loading import PLACEHOLDER, load_spec, unfilled_placeholders

__all__ = [
    "DATETIME_PART_BOUNDS",
    "NUMERIC_KINDS",
    "PLACEHOLDER",
    "ColumnSpec",
    "DatasetSpec",
    "DatetimePart",
    "Kind",
    "Role",
    "Transform",
    "load_spec",
    "unfilled_placeholders",
]
