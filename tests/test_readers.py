import json

import pytest

from inference.text.tags import normalize_tag
from inference.evaluation.readers import ReaderError, detect_format, read_records

KEYS = {"id", "post", "thread", "hashtags", "image", "lang", "source"}


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_weibo_prefix_reads_post_conv_and_tag_files_in_order(tmp_path):
    write(tmp_path / "test_post.txt", "今天 很 好\n还是 一样\n")
    write(tmp_path / "test_conv.txt", "回复 一\n\n")
    write(tmp_path / "test_tag.txt", "周笔畅;全球 华语\n吴亦凡\n")
    records = list(read_records(tmp_path / "test"))
    assert [r["id"] for r in records] == ["weibo-test-0", "weibo-test-1"]
    assert records[0]["hashtags"] == ["周笔畅", "全球 华语"]
    assert records[0]["thread"] == ["回复 一"] and records[1]["thread"] == []
    assert all(set(r) == KEYS and r["lang"] == "zh" for r in records)


def test_weibo_accepts_any_of_its_files_and_works_without_conv_or_tags(tmp_path):
    write(tmp_path / "test_post.txt", "一\n二\n三\n")
    assert detect_format(tmp_path / "test_post.txt") == "weibo"
    records = list(read_records(tmp_path / "test_post.txt"))
    assert len(records) == 3 and all(r["hashtags"] == [] for r in records)


def test_instagram_csv_uses_caption_tags_and_comment_thread(tmp_path):
    path = write(tmp_path / "acct.csv",
                 ',ID,shortcode,text,hashtags,comments,likes\n'
                 '0,1,abc,"Wear a mask\n\n#WearAMask #CDC",wearamask cdc,"nice|#stopspread|",5\n'
                 '1,2,def,Caption without tags,travel,,3\n'
                 '2,3,ghi,"Eat #healthy food daily",healthy,"yum",1\n')
    records = list(read_records(path))
    assert [r["id"] for r in records] == ["instagram-acct-abc", "instagram-acct-def", "instagram-acct-ghi"]
    assert records[0]["post"] == "Wear a mask"
    assert records[0]["hashtags"] == [normalize_tag("WearAMask"), normalize_tag("CDC")]
    assert records[0]["thread"] == ["nice", "#stopspread"]
    assert records[1]["hashtags"] == [normalize_tag("travel")]  # caption lacks '#': the column fills in
    assert records[2]["hashtags"] == []  # inline only: no gold, as in the paper
    assert records[2]["post"] == f"Eat {normalize_tag('healthy')} food daily"


def test_tweeteval_keeps_every_line_and_applies_the_gold_rules(tmp_path):
    path = write(tmp_path / "tweeteval" / "stance" / "abortion" / "train_text.txt",
                 "Life is precious #prolife #SemST \n"
                 "no tags here \n"
                 "Sunday in Venice #friends #x @ Abbot Kinney, Venice \n")
    records = list(read_records(path))
    assert [r["id"] for r in records] == [f"tweeteval-stance-abortion-train-{i}" for i in range(3)]
    assert records[0]["hashtags"] == [normalize_tag("prolife")]
    assert records[1]["hashtags"] == [] and records[1]["post"] == "no tags here"
    assert records[2]["hashtags"] == [normalize_tag("friends")] and records[2]["post"] == "Sunday in Venice"


def test_a_stray_carriage_return_does_not_split_a_line_record(tmp_path):
    path = write(tmp_path / "val_text.txt", "first\rstill first #tag\nsecond\n")
    records = list(read_records(path))
    assert len(records) == 2 and records[0]["hashtags"] == [normalize_tag("tag")]


def test_rumoureval_replies_become_the_thread(tmp_path):
    line = {"id": "55", "event": "e", "created_at": "x", "text": "Shooting in Paris #CharlieHebdo",
            "hashtags": ["CharlieHebdo"], "replies": [{"id": "56", "text": "awful"}, {"id": "57", "text": "sad"}]}
    path = write(tmp_path / "threads.jsonl", json.dumps(line) + "\n")
    assert detect_format(path) == "rumoureval"
    (rec,) = read_records(path)
    assert rec["id"] == "rumoureval-55" and rec["thread"] == ["awful", "sad"]
    assert rec["post"] == "Shooting in Paris" and rec["hashtags"] == [normalize_tag("CharlieHebdo")]


