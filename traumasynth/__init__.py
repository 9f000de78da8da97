"""traumasynth: DP synthetic ED trauma data, faithful narratives, and the metrics to trust them."""

__version__ = "0.1.0"
