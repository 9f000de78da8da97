"""The pipeline's file contract: where each stage reads and writes, per model, relative to the project root.

One owner for every path. The stage scripts take their defaults from here, the library's readers
name files with these functions, and ``dvc.yaml`` spells the same paths (``tests/test_layout.py``
checks every path of every stage against this module). A ``folder`` argument relocates a file
while keeping its name (tests and other checkouts).
"""

from __future__ import annotations

from pathlib import Path

DATASETS = Path("datasets")
PROMPTS = Path("prompts")
#: Hand-written fact lexicons, ``lexicons/<dataset>.yaml``; without one, the checker is made from the spec.
LEXICONS = Path("lexicons")
RAW = Path("data/raw")
PREPARED = Path("data/prepared")
SYNTHETIC = Path("data/synthetic")
NARRATIVES = Path("data/narratives")
NARRATE_SHARDS = Path("data/interim/narrate_shards")
#: Resumable DP-SGD state of a training in progress, ``<model>.pt`` (removed when training ends).
TRAIN_CHECKPOINTS = Path("data/interim/train_checkpoints")
EVALUATION = Path("data/evaluation")
MODELS = Path("models")
METRICS = Path("metrics")
PLOTS = METRICS / "plots"
REPORT = METRICS / "report.md"
UTILITY_PLOT = PLOTS / "utility.csv"
PREPARE_METRICS = METRICS / "prepare.json"
CHECKER_METRICS = METRICS / "checker"
RELEASE = Path("release")
REVIEW = Path("review")
REVIEW_PAGE = REVIEW / "page.html"
REVIEW_KEY = REVIEW / "key.json"
REVIEW_METRICS = METRICS / "review.json"

#: The stages that write ``metrics/<stage>_<model>.json``.
MODEL_METRICS_STAGES = ("train", "sample", "narrate", "evaluate")
#: Per-model plot data written by ``evaluate``: ``metrics/plots/<kind>_<model>.csv``.
EVALUATE_PLOT_KINDS = ("recall", "confusion", "marginals", "fidelity", "dcr")


def split(name: str, folder: Path = PREPARED) -> Path:
    """A prepared split: ``data/prepared/<train|val|test>.parquet``."""
    return folder / f"{name}.parquet"


def model_dir(model: str, folder: Path = MODELS) -> Path:
    """A trained model's folder: ``models/<model>``."""
    return folder / model


def synthetic(model: str, folder: Path = SYNTHETIC) -> Path:
    """The sampled table: ``data/synthetic/<model>.parquet``."""
    return folder / f"{model}.parquet"


def augment(model: str, folder: Path = SYNTHETIC) -> Path:
    """The rare-class top-up rows: ``data/synthetic/<model>_augment.parquet``."""
    return folder / f"{model}_augment.parquet"


def narratives(model: str, folder: Path = NARRATIVES) -> Path:
    """The narrated rows: ``data/narratives/<model>.parquet``."""
    return folder / f"{model}.parquet"


def stage_metrics(stage: str, model: str, folder: Path = METRICS) -> Path:
    """A stage's metrics for one model: ``metrics/<stage>_<model>.json``."""
    return folder / f"{stage}_{model}.json"


def train_checkpoint(model: str, folder: Path = TRAIN_CHECKPOINTS) -> Path:
    """A training's resumable state: ``data/interim/train_checkpoints/<model>.pt``."""
    return folder / f"{model}.pt"


def loss_curve(model: str, folder: Path = PLOTS) -> Path:
    """The training curve: ``metrics/plots/loss_<model>.csv``."""
    return folder / f"loss_{model}.csv"


def evaluate_plot(kind: str, model: str, folder: Path = PLOTS) -> Path:
    """Plot data of one model's evaluation: ``metrics/plots/<kind>_<model>.csv``."""
    return folder / f"{kind}_{model}.csv"


def evaluation_summary(model: str, folder: Path = EVALUATION) -> Path:
    """What ``compare`` reads of one model's evaluation: ``data/evaluation/<model>.json``."""
    return folder / f"{model}.json"


def checker_metrics(dataset: str, folder: Path = CHECKER_METRICS) -> Path:
    """The fact checker's recall and precision on the labelled set: ``metrics/checker/<dataset>.json``."""
    return folder / f"{dataset}.json"


#: The training split, the default input of training, sampling and the peers.
TRAIN_SPLIT = split("train")
#: The real test split, the only real rows the review page may show.
TEST_SPLIT = split("test")
