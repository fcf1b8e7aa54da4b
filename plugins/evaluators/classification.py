"""Classification accuracy and F1 of a loss's classifier head (softmax + center loss)."""

from __future__ import annotations

import torch

from toolkit.api import EvalContext, Evaluator, ToolkitError, write_atomic


class ClassificationEvaluator(Evaluator):
    """Accuracy, weighted and macro F1 of the loss's classifier head (scikit-learn's classification report).

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
        from sklearn.metrics import classification_report  # lazy: slow to import, needed only when evaluating

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
        classes = list(range(max(int(labels.max()), int(predicted.max())) + 1))
        target_names = [names[c] if names and c < len(names) else str(c) for c in classes]
        args = dict(labels=classes, target_names=target_names, zero_division=0, digits=4)
        report = classification_report(labels.numpy(), predicted.numpy(), output_dict=True, **args)
        text = classification_report(labels.numpy(), predicted.numpy(), **args)
        write_atomic(context.out_dir / self.filename, lambda tmp: tmp.write_text(text))
        context.add_artifact("report", self.filename)
        return {
            "accuracy": float((predicted == labels).float().mean()),
            "f1_weighted": float(report["weighted avg"]["f1-score"]),
            "f1_macro": float(report["macro avg"]["f1-score"]),
            "precision_weighted": float(report["weighted avg"]["precision"]),
            "recall_weighted": float(report["weighted avg"]["recall"]),
        }
