"""Peer synthesizers (SDV, smartnoise-synth) fitted on the same split, in their own environment.

The peers' libraries pin versions that clash with ours (smartnoise-synth needs
``opacus==0.14`` and ``pandas<3``), so they live in a separate virtual environment,
``.venv-peers`` (``peers/requirements.txt``). This package is the pipeline's side:

1. turn the prepared training split into the table a peer fits, using **only the spec**:
   SDV peers get the modelled columns as plain floats, strings and dates; the
   marginal-based DP peers (AIM, MST) get every column as integer codes of a public
   grid (spec categories, and the same spec-bounded bins as our ``marginals`` floor),
   with the domain sizes written in the job file. smartnoise's own data-driven
   preprocessor is never used, so no privacy is spent outside the reported ε;
2. run ``peers/run_peer.py`` with the peers' Python on that table (a subprocess; files in
   a temporary folder);
3. check what comes back (columns, row count, codes inside the domain), decode it into the
   spec's form and write the same files our ``sample`` stage writes, so ``evaluate`` reads
   a peer like any of our models.

DP peers spend ``train_dp_tabular.epsilon`` and ``delta``: the same (ε, δ) as our models,
whose totals also include the sampling stage's small class-histogram ε.

Modules: ``registry`` (the peers and what the pipeline knows of them), ``discretise`` (the
tables a peer fits and their decoding), ``worker`` (the peers' Python and the subprocess),
``stage`` (``BaselinesParams`` and ``run``, the ``baselines`` stage). The worker itself is
``peers/run_peer.py`` at the project root.
"""
