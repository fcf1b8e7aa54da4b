"""Classification accuracy and F1 of a loss's classifier head (softmax + center loss)."""

from __future__ import annotations

import torch

from toolkit.api import EvalContext, Evaluator, ToolkitError, write_atomic

class ClassificationEvaluator(Evaluator):
    """Accuracy, weighted and macro F1 of the loss's classifier head, with a per-class report.

    The report is also saved as text. Needs a loss with a ``classify(features)`` method, such as
    ``softmax_center``.

    Args:
        split: split to classify.
        filename: file name of the text report in the run folder.
    """

    def __init__(self, *, split: str = "test", filename: str = "classification_report.txt"):
        self.split, self.filename = split, filename
        self.splits = [split]

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        classify = getattr(context.loss, "classify", None)
        if not callable(classify):
            raise ToolkitError(
                f"evaluators: classification needs a loss with a classifier head (a classify() method, such as "
                f"softmax_center), but the recipe's loss is {type(context.loss).__name__}. Remove this evaluator or "
                "use such a loss."
            )
        features, labels = context.embed(self.split)
        with torch.no_grad():
            predicted = torch.cat([classify(chunk.to(context.device)).argmax(1).cpu() for chunk in features.split(8192)])
        names = context.dataset.split(self.split).class_names
        classes = max(int(labels.max()), int(predicted.max())) + 1
        report = per_class_report(labels, predicted, classes)
        target_names = [names[c] if names and c < len(names) else str(c) for c in range(classes)]
        text = format_report(report, target_names, len(labels))
        write_atomic(context.out_dir / self.filename, lambda tmp: tmp.write_text(text))
        context.add_artifact("report", self.filename)
        return {
            "accuracy": report["accuracy"],
            "f1_weighted": report["weighted"]["f1"],
            "f1_macro": report["macro"]["f1"],
            "precision_weighted": report["weighted"]["precision"],
            "recall_weighted": report["weighted"]["recall"],
        }


def per_class_report(labels: torch.Tensor, predicted: torch.Tensor, classes: int) -> dict:
    """Precision, recall, F1 and support of each class from the confusion matrix, and their macro and
    support-weighted averages: the numbers of scikit-learn's classification report (a class never predicted
    has precision 0), without importing scikit-learn, which costs a second of every ``validate``."""
    confusion = torch.bincount(labels.long() * classes + predicted.long(), minlength=classes * classes)
    confusion = confusion.view(classes, classes).double()
    hits, support, predicted_count = confusion.diag(), confusion.sum(1), confusion.sum(0)
    precision = torch.where(predicted_count > 0, hits / predicted_count.clamp(min=1), 0.0)
    recall = torch.where(support > 0, hits / support.clamp(min=1), 0.0)
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-300), 0.0)
    weights = support / support.sum()
    table = {"precision": precision, "recall": recall, "f1": f1}
    return {
        "accuracy": float(hits.sum() / support.sum()),
        "classes": {name: values.tolist() for name, values in table.items()} | {"support": support.long().tolist()},
        "macro": {name: float(values.mean()) for name, values in table.items()},
        "weighted": {name: float((values * weights).sum()) for name, values in table.items()},
    }


def format_report(report: dict, names: list[str], total: int) -> str:
    """The report as a text table: one row per class, then the macro and weighted averages."""
    width = max([len(name) for name in names] + [len("weighted avg")])
    lines = [f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}", ""]
    per_class = report["classes"]
    for c, name in enumerate(names):
        lines.append(f"{name:>{width}} {per_class['precision'][c]:9.4f} {per_class['recall'][c]:9.4f} "
                     f"{per_class['f1'][c]:9.4f} {per_class['support'][c]:9d}")
    lines += ["", f"{'accuracy':>{width}} {'':>9} {'':>9} {report['accuracy']:9.4f} {total:9d}"]
    for average in ("macro", "weighted"):
        values = report[average]
        lines.append(f"{average + ' avg':>{width}} {values['precision']:9.4f} {values['recall']:9.4f} "
                     f"{values['f1']:9.4f} {total:9d}")
    return "\n".join(lines) + "\n"
