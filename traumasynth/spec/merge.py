"""Target classes folded into one (``prepare.rare_class_policy: merge``): the target categories every stage uses.

``prepare`` relabels the rows of ``prepare.merge_classes`` as ``prepare.merge_into``. From then on
those classes do not exist: ``ClassMerge.apply`` gives the specification without them, and every
stage after ``prepare`` works with that specification (``traumasynth.cli.Stage.spec``), so the
encoder, the class plan and its augmentation, the evaluation's rare classes and the released
``dataset_spec.yaml`` all list the same classes. This module is the one place that says which.

The three keys sit in section ``prepare`` of params.yaml (``PrepareParams`` extends ``ClassMerge``);
the stages after ``prepare`` read only these three keys of it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from traumasynth.core.errors import ParamsError, SpecError
from traumasynth.spec.column import ColumnSpec
from traumasynth.spec.dataset import DatasetSpec

#: The settings that undo a merge, as ``dvc exp run -S`` takes them (docs/data.md, one params file per table).
RESET = "-S prepare.rare_class_policy=error -S prepare.merge_classes=[] -S prepare.merge_into=other"


class ClassMerge(BaseModel):
    """The merge keys of section ``prepare`` (other keys of the section are ignored here).

    Attributes:
        rare_class_policy: ``error`` (nothing is merged) or ``merge``.
        merge_into: the class that absorbs ``merge_classes``.
        merge_classes: the classes folded, named in advance (public knowledge), never chosen from counts.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    rare_class_policy: Literal["error", "merge"] = "error"
    merge_into: str = "other"
    merge_classes: tuple[str, ...] = ()

    @property
    def folded(self) -> tuple[str, ...]:
        """The classes that disappear (none under ``rare_class_policy: error``)."""
        return self.merge_classes if self.rare_class_policy == "merge" else ()

    def merge_description(self) -> str:
        """The policy in words, for the privacy card."""
        if self.rare_class_policy == "error":
            return "error: a class with too few rows stops prepare; nothing is merged"
        named = ", ".join(self.merge_classes)
        return (
            f"merge: {named} folded into {self.merge_into} (named in params; if chosen after prepare named them as "
            "too rare, a decision on the private rows that is not covered)"
        )

    def check(self, spec: DatasetSpec) -> None:
        """Refuse a merge that names no class, or classes the target of ``spec`` does not have.

        Raises:
            ParamsError: in one line, naming the params to set or reset (a merge left in params.yaml by
                another table is the usual cause).
        """
        if self.rare_class_policy != "merge":
            return
        target, classes = spec.target.name, spec.classes
        unknown = [c for c in (*self.merge_classes, self.merge_into) if c not in classes]
        if unknown:
            raise ParamsError(
                f"prepare.merge_classes / prepare.merge_into name {', '.join(repr(c) for c in unknown)}, not classes "
                f"of '{target}' in dataset '{spec.name}' (left by another table?). Set them for this table "
                f"(classes: {', '.join(classes)}) or reset them: dvc exp run {RESET}."
            )
        if not self.merge_classes:
            raise ParamsError(
                "`prepare.rare_class_policy: merge` needs `prepare.merge_classes` (the classes of "
                f"'{target}' to fold, named in advance): set it, or reset the policy: dvc exp run {RESET}."
            )
        if self.merge_into in self.merge_classes:
            raise ParamsError(f"`prepare.merge_into` ('{self.merge_into}') cannot be one of `prepare.merge_classes`.")

    def apply(self, spec: DatasetSpec) -> DatasetSpec:
        """``spec`` without the folded classes: the specification of every table after ``prepare``.

        The folded classes leave the target's ``categories``, ``labels`` and ``compatible``; a
        clinical rule that names one is refused rather than rewritten (folding ``self_harm`` into
        ``other`` would make a rule about self-harm apply to every ``other`` row).

        Raises:
            ParamsError: the merge names classes the target does not have (``check``).
            SpecError: a clinical rule of the spec names a folded class.
        """
        self.check(spec)
        folded = set(self.folded)
        if not folded:
            return spec
        _refuse_rules_on_folded(spec, folded)
        target = spec.target
        kept = {
            "categories": [c for c in target.categories or () if c not in folded],
            "labels": {c: words for c, words in target.labels.items() if c not in folded},
            "compatible": {
                c: [n for n in near if n not in folded]
                for c, near in target.compatible.items()
                if c not in folded and any(n not in folded for n in near)
            },
        }
        merged = ColumnSpec.model_validate(target.model_dump() | kept)
        columns = tuple(merged if c.name == target.name else c for c in spec.columns)
        return spec.model_copy(update={"columns": columns})


def _refuse_rules_on_folded(spec: DatasetSpec, folded: set[str]) -> None:
    """Raise SpecError when a clinical rule lists a folded class of the target."""
    target = spec.target.name
    for rule in spec.constraints:
        for cond in (rule.require, *(rule.if_ or ()), rule.then, *(rule.never or ())):
            if cond is None or cond.column != target or cond.op not in ("in", "not_in"):
                continue
            if named := sorted(folded & set(cond.value)):
                raise SpecError(
                    f"Clinical rule '{rule.name}' of dataset '{spec.name}' names {', '.join(named)}, folded by "
                    "prepare.merge_classes: rewrite the rule for the merged classes, or leave those classes unmerged."
                )
