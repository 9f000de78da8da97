"""Clinician review: a blinded, self-contained HTML page and the ingestion of its ratings.

- ``page.run`` (the ``build`` step) draws synthetic (and, for public data, real) records,
  writes the page and the key file (item id -> source).
- ``summary.run`` (the ``ingest`` step): ``ingest.read_ratings`` checks exported CSVs against
  the key; ``summary.summarise_ratings`` gives mean ratings per source, each reviewer's
  real-vs-synthetic accuracy and inter-rater agreement (``agreement``).
"""
