"""Evaluation of synthetic tables and narratives: fidelity, utility, privacy risk, narrative quality.

Entry point: ``traumasynth.evaluate.run.run_evaluation`` (called by ``stages/evaluate.py``).
"""
