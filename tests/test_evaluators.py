"""Evaluators on tiny cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toolkit.api import ToolkitError
from toolkit.evaluation.evaluate import evaluator_keys
from toolkit.training.runner import run
from toolkit_plugins.evaluators.classification import ClassificationEvaluator, per_class_report
from toolkit_plugins.evaluators.kmeans import cluster, clustering_scores, faiss_kmeans
from toolkit_plugins.evaluators.knn import retrieval_metrics
from toolkit_plugins.evaluators.triplet_accuracy import fixed_triplets, triplet_accuracy
from toolkit_plugins.evaluators.verification import pair_indices, verification_scores


def test_knn_precision_recall_and_map_on_a_line():
    gallery = np.array([[0.0], [1.0], [10.0], [11.0]], dtype=np.float32)
    gallery_labels = np.array([0, 0, 1, 1])
    query = np.array([[0.4], [6.0]], dtype=np.float32)
    query_labels = np.array([0, 0])
    m = retrieval_metrics(query, query_labels, gallery, gallery_labels, ks=[1, 2])
    # query 1: neighbours 0,1 (both class 0) → P@1 1, AP@R (R=2) = 1
    # query 2 at 6.0: neighbours 10 (class 1, d=4), 1 (class 0, d=5) → P@1 0, R=2: rel=[0,1] → (1/2)/2 = 0.25
    assert m["precision_at_1"] == pytest.approx(0.5)
    assert m["recall_at_2"] == pytest.approx(1.0)
    assert m["map_at_r"] == pytest.approx((1.0 + 0.25) / 2)


def test_knn_leave_one_out_never_returns_the_query_itself():
    points = np.array([[0.0], [0.1], [5.0], [5.1]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1])
    m = retrieval_metrics(points, labels, None, None, ks=[1])
    assert m["precision_at_1"] == 1.0 and m["map_at_r"] == 1.0


def test_knn_matches_pytorch_metric_learning_on_random_data():
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    import torch

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 300)
    embeddings = (rng.normal(size=(300, 4)) + labels[:, None]).astype(np.float32)
    ours = retrieval_metrics(embeddings[:100], labels[:100], embeddings[100:], labels[100:], ks=[1], chunk_size=7)
    theirs = AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r"), k="max_bin_count").get_accuracy(
        torch.from_numpy(embeddings[:100]), torch.from_numpy(labels[:100]),
        torch.from_numpy(embeddings[100:]), torch.from_numpy(labels[100:]), ref_includes_query=False)
    assert ours["precision_at_1"] == pytest.approx(theirs["precision_at_1"])
    assert ours["map_at_r"] == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-6)


def test_hungarian_and_majority_accuracy_differ_when_two_clusters_share_a_class():
    labels = np.array([0, 0, 0, 0, 1, 1])
    clusters = np.array([0, 0, 1, 1, 2, 2])
    scores = clustering_scores(labels, clusters)
    assert scores["accuracy_majority"] == pytest.approx(1.0)
    assert scores["accuracy_hungarian"] == pytest.approx(4 / 6)


@pytest.mark.parametrize("backend", ["faiss", "sklearn"])
def test_kmeans_separates_well_separated_blobs(backend):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 50)
    points = rng.normal(scale=0.1, size=(200, 3)) + labels[:, None] * 10
    scores = clustering_scores(labels, cluster(points, 4, seed=0, backend=backend))
    assert scores["accuracy_hungarian"] == 1.0 and scores["nmi"] == pytest.approx(1.0)


def test_faiss_kmeans_trains_on_every_point_not_a_sample():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 1500)  # more than faiss's default sample of 256 points per centroid
    points = (rng.normal(size=(3000, 4)) + labels[:, None] * 20).astype(np.float32)
    kmeans = faiss_kmeans(points, 2, seed=0, iterations=20, restarts=1)
    assigned = kmeans.index.search(points, 1)[1].ravel()
    for c in range(2):
        np.testing.assert_allclose(kmeans.centroids[c], points[assigned == c].mean(axis=0), atol=1e-4)


def test_kmeans_gives_the_same_clusters_for_the_same_seed():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(3000, 8))
    first, second = (cluster(points, 10, seed=7, iterations=10, restarts=2) for _ in range(2))
    assert np.array_equal(first, second)


def test_verification_scores_on_four_points_on_a_line():
    # points 0, 0.1 (class a) and 1, 3 (class b): same pairs d = 0.1, 2; different pairs d = 0.9, 1, 2.9, 3.
    # ROC-AUC = P(d_same < d_diff) = (4 + 2) / 8; the best threshold 0.1 gets 1 same + 4 different right (5/6);
    # at threshold 1 half the different pairs are accepted and half the same pairs rejected: EER 0.5.
    points = torch.tensor([[0.0], [0.1], [1.0], [3.0]])
    labels = torch.tensor([0, 0, 1, 1])
    i, j = pair_indices(4, 100, torch.Generator())
    distances = torch.linalg.vector_norm(points[i] - points[j], dim=1).numpy()
    scores = verification_scores(distances, (labels[i] == labels[j]).numpy())
    assert scores["roc_auc"] == pytest.approx(0.75)
    assert scores["best_accuracy"] == pytest.approx(5 / 6) and scores["best_threshold"] == pytest.approx(0.1)
    assert scores["eer"] == pytest.approx(0.5)
    assert (scores["same_pairs"], scores["different_pairs"]) == (2, 4)


def test_verification_of_separated_classes_is_perfect():
    distances = np.array([0.1, 0.2, 0.9, 1.5, 2.0])
    scores = verification_scores(distances, np.array([1, 1, 0, 0, 0]))
    assert scores["roc_auc"] == 1.0 and scores["eer"] == 0.0 and scores["best_accuracy"] == 1.0


def test_pair_indices_samples_distinct_pairs_beyond_the_limit():
    i, j = pair_indices(100, 4000, torch.Generator().manual_seed(0))  # 4,000 of the 4,950 pairs
    assert len(i) == 4000 and bool((i < j).all())
    assert len(set(zip(i.tolist(), j.tolist()))) == 4000


def test_fixed_triplets_are_the_same_for_a_seed_and_valid():
    labels = torch.arange(300) % 7
    a, b = fixed_triplets(labels, 500, seed=3), fixed_triplets(labels, 500, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, fixed_triplets(labels, 500, seed=4))
    assert bool((labels[a[:, 0]] == labels[a[:, 1]]).all() and (labels[a[:, 0]] != labels[a[:, 2]]).all())
    assert bool((a[:, 0] != a[:, 1]).all())


def test_triplet_accuracy_counts_triplets_with_the_positive_closer():
    embeddings = torch.tensor([[0.0], [1.0], [3.0], [0.5]])
    triplets = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 3, 2]])  # closer: yes, no (3 vs 0.5), yes
    assert triplet_accuracy(embeddings, triplets) == pytest.approx(2 / 3)


def test_classification_needs_a_loss_with_a_classifier_head(tmp_path):
    from toolkit.api import EvalContext
    from toolkit_plugins.losses.triplet import TripletLoss

    context = EvalContext(dataset=None, encoder=None, embed=None, out_dir=tmp_path, seed=0, device=torch.device("cpu"),
                          loss=TripletLoss())
    with pytest.raises(ToolkitError, match="classifier head"):
        ClassificationEvaluator().evaluate(context)


def _two_split_context(train_names, test_names, train_labels, test_labels, points):
    from pathlib import Path

    from toolkit.api import EvalContext
    from toolkit.imagedata.datasets import Dataset, ImageSet

    def split(labels, names):
        return lambda: ImageSet(torch.zeros(len(labels), 1, 2, 2, dtype=torch.uint8), torch.tensor(labels), class_names=names)

    dataset = Dataset("toy", {"train": split(train_labels, train_names), "test": split(test_labels, test_names)})
    embedded = {"train": torch.tensor(points["train"]), "test": torch.tensor(points["test"])}
    return EvalContext(dataset=dataset, encoder=None, out_dir=Path("."), seed=0, device=torch.device("cpu"),
                       embed=lambda s: (embedded[s], dataset.split(s).labels))


def test_knn_matches_classes_by_name_when_the_splits_number_them_differently():
    from toolkit_plugins.evaluators.knn import KNNEvaluator

    context = _two_split_context(["cat", "dog"], ["dog", "cat"], [0, 1], [0, 1],
                                 {"train": [[0.0], [10.0]], "test": [[9.0], [1.0]]})  # test "dog" near train "dog"
    assert KNNEvaluator(k=[1], map_at_r=False).evaluate(context)["precision_at_1"] == 1.0


def test_knn_between_splits_of_different_people_says_to_search_within_the_query_split():
    from toolkit_plugins.evaluators.knn import KNNEvaluator

    context = _two_split_context(["s1", "s2"], ["s3", "s4"], [0, 1], [0, 1],
                                 {"train": [[0.0], [10.0]], "test": [[9.0], [1.0]]})
    with pytest.raises(ToolkitError, match='gallery = "query"'):
        KNNEvaluator(k=[1]).evaluate(context)


def test_the_retrieval_grid_of_new_people_searches_them_among_themselves(tmp_path, monkeypatch):
    from toolkit.reporting import report

    drawn = {}
    monkeypatch.setattr(report, "retrieval_grid", lambda rows, neighbours, path, title: drawn.update(rows=rows, neighbours=neighbours))
    context = _two_split_context(["s1", "s2"], ["s3", "s4"], [0, 1, 0, 1], [0, 0, 1, 1],
                                 {"train": [[0.0], [10.0], [0.5], [9.5]], "test": [[0.0], [0.2], [5.0], [5.3]]})
    report.write_figures(context, tmp_path, "toy", query_split="test")
    for (_, caption), found in zip(drawn["rows"], drawn["neighbours"]):
        person = caption.split("\n")[1]
        assert person in ("s3", "s4") and found[0][1] == person and found[0][3]  # nearest: the other image of that person


def test_a_repeated_evaluator_is_numbered_by_its_own_occurrences():
    assert evaluator_keys(["knn", "kmeans", "knn", "knn"]) == ["knn", "kmeans", "knn_2", "knn_3"]


def test_adding_an_evaluator_does_not_rename_another_evaluators_metrics(quick_recipe, tmp_path):
    evaluators = '[{name="knn", k=[1]}, {name="kmeans"}, {name="knn", k=[2]}]'
    metrics = run(quick_recipe, overrides=("run.epochs=1", f"evaluators={evaluators}"), output=str(tmp_path / "out"),
                  progress=False).metrics
    assert list(metrics["evaluation"]) == ["knn", "kmeans", "knn_2"]
    assert "recall_at_2" in metrics["evaluation"]["knn_2"]


def test_the_classification_report_gives_scikit_learns_numbers():
    from sklearn.metrics import classification_report

    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (300,), generator=generator)  # class 5 is predicted but never true
    predicted = torch.where(torch.rand(300, generator=generator) < 0.6, labels, torch.randint(0, 6, (300,), generator=generator))
    predicted[predicted == 2] = 3  # class 2 is true but never predicted: precision 0
    ours = per_class_report(labels, predicted, 6)
    theirs = classification_report(labels.numpy(), predicted.numpy(), labels=list(range(6)), output_dict=True,
                                   zero_division=0)
    assert ours["accuracy"] == pytest.approx(float((labels == predicted).float().mean()))
    for average, key in (("macro", "macro avg"), ("weighted", "weighted avg")):
        for name, their_name in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert ours[average][name] == pytest.approx(theirs[key][their_name], abs=1e-12)
    assert ours["classes"]["f1"] == pytest.approx([theirs[str(c)]["f1-score"] for c in range(6)], abs=1e-12)
    assert ours["classes"]["support"] == [int(theirs[str(c)]["support"]) for c in range(6)]
