"""Spec-driven table encoding: frames in the spec's form <-> arrays a model learns from.

Nothing here is fitted on the private rows. Numeric columns are scaled to ``[-1, 1]``
with the bounds written in the dataset specification (after its fixed ``transform``),
categoricals become indices over the spec's category list, datetimes are split into
the parts the spec declares (``traumasynth.encoding.columns``). Because the layout depends
only on the spec, the encoder costs no privacy budget and two models trained on the same spec
share it exactly.

Slots:

- numeric (``x_num``): one per integer/continuous column, named after it, and one per
  declared datetime part, named ``"<column>.<part>"``.
- categorical (``x_cat``): one per categorical feature (a nullable one gets a last
  ``"__missing__"`` level), plus a two-level indicator ``"<column>.__missing__"``
  (0 = present, 1 = missing) per nullable numeric or datetime column. A missing
  numeric value is encoded as 0 in its numeric slot, so models see a neutral value.
- the target is never a slot: it is ``y``, its index in ``spec.classes``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from traumasynth.core.errors import ModelMismatchError, SchemaError
from traumasynth.encoding.columns import (
    decode_categorical,
    decode_datetime,
    decode_numeric,
    encode_categorical,
    encode_datetime,
    encode_numeric,
)
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)

MISSING_LEVEL = "__missing__"
_ENCODER_FORMAT = 1


@dataclass(frozen=True)
class EncodedTable:
    """A table as model inputs.

    Attributes:
        x_num: float32 ``[N, n_num]``, each slot scaled to ``[-1, 1]`` with the spec bounds.
        x_cat: int64 ``[N, n_cat]``, level index per categorical slot.
        y: int64 ``[N]``, index of the target class in ``spec.classes``.
    """

    x_num: np.ndarray
    x_cat: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


class TableEncoder:
    """Encode/decode the modelled columns of a spec (see module docstring for the layout).

    Args:
        spec: the dataset specification; the only input of the layout.
    """

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.classes: tuple[str, ...] = spec.classes
        self.num_names: list[str] = []
        self.cat_names: list[str] = []
        self.cat_sizes: list[int] = []
        self._num_owner: list[str] = []  # column of each numeric slot
        self._features = [c for c in spec.modelled_columns if c.role == "feature"]
        for col in self._features:
            if col.kind == "categorical":
                self.cat_names.append(col.name)
                self.cat_sizes.append(len(col.categories or ()) + int(col.nullable))
                continue
            if col.kind == "datetime":
                self.num_names.extend(f"{col.name}.{part}" for part in col.parts or ())
                self._num_owner.extend(col.name for _ in col.parts or ())
            else:
                self.num_names.append(col.name)
                self._num_owner.append(col.name)
            if col.nullable:
                self.cat_names.append(f"{col.name}.{MISSING_LEVEL}")
                self.cat_sizes.append(2)

    # -- layout --------------------------------------------------------------
    @property
    def n_num(self) -> int:
        return len(self.num_names)

    @property
    def n_cat(self) -> int:
        return len(self.cat_names)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def num_missing_slot(self) -> list[int]:
        """For each numeric slot, the index of its missing-indicator categorical slot, or -1.

        Models mask the loss of a numeric slot where its value is missing (encoded as 0).
        """
        cat_pos = {name: i for i, name in enumerate(self.cat_names)}
        return [cat_pos.get(f"{owner}.{MISSING_LEVEL}", -1) for owner in self._num_owner]

    @property
    def columns(self) -> list[str]:
        """Names of the frame ``decode`` returns: the modelled columns in spec order."""
        return [c.name for c in self.spec.modelled_columns]

    def class_index(self, label: str) -> int:
        """Index of target class ``label``; raises SchemaError listing the classes."""
        if label not in self.classes:
            raise SchemaError(
                f"'{label}' is not a class of target '{self.spec.target.name}'. Classes: {', '.join(self.classes)}."
            )
        return self.classes.index(label)

    # -- encode --------------------------------------------------------------
    def encode(self, df: pd.DataFrame) -> EncodedTable:
        """Turn a frame in the spec's form into model inputs.

        Only ``spec.modelled_columns`` are read; other columns (id, narrative) are ignored.

        Raises:
            SchemaError: a modelled column is missing, or values are outside the
                spec (unknown category, out-of-bounds number, missing value in a
                non-nullable column); every problem is listed at once.
        """
        problems: list[str] = []
        missing_cols = [c for c in self.columns if c not in df.columns]
        if missing_cols:
            raise SchemaError(
                "Cannot encode the table:",
                [f"Column '{c}' is missing. Add it or check the dataset specification." for c in missing_cols],
            )
        n = len(df)
        nums: list[np.ndarray] = []
        cats: list[np.ndarray] = []
        for col in self._features:
            series = df[col.name]
            missing = series.isna().to_numpy()
            if missing.any() and not col.nullable:
                problems.append(
                    f"Column '{col.name}' has {int(missing.sum())} missing value(s) but is not nullable. "
                    "Fill them or set `nullable: true` in the dataset specification."
                )
            if col.kind == "categorical":
                cats.append(encode_categorical(series, col=col, missing=missing, problems=problems))
                continue
            if col.kind == "datetime":
                nums.extend(encode_datetime(series, col=col, missing=missing, problems=problems))
            else:
                nums.append(encode_numeric(series, col=col, missing=missing, problems=problems))
            if col.nullable:
                cats.append(missing.astype(np.int64))
        y_series = df[self.spec.target.name]
        y = encode_categorical(y_series, col=self.spec.target, missing=y_series.isna().to_numpy(), problems=problems)
        if problems:
            raise SchemaError(f"Cannot encode the table with dataset specification '{self.spec.name}':", problems)
        x_num = np.stack(nums, axis=1).astype(np.float32) if nums else np.zeros((n, 0), dtype=np.float32)
        x_cat = np.stack(cats, axis=1).astype(np.int64) if cats else np.zeros((n, 0), dtype=np.int64)
        return EncodedTable(x_num=x_num, x_cat=x_cat, y=y.astype(np.int64))

    # -- decode --------------------------------------------------------------
    def decode(self, enc: EncodedTable, *, seed: int) -> pd.DataFrame:
        """Turn model outputs back into a frame in the spec's form (modelled columns).

        Numeric values are clipped to ``[-1, 1]`` then to the spec bounds, integers
        rounded, missing values restored from the indicators, datetimes rebuilt from
        their parts (parts the spec does not model are drawn with a generator seeded
        by ``seed``, so the same inputs give the same frame).

        Args:
            enc: arrays shaped as ``encode`` returns them.
            seed: seed of the generator that fills unmodelled datetime parts.

        Raises:
            SchemaError: the arrays do not have this encoder's layout.
        """
        self._check_layout(enc)
        rng = np.random.default_rng(seed)
        n = len(enc)
        num_pos = {name: i for i, name in enumerate(self.num_names)}
        cat_pos = {name: i for i, name in enumerate(self.cat_names)}
        out: dict[str, pd.Series] = {}
        for col in self.spec.modelled_columns:
            if col.role == "target":
                out[col.name] = pd.Series(np.asarray(self.classes, dtype=object)[enc.y], dtype="str")
                continue
            missing = np.zeros(n, dtype=bool)
            if col.kind != "categorical" and col.nullable:
                missing = enc.x_cat[:, cat_pos[f"{col.name}.{MISSING_LEVEL}"]] == 1
            if col.kind == "categorical":
                out[col.name] = decode_categorical(enc.x_cat[:, cat_pos[col.name]], col=col)
            elif col.kind == "datetime":
                parts: dict[str, np.ndarray] = {p: enc.x_num[:, num_pos[f"{col.name}.{p}"]] for p in col.parts or ()}
                out[col.name] = decode_datetime(parts, col=col, missing=missing, rng=rng)
            else:
                out[col.name] = decode_numeric(enc.x_num[:, num_pos[col.name]], col=col, missing=missing)
        return pd.DataFrame(out, columns=self.columns)

    def _check_layout(self, enc: EncodedTable) -> None:
        problems = []
        if enc.x_num.ndim != 2 or enc.x_num.shape[1] != self.n_num:
            problems.append(f"x_num has shape {enc.x_num.shape}, expected [N, {self.n_num}]")
        if enc.x_cat.ndim != 2 or enc.x_cat.shape[1] != self.n_cat:
            problems.append(f"x_cat has shape {enc.x_cat.shape}, expected [N, {self.n_cat}]")
        if not problems and not (enc.x_num.shape[0] == enc.x_cat.shape[0] == enc.y.shape[0]):
            problems.append("x_num, x_cat and y have different numbers of rows")
        if not problems and enc.x_cat.size:
            too_big = enc.x_cat >= np.asarray(self.cat_sizes)[None, :]
            if (enc.x_cat < 0).any() or too_big.any():
                problems.append("x_cat holds level indices outside the categorical slots' sizes")
        if enc.y.size and ((enc.y < 0).any() or (enc.y >= self.n_classes).any()):
            problems.append(f"y holds class indices outside 0..{self.n_classes - 1}")
        if problems:
            raise SchemaError("Cannot decode: the arrays do not match the encoder layout.", problems)

    # -- persistence ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The layout as JSON-ready data (written to ``encoder.json`` beside a model)."""
        return {
            "format": _ENCODER_FORMAT,
            "spec_name": self.spec.name,
            "spec_hash": self.spec.spec_hash,
            "num_names": list(self.num_names),
            "cat_names": list(self.cat_names),
            "cat_sizes": list(self.cat_sizes),
            "classes": list(self.classes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, spec: DatasetSpec) -> TableEncoder:
        """Rebuild the encoder of ``spec`` and check that ``data`` was written for it.

        Raises:
            ModelMismatchError: ``data`` was written for another specification.
        """
        if data.get("spec_hash") != spec.spec_hash:
            raise ModelMismatchError(
                f"The encoder was built for dataset specification '{data.get('spec_name')}' "
                f"(hash {str(data.get('spec_hash'))[:12]}), not for '{spec.name}' (hash {spec.spec_hash[:12]}). "
                "Retrain the model with this specification, or use the specification it was trained with."
            )
        encoder = cls(spec)
        saved = (data.get("num_names"), data.get("cat_names"), data.get("cat_sizes"), data.get("classes"))
        if saved != (encoder.num_names, encoder.cat_names, encoder.cat_sizes, list(encoder.classes)):
            raise ModelMismatchError(
                "The saved encoder layout differs from the one this version of traumasynth builds for "
                f"'{spec.name}'. Retrain the model."
            )
        return encoder
