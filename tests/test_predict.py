"""`tagsmith predict`, `evaluate` and `suggest` from the command line, on small real model folders."""

import json
import subprocess
import sys

import pytest

from tests.service_fixtures import write_models_dir


@pytest.fixture
def models(tmp_path):
    return write_models_dir(tmp_path / "models")


def tagsmith(*args):
    return subprocess.run([sys.executable, "-m", "inference.cli", *args], capture_output=True, text=True, timeout=120)


def test_predict_writes_one_line_per_record_in_input_order(tmp_path, models):
    records = [
        {"id": "1", "post": "Nadal in the Australian Open final", "thread": ["what a match"], "hashtags": ["aus open"]},
        {"id": "2", "text": "Celtics fans celebrate the NBA finals win", "hashtags": []},  # the API's field name
        {"id": "3", "post": "Apple shows the new iPhone", "thread": [], "hashtags": ["iphone"]},
    ]
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    pred = tmp_path / "pred.txt"
    done = tagsmith("predict", "--input", str(data), "--output", str(pred), "--model", str(models / "en"), "--k", "3")
    assert done.returncode == 0, done.stderr
    lines = pred.read_text().splitlines()
    assert len(lines) == 3
    assert "aus open" in lines[0].split(";")
    assert "nba finals" in lines[1].split(";")
    assert "iphone" in lines[2].split(";")
    assert all(len(line.split(";")) <= 3 for line in lines if line)


def test_predict_refuses_a_record_with_nothing_to_tag_and_names_its_line(tmp_path, models):
    data = tmp_path / "dev.jsonl"
    data.write_text(json.dumps({"post": "Nadal in the final"}) + "\n" + json.dumps({"id": "2", "hashtags": ["x"]}) + "\n")
    done = tagsmith("predict", "--input", str(data), "--output", str(tmp_path / "pred.txt"), "--model", str(models / "en"))
    assert done.returncode == 2
    assert "dev.jsonl:2" in done.stderr and "Traceback" not in done.stderr


def test_predict_reads_the_weibo_format_and_evaluate_scores_it(tmp_path, models):
    (tmp_path / "test_post.txt").write_text("纳达尔 赢得 澳网 冠军\n股市 下跌\n")
    (tmp_path / "test_conv.txt").write_text("恭喜\n担忧\n")
    (tmp_path / "test_tag.txt").write_text("澳网\n股市\n")
    pred = tmp_path / "pred.txt"
    done = tagsmith("predict", "--input", str(tmp_path / "test"), "--format", "weibo", "--output", str(pred), "--model", str(models / "zh"))
    assert done.returncode == 0, done.stderr
    assert pred.read_text().splitlines()[0].split(";")[0] == "澳网"
    scored = tagsmith("evaluate", "--gold", str(tmp_path / "test_tag.txt"), "--pred", str(pred), "--lang", "zh")
    assert scored.returncode == 0, scored.stderr
    figures = dict(line.split("\t") for line in scored.stdout.splitlines())
    assert set(figures) >= {"F1@1", "F1@5", "MAP@5", "RG-1", "RG-SU4"}
    assert float(figures["F1@1"]) == 100.0


def test_predict_picks_the_model_by_each_records_language(tmp_path, models, monkeypatch):
    import inference.evaluation.predict as predict
    import inference.runtime.suggester as suggester

    monkeypatch.setattr(suggester, "DEFAULT_MODELS_DIR", models)
    monkeypatch.setattr(predict, "DEFAULT_MODELS_DIR", models)
    records = [{"id": "a", "post": "纳达尔 赢得 澳网 冠军"}, {"id": "b", "post": "New iPhone launch event"}]
    data = tmp_path / "mixed.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    pred = tmp_path / "pred.txt"
    args = predict.argparse.Namespace(input=str(data), output=str(pred), format=None, k=2, model=None)
    assert predict.run_predict(args) == 0
    zh, en = pred.read_text().splitlines()
    assert "澳网" in zh.split(";")
    assert "iphone" in en.split(";")


def test_suggest_prints_formatted_hashtags(models):
    done = tagsmith("suggest", "Watching the Australian Open final tonight", "--model", str(models / "en"), "--k", "2")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0].split("\t")
    assert first[0] == "#AusOpen"
    assert 0.0 <= float(first[1]) <= 1.0


def test_predict_refuses_an_unknown_model_clearly(tmp_path):
    data = tmp_path / "x.jsonl"
    data.write_text(json.dumps({"post": "hi"}) + "\n")
    done = tagsmith("predict", "--input", str(data), "--output", str(tmp_path / "p"), "--model", "nope")
    assert done.returncode != 0
    assert "no model folder" in done.stderr
    assert "Traceback" not in done.stderr
