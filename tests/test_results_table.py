"""`toolkit report`: a table comparing finished runs, in the terminal and as Markdown."""

from __future__ import annotations

import json

from click.testing import CliRunner

from toolkit.cli.main import main


def _fake_run(folder, recipe_text, recipe="quick", p_at_1=0.5, epochs=2, train=61.0):
    folder.mkdir(parents=True)
    (folder / "recipe.toml").write_text(recipe_text)
    epoch = {"loss": 0.5, "seconds": 30.0, "images_per_second": 900.0, "lr": 0.001, "bad_steps": 0}
    metrics = {"recipe": recipe, "epochs": [{"epoch": i + 1, **epoch} for i in range(epochs)], "train_seconds": train,
               "wall_seconds": train + 10, "device": "cpu",
               "evaluation": {"knn": {"precision_at_1": p_at_1, "map_at_r": p_at_1 / 2},
                              "plot": {"plot": "embeddings_test.png"}}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def _invoke(*args):
    return CliRunner().invoke(main, ["report", *map(str, args)])


def test_report_prints_one_row_per_run_with_times_and_metrics(tmp_path):
    a = _fake_run(tmp_path / "a", "[run]\nepochs = 2\n", p_at_1=0.91)
    b = _fake_run(tmp_path / "b", "[run]\nepochs = 3\n", p_at_1=0.95, epochs=3, train=125.0)
    result = _invoke(a, b, "--recipes", tmp_path / "none")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "knn.precision_at_1" in lines[0] and "knn.map_at_r" in lines[0] and "plot" not in lines[0]
    assert "0.9100" in lines[2] and "1:01" in lines[2] and "0.9500" in lines[3] and "2:05" in lines[3]


def test_a_folder_of_runs_reports_every_run_in_it(tmp_path):
    for name in ("r1", "r2"):
        _fake_run(tmp_path / "runs" / name, "")
    (tmp_path / "runs" / "not-a-run").mkdir()
    result = _invoke(tmp_path / "runs")
    assert result.exit_code == 0 and "r1" in result.output and "r2" in result.output


def test_markdown_goes_between_markers_and_gives_the_reproducing_command(tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "quick.toml").write_text('[run]\nepochs = 2\n\n[dataset]\nname = "digits"\n\n[encoder]\nhidden = [[8], [4, 4]]\n')
    run = _fake_run(tmp_path / "run1", '[run]\nepochs = 5\n\n[dataset]\nname = "digits"\nlimit = 100\n\n'
                                       '[encoder]\nhidden = [[8, 8]]\n', epochs=5)
    page = tmp_path / "results.md"
    page.write_text("# Results\n\nintro\n\n<!-- report:begin -->\nold table\n<!-- report:end -->\n\nafter\n")
    references = tmp_path / "articles.toml"
    references.write_text('quick = "k-means 94.93 %"\n')
    result = _invoke(run, "--recipes", recipes, "--markdown", page, "-m", "knn.precision_at_1", "--reference", references)
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.startswith("# Results\n\nintro\n") and text.endswith("\n\nafter\n") and "old table" not in text
    assert "| run1 | quick | 5 |" in text and "k-means 94.93 %" in text and "map_at_r" not in text
    assert (f"`toolkit run {recipes / 'quick.toml'} --set run.epochs=5 --set dataset.limit=100 "
            "--set 'encoder.hidden=[[8, 8]]'`") in text


def test_a_folder_without_runs_is_a_clear_error_saying_how_deep_it_searched(tmp_path):
    result = _invoke(tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "no finished run (metrics.json) in it or in the folders under it (searched 4 levels down" in result.output


def test_report_and_runs_find_the_same_runs_nested_deeper(tmp_path):
    for name in ("2026/a", "2026/b", "old/x/c"):
        _fake_run(tmp_path / "runs" / name, "")
    reported = _invoke(tmp_path / "runs", "--recipes", tmp_path / "none").output
    listed = json.loads(CliRunner().invoke(main, ["runs", str(tmp_path / "runs"), "--json"]).output)
    assert {r["path"] for r in listed} == {str(tmp_path / "runs" / n) for n in ("2026/a", "2026/b", "old/x/c")}
    assert [line.split()[0] for line in reported.splitlines()[2:]] == ["a", "b", "c"]


def test_an_unknown_metric_pattern_lists_the_metrics(tmp_path):
    result = _invoke(_fake_run(tmp_path / "a", ""), "-m", "kmeans.*")
    assert result.exit_code == 2 and "'kmeans.*' matches no metric" in result.output and "knn.map_at_r" in result.output
