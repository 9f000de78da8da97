"""Spec-driven encoding: frames in the spec's form <-> arrays a model learns from, and the public grid.

Nothing here is fitted on the private rows: every layout, scale and bin comes from the
dataset specification, so encoding costs no privacy budget and two models trained on the
same spec share it exactly.

- ``table``: ``TableEncoder`` (the slot layout, ``encode``/``decode``, ``encoder.json``) and
  ``EncodedTable``, the arrays it produces.
- ``columns``: one column's values <-> scaled numbers or level indices (numeric, categorical,
  datetime parts), on the spec's bounds and categories.
- ``grid``: the public binning of a numeric slot (``Grid``, ``numeric_grids``), shared by the
  marginals model, the codec, the peers' discretiser and the evaluation.
- ``discrete``: ``DiscreteLayout``, every column as integer codes of that grid (missing as its
  own code): what AIM/MST and the joint prior fit and the k-way metrics count.
"""
