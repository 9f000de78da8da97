"""Evaluation of synthetic tables and narratives: fidelity, utility, privacy risk, narrative quality.

Entry points: ``traumasynth.evaluate.run.run`` (one model, called by
``stages/evaluate.py``) and ``traumasynth.evaluate.compare.run`` (all models side by
side, called by ``stages/compare.py``).
"""
