"""The privacy-utility sweep: one table of every model at every ε, collected from DVC experiments.

A sweep is a set of ``dvc exp run -S train_dp_tabular.epsilon=<ε>`` experiments (see
docs/peers-and-sweeps.md). ``dvc exp show --json`` returns, for each experiment,
its ``params.yaml`` and the metrics files declared in ``dvc.yaml``; this package turns that
into:

- ``metrics/sweep_<dataset>.csv``: one row per (model, ε) with TSTR macro-F1, fidelity,
  membership-inference AUC and wall time (see ``table.SWEEP_COLUMNS``);
- ``metrics/plots/sweep_<dataset>_tstr.csv``: TSTR macro-F1 against ε, one column (a line in
  ``dvc plots show``) per model. Non-private runs (ε = none) are in the table, not on this plot.

Metric directions: ``tstr_macro_f1`` and ``tstr_trtr_ratio`` in 0..1, higher is better;
``discriminator_auc`` 0.5..1 (0.5 = synthetic rows indistinguishable from real), lower is
better; ``tvd_mean``, ``wasserstein_mean``, ``tvd_2way`` and ``tvd_3way`` (mean TVD of the 2- and
3-way marginals on the public grid) and ``constraint_violation_rate`` (rows breaking a clinical
rule before enforcement) 0..1, lower is better; ``sdmetrics_quality`` (SDMetrics' quality
report, empty where it did not run) 0..1, higher is better; ``mia_auc`` 0..1 (0.5 = the attack does no
better than chance), lower is better.

Modules: ``experiments`` reads ``dvc exp show --json``; ``table`` turns experiments into the
sweep table; ``views`` gives its plot data and Markdown summary; ``stage`` holds ``run``, the
entry point of ``stages/sweep_report.py``, which writes both files.
"""
