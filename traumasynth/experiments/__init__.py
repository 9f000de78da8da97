"""Experiment harnesses, used only by benchmarks, tests and tools.

- ``privacy_audit``: an empirical privacy audit of one training run (a lower bound on ε).
- ``checker_score``: the fact checker's recall and precision on hand-labelled notes.

A harness may import anything in the package (models, training, narration); no runtime module
imports a harness, so the runtime packages keep their layering.
"""