def test_sarcasm_response_is_the_post_and_context_the_thread(tmp_path):
    lines = [{"label": "SARCASM", "response": "@USER sure #genius", "context": ["first", "second"]},
             {"label": "NOT", "response": "ok", "context": []}]
    path = write(tmp_path / "sarcasm.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    records = list(read_records(path))
    assert records[0]["post"] == "@USER sure" and records[0]["hashtags"] == [normalize_tag("genius")]
    assert records[0]["thread"] == ["first", "second"] and records[1]["hashtags"] == []


def test_crisislex_csv_with_spaced_header(tmp_path):
    path = write(tmp_path / "2013_Boston_bombings-tweets_labeled.csv",
                 "Tweet ID, Tweet Text, Information Source, Information Type, Informativeness\n"
                 '"323808103780990976","Good luck today #bostonmarathon",Not labeled,Not labeled,Not related\n'
                 '"323808103780990977","Explosion at copley",Outsiders,Other,Related\n')
    records = list(read_records(path))
    assert records[0]["id"] == "crisislex-2013_Boston_bombings-323808103780990976"
    assert records[0]["hashtags"] == [normalize_tag("bostonmarathon")]
    assert records[1]["hashtags"] == []


def test_mediaeval_tsv_finds_the_first_image_whatever_its_extension(tmp_path):
    (tmp_path / "images_train").mkdir()
    (tmp_path / "images_train" / "boston_fake_03.png").write_bytes(b"x")
    path = write(tmp_path / "test_posts.txt",
                 "post_id\tpost_text\tuser_id\timage_id\tusername\ttimestamp\tlabel\n"
                 "1\tNo feds needed #bostonbombing\t9\tboston_fake_03,boston_fake_35\tu\tt\tfake\n"
                 "2\tno image here\t9\tmissing_01\tu\tt\treal\n")
    assert detect_format(path) == "mediaeval"
    records = list(read_records(path))
    assert records[0]["image"] == str(tmp_path / "images_train" / "boston_fake_03.png")
    assert records[0]["hashtags"] == [normalize_tag("bostonbombing")]
    assert records[1]["image"] is None


def test_canonical_jsonl_fills_missing_keys_and_resolves_images(tmp_path):
    path = write(tmp_path / "sub" / "dev.jsonl",
                 json.dumps({"id": "a", "post": "hello", "image": "img/1.jpg"}) + "\n"
                 + json.dumps({"post": "还是 一样", "hashtags": ["吴亦凡"], "extra": 1}) + "\n")
    records = list(read_records(path))
    assert records[0]["image"] == str((tmp_path / "sub" / "img" / "1.jpg").resolve())
    assert records[0]["hashtags"] == [] and records[0]["thread"] == [] and records[0]["lang"] == "en"
    assert records[1]["id"] == "dev-1" and records[1]["lang"] == "zh" and records[1]["extra"] == 1


def test_missing_file_is_a_reader_error(tmp_path):
    with pytest.raises(ReaderError):
        list(read_records(tmp_path / "nope.csv"))


def test_a_corel5k_label_file_gives_image_records_with_its_words(tmp_path):
    write(tmp_path / "corel5k" / "words", "city\nmountain\nsky\n")
    path = write(tmp_path / "corel5k" / "test_label", "1000 3 1\n1001 2\n")
    assert detect_format(path) == "corel5k"
    records = list(read_records(path))
    assert [r["hashtags"] for r in records] == [["sky", "city"], ["mountain"]]
    assert records[0]["image"] == str(tmp_path / "corel5k" / "images" / "1000.jpeg")
    assert records[0]["post"] == "" and records[0]["id"] == "corel-1000" and set(records[0]) >= KEYS


def test_a_corel5k_word_number_out_of_range_is_a_reader_error(tmp_path):
    write(tmp_path / "words", "city\n")
    path = write(tmp_path / "test_label", "1000 2\n")
    with pytest.raises(ReaderError, match="1..1"):
        list(read_records(path))


def test_a_corel5k_folder_reads_its_test_label_or_asks_which_label_file(tmp_path):
    write(tmp_path / "corel5k" / "words", "city\nsky\n")
    write(tmp_path / "corel5k" / "training_label", "1 1\n2 2\n")
    assert detect_format(tmp_path / "corel5k") == "corel5k"
    assert [r["id"] for r in read_records(tmp_path / "corel5k")] == ["corel-1", "corel-2"]  # its only label file
    write(tmp_path / "corel5k" / "test_label", "3 2\n")
    assert [r["hashtags"] for r in read_records(tmp_path / "corel5k")] == [["sky"]]  # the test split first
    write(tmp_path / "two" / "words", "city\n")
    write(tmp_path / "two" / "a_label", "1 1\n")
    write(tmp_path / "two" / "b_label", "2 1\n")
    with pytest.raises(ReaderError, match="a_label, b_label"):
        list(read_records(tmp_path / "two"))
