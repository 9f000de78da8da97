"""The plumbing every stage shares and that knows nothing of trauma data.

``errors`` (the one error hierarchy), ``io`` (atomic writes, JSON and Parquet reads), ``params``
(typed sections of ``params.yaml``), ``layout`` (the pipeline's file contract) and ``seed``.
Nothing here imports another part of ``traumasynth``.
"""
