"""Differential privacy: all Opacus wiring (``dp``) and privacy accounting helpers."""
