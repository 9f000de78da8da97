"""The ``review`` section of ``params.yaml``: what goes on the clinician review page."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from traumasynth.core.params import FrozenParams
from traumasynth.spec import DatasetSpec


class ReviewParams(FrozenParams):
    """Section ``review``.

    Attributes:
        n_items_per_source: records drawn from each source (real rows, each model).
        include_real: mix real test rows (with their real narratives) into the page:
            ``auto`` does so only when the spec says ``public: true`` (NEISS); ``true`` forces it
            (the page then holds real patient rows: never for private data);
            ``false`` shows synthetic records only.
        seed: seed of the draw, the shuffle and the opaque item ids.
    """

    n_items_per_source: int = Field(default=20, ge=1, le=2000)
    include_real: bool | Literal["auto"] = "auto"
    seed: int = 42

    def real_included(self, spec: DatasetSpec) -> bool:
        """Whether real rows go on the page for this dataset."""
        if self.include_real == "auto":
            return spec.public
        return bool(self.include_real)
