import argparse

import pytest

from inference.evaluation.metrics import corel_protocol, evaluate, match_key, rouge_scores, run_evaluate


def approx(x):
    return pytest.approx(x, abs=1e-9)


def test_f1_and_map_on_a_hand_worked_case():
    # post 1: gold {aus open, tennis}; hits at ranks 1 and 3. post 2: gold {super bowl}; hit at rank 1.
    gold = [["aus open", "tennis"], ["super bowl"]]
    pred = [["aus open", "nba", "tennis"], ["super bowl", "nfl"]]
    s = evaluate(gold, pred, "en")
    # @1: 2 correct of 1x2 predictions (P 1.0) and of 3 gold tags (R 2/3): F1 0.8
    assert s["P@1"] == approx(100.0) and s["R@1"] == approx(200 / 3) and s["F1@1"] == approx(80.0)
    # @5: 3 correct of 5x2 (P 0.3), R 1.0: F1 = 0.6 / 1.3
    assert s["P@5"] == approx(30.0) and s["R@5"] == approx(100.0) and s["F1@5"] == approx(100 * 0.6 / 1.3)
    # MAP@5: post 1 mean(1, 2/3) / 2 gold = 5/12; post 2: 1 / 1 -> (5/12 + 1) / 2
    assert s["MAP@5"] == approx(100 * (5 / 12 + 1) / 2)
    assert s["MAP@1"] == approx(100 * (0.5 + 1) / 2)


def test_precision_counts_missing_predictions_as_wrong():
    s = evaluate([["a b"], ["c d"]], [["a b"], []], "en")
    assert s["P@5"] == approx(10.0) and s["R@5"] == approx(50.0)
    assert s["RG-1"] == approx(50.0)


def test_tags_match_across_case_spacing_punctuation_and_plural():
    assert match_key("Aus Open") == match_key("ausopen") == match_key("aus-open")
    assert match_key("super bowls") == match_key("super bowl")
    s = evaluate([["AusOpen"]], [["aus open"]], "en")
    assert s["F1@1"] == approx(100.0) and s["RG-1"] == approx(0.0)  # ROUGE sees one word against two


def test_rouge_averages_over_gold_tags_as_references():
    # peer {new, york, citi}; refs {new, york} and {citi}: hits 3 of 3 ref unigrams, 3 of 2x3 peer unigrams
    r1, su4 = rouge_scores("new york city", ["new york", "city"], "en")
    assert r1 == approx(2 * 1.0 * 0.5 / 1.5)
    # SU4 peer: 3 unigrams + 3 skip bigrams; refs: (2 + 1) and 1; hits 4: R 4/4, P 4/12
    assert su4 == approx(2 * (1 / 3) * 1.0 / (1 / 3 + 1.0))


def test_rouge_skip_bigrams_allow_at_most_four_words_between():
    # 6-word peer against its first and last word: (w0, w5) has 4 words between and counts
    r1, su4 = rouge_scores("a1 b2 c3 d4 e5 f6", ["a1 f6"], "en")
    assert r1 == approx(2 * (2 / 6) * 1.0 / (2 / 6 + 1.0))
    peer_grams = 6 + 5 + 4 + 3 + 2 + 1  # unigrams + pairs with gap <= 4 (all 15 pairs of 6 words)
    p, r = 3 / peer_grams, 3 / 3
    assert su4 == approx(2 * p * r / (p + r))


def test_chinese_rouge_works_on_characters():
    r1, su4 = rouge_scores("全球 华语", ["华语 榜"], "zh")
    # chars {全 球 华 语} vs {华 语 榜}: 2 hits, P 2/4, R 2/3
    assert r1 == approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # SU4: peer 4 + 6 grams, ref 3 + 3 grams, hits 华 语 (华,语): P 3/10, R 3/6
    assert su4 == approx(2 * 0.3 * 0.5 / 0.8)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError):
        evaluate([["a"]], [], "en")


def test_run_evaluate_reads_tag_files_and_prints_the_five_figures(tmp_path, capsys):
    (tmp_path / "test_tag.txt").write_text("周笔畅;全球 华语\n吴亦凡\n", encoding="utf-8")
    (tmp_path / "pred.txt").write_text("周笔畅;吴亦凡\n鹿晗\n", encoding="utf-8")
    args = argparse.Namespace(gold=str(tmp_path / "test_tag.txt"), pred=str(tmp_path / "pred.txt"), lang=None)
    assert run_evaluate(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["F1@1", "F1@5", "MAP@5", "RG-1", "RG-SU4"]
    # @1: 1 correct of 2 predictions and 3 gold tags: P .5, R 1/3 -> F1 .4
    assert lines[0] == "F1@1\t40.00"


def test_run_evaluate_reads_canonical_jsonl_gold(tmp_path, capsys):
    (tmp_path / "gold.jsonl").write_text('{"id": "1", "post": "x", "hashtags": ["aus open"]}\n', encoding="utf-8")
    (tmp_path / "pred.txt").write_text("aus open;tennis\n", encoding="utf-8")
    args = argparse.Namespace(gold=str(tmp_path / "gold.jsonl"), pred=str(tmp_path / "pred.txt"), lang="en")
    assert run_evaluate(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == "F1@1\t100.00"


def test_run_evaluate_by_source_prints_one_row_per_data_source(tmp_path, capsys):
    records = [('{"id": "1", "post": "x", "hashtags": ["aus open"], "source": "tweeteval"}'),
               ('{"id": "2", "post": "y", "hashtags": ["nba"], "source": "instagram"}'),
               ('{"id": "3", "post": "z", "hashtags": ["nfl"], "source": "tweeteval"}')]
    (tmp_path / "gold.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    (tmp_path / "pred.txt").write_text("aus open\nnba\nmlb\n", encoding="utf-8")
    args = argparse.Namespace(gold=str(tmp_path / "gold.jsonl"), pred=str(tmp_path / "pred.txt"), lang="en", by_source=True)
    assert run_evaluate(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "source\tposts\tF1@1\tF1@5\tMAP@5\tRG-1\tRG-SU4"
    assert lines[1].startswith("instagram\t1\t100.00") and lines[2].startswith("tweeteval\t2\t50.00")


def test_run_evaluate_rejects_a_prediction_file_of_the_wrong_length(tmp_path, capsys):
    (tmp_path / "x_tag.txt").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "pred.txt").write_text("a\n", encoding="utf-8")
    args = argparse.Namespace(gold=str(tmp_path / "x_tag.txt"), pred=str(tmp_path / "pred.txt"), lang="en")
    assert run_evaluate(args) == 2
    assert "2 records" in capsys.readouterr().err


def test_corel_protocol_averages_precision_and_recall_over_the_gold_words():
    gold = [{"a", "b"}, {"a"}, {"c"}]
    pred = [["a", "c"], ["b", "d"], ["c"]]  # "d" has no gold image: not a test word
    scores = corel_protocol(gold, pred)
    # a: P 1/1, R 1/2; b: P 0/1, R 0/1; c: P 1/2, R 1/1 -> P .5, R .5
    assert (scores["P"], scores["R"], scores["F1"], scores["N+"], scores["test_words"]) == (50.0, 50.0, 50.0, 2, 3)


def test_corel_protocol_annotates_each_image_with_its_top_five_only():
    assert corel_protocol([{"f"}], [["a", "b", "c", "d", "e", "f"]])["N+"] == 0
    assert corel_protocol([{"f"}], [["a", "b", "c", "d", "f"]])["N+"] == 1
