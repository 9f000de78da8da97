"""``metrics/report.md``: a short, human-readable comparison of the evaluated models."""

from __future__ import annotations

from typing import Any

#: (section, key, column title, format, True if higher is better) of the report table.
_COLUMNS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("utility", "tstr_macro_f1", "TSTR macro-F1 ↑", "{:.3f}", True),
    ("utility", "tstr_trtr_ratio", "TSTR/TRTR ↑", "{:.2f}", True),
    ("utility", "rare_class_recall_augmented", "rare recall TRTR+S ↑", "{:.3f}", True),
    ("fidelity", "wasserstein_mean", "W1 (scaled) ↓", "{:.4f}", False),
    ("fidelity", "tvd_mean", "TVD ↓", "{:.3f}", False),
    ("fidelity", "tvd_2way", "TVD 2-way ↓", "{:.3f}", False),
    ("fidelity", "tvd_3way", "TVD 3-way ↓", "{:.3f}", False),
    ("fidelity", "sdmetrics_quality", "SDMetrics quality ↑", "{:.3f}", True),
    ("fidelity", "association_diff", "assoc. diff ↓", "{:.3f}", False),
    ("fidelity", "discriminator_auc", "discr. AUC ↓", "{:.3f}", False),
    ("privacy", "epsilon_total", "ε", "{:.2f}", False),
    ("privacy", "dcr_ratio", "DCR ratio ↑", "{:.2f}", True),
    ("privacy", "mia_auc", "MIA AUC ↓", "{:.3f}", False),
    ("privacy", "exact_match_rate", "exact match ↓", "{:.4f}", False),
    ("narrative", "faithfulness_rate", "faithful ↑", "{:.3f}", True),
    ("narrative", "draft_faithfulness_rate", "faithful drafts ↑", "{:.3f}", True),
    ("narrative", "unsupported_rate", "unsupported ↓", "{:.3f}", False),
    ("narrative", "fallback_rate", "fallback notes ↓", "{:.3f}", False),
    ("narrative", "distinct_2", "distinct-2 ↑", "{:.3f}", True),
    ("narrative", "text_tstr_macro_f1", "text TSTR F1 ↑", "{:.3f}", True),
)


def _get(metrics: dict[str, Any], section: str, key: str) -> float | None:
    value = metrics.get(section, {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _best(results: dict[str, dict[str, Any]], section: str, key: str, higher: bool) -> str | None:
    scored = {m: v for m, r in results.items() if (v := _get(r, section, key)) is not None}
    if not scored:
        return None
    return (max if higher else min)(scored, key=lambda m: scored[m])


def render_report(*, results: dict[str, dict[str, Any]], dataset: str, rare: list[str]) -> str:
    """Markdown: one table row per model, then a few sentences naming the best model per aspect.

    Args:
        results: the ``evaluate_<model>.json`` content of each model.
        dataset: the dataset name (``base.dataset``).
        rare: the rare classes (train share below ``evaluate.rare_class_share``).
    """
    columns = [c for c in _COLUMNS if any(_get(r, c[0], c[1]) is not None for r in results.values())]
    lines = [
        f"# Evaluation report: {dataset}",
        "",
        "↑ higher is better, ↓ lower is better. Utility is scored on the real test split; "
        "TRTR = trained on real rows, TSTR = trained on synthetic rows, TRTR+S = real plus rare-class synthetic rows.",
        "",
        "| model | " + " | ".join(c[2] for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for model, r in results.items():
        cells = []
        for section, key, _, fmt, _ in columns:
            value = _get(r, section, key)
            if value is None and key == "epsilon_total" and key in r.get(section, {}):
                cells.append("no DP")  # recorded as null: trained without differential privacy
            else:
                cells.append("–" if value is None else fmt.format(value))
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    first = next(iter(results.values()), {})
    trtr = _get(first, "utility", "trtr_macro_f1")
    lines.append("")
    if trtr is not None:
        lines.append(
            f"A classifier trained on the real train rows (TRTR) reaches macro-F1 {trtr:.3f} on the test rows."
        )
    reference = first.get("fidelity", {}).get("reference", {})
    if isinstance(reference.get("tvd_2way"), int | float) and isinstance(reference.get("tvd_3way"), int | float):
        lines.append(
            f"The real test rows themselves sit at 2-way TVD {reference['tvd_2way']:.3f} and 3-way TVD "
            f"{reference['tvd_3way']:.3f} from the train rows (sampling noise of {reference.get('rows', '?')} rows)."
        )
    if isinstance(reference.get("sdmetrics_quality"), int | float):
        lines.append(
            f"SDMetrics' quality report scores the real test rows {reference['sdmetrics_quality']:.3f} against the "
            "train rows: two samples of one population, the score sampling noise alone allows."
        )
    for section, key, what, higher in (
        ("utility", "tstr_macro_f1", "the most useful synthetic rows (TSTR macro-F1)", True),
        ("fidelity", "discriminator_auc", "the rows hardest to tell from real ones (discriminator AUC)", False),
        ("privacy", "mia_auc", "the lowest membership-inference AUC", False),
    ):
        best = _best(results, section, key, higher)
        if best is not None and len(results) > 1:
            lines.append(f"`{best}` gives {what}.")
    if rare:
        rare_trtr = _get(first, "utility", "rare_class_recall_trtr")
        lines.append(
            f"Rare classes (train share below the threshold): {', '.join(rare)}; `rare recall` is their mean recall"
            + (f" ({rare_trtr:.3f} when trained on real rows only)." if rare_trtr is not None else ".")
        )
    lines += [
        "",
        "These figures are computed on the real rows: they are for the data custodian and are not covered by ε.",
        "Per-column and per-class details: `metrics/plots/` (`dvc plots show`).",
        "",
    ]
    return "\n".join(lines)
