"""Stage ``sample``: how many synthetic rows of each class to draw, and drawing them.

Strategies (``sample.strategy``):

- ``match``: the class mix of the training split, read from a DP noisy histogram of its
  labels (its noise is set by the budget plan of the training stage, so the release as a
  whole spends at most the training ε);
- ``balanced``: the same number of rows for every class;
- ``counts``: the rows per class written in ``sample.counts`` (others get none);
- ``augment``: only the top-up rows that bring every class whose DP count is below
  ``sample.augment_target`` up to it.

Whatever the strategy, the stage also writes the augment file (the ``augment`` top-up
rows, used by the evaluation's train-on-real-plus-synthetic task). It reuses the same DP
histogram: post-processing of a released histogram costs no further privacy.

The synthetic table holds the modelled columns plus the spec's identifier column,
filled with ``<model>-000001``, ``<model>-000002``...; the augment file continues the
numbering, so ids are unique across both files.

Modules:

- ``params``: ``SampleParams``, section ``sample`` of ``params.yaml``;
- ``class_plan``: the DP class histogram of the training labels and the rows per class;
- ``draw``: drawing exact class counts from a model, the id column, the synthetic schema;
- ``inputs``: the trained model, its budget plan and the training labels, checked;
- ``stage``: ``generate_synthetic`` (plan, draw, compose the budget) and ``run``, the stage.
"""
