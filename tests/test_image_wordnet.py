"""ImageNet class -> hashtags through WordNet hypernyms, on a tiny data.noun written here."""

from __future__ import annotations

import json

from export.wordnet_tags import build, lemma_words, main

# offset lex_filenum ss_type w_cnt(hex) word lex_id ... p_cnt [ptr offset pos src/tgt] | gloss
DATA_NOUN = """\
  1 This software and database is being provided to you, the LICENSEE (licence header line)
00001740 03 n 01 entity 0 000 | that which is perceived
00002684 03 n 01 object 0 001 @ 00001740 n 0000 | a tangible thing
01317541 05 n 01 domestic_animal 0 001 @ 00015388 n 0000 | a tame animal
00015388 05 n 01 animal 0 001 @ 00002684 n 0000 | a living organism
02084071 05 n 02 dog 0 domestic_dog 0 002 @ 01317541 n 0000 @ 02083346 n 0000 | a member of the genus Canis
02083346 05 n 01 canine 0 001 @ 00015388 n 0000 | any of various fissiped mammals
02087122 05 n 02 hunting_dog 0 sporting_dog 0 001 @ 02084071 n 0000 | a dog used in hunting
02099029 05 n 01 retriever 0 001 @ 02087122 n 0000 | a dog with a good nose
02099601 05 n 01 golden_retriever 0 001 @ 02099029 n 0000 | an English breed
02121620 05 n 01 cat 0 001 @ 00015388 n 0000 | feline mammal
"""
CNTLIST = "dog%1:05:00:: 1 42\nanimal%1:05:00:: 1 30\ncat%1:05:00:: 1 12\nobject%1:03:00:: 1 50\n"


def write_fixture(tmp_path):
    wordnet = tmp_path / "wordnet"
    wordnet.mkdir()
    (wordnet / "data.noun").write_text(DATA_NOUN)
    (wordnet / "cntlist.rev").write_text(CNTLIST)
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("n02099601\nn02121620\n")
    return synsets, wordnet


def write_corpus(tmp_path, tags):
    corpus = tmp_path / "posts.jsonl"
    corpus.write_text("".join(json.dumps({"post": "p", "hashtags": t}) + "\n" for t in tags))
    return corpus


def test_golden_retriever_gets_its_name_and_the_hypernyms_people_use_as_hashtags(tmp_path):
    synsets, wordnet = write_fixture(tmp_path)
    corpus = write_corpus(tmp_path, [["dog", "puppy"], ["dogs"], ["dog", "animal"], ["animal"], ["canine"]])
    mapping = build(synsets, wordnet, corpus)
    retriever = mapping["classes"][0]
    tags = dict(retriever["tags"])
    assert retriever["wnid"] == "n02099601" and retriever["name"] == "golden retriever"
    assert tags["golden retriever"] == 1.0
    assert "retriever" not in tags and "hunting dog" not in tags  # never a hashtag in the corpus
    assert "canine" not in tags  # used once: below min_hashtag
    assert tags["dog"] > tags["animal"]  # a general word never outweighs the everyday one below it
    assert "entity" not in tags and "object" not in tags and "domestic animal" not in tags
    assert mapping["min_hashtag"] == 2 and "posts" in mapping["usage_sources"]


def test_an_everyday_word_above_a_rare_class_name_outweighs_its_plain_decay(tmp_path):
    synsets, wordnet = write_fixture(tmp_path)
    corpus = write_corpus(tmp_path, [["dog"]] * 5)
    tags = dict(build(synsets, wordnet, corpus)["classes"][0]["tags"])
    assert tags["dog"] == 0.8  # min(decay, decay**3 * (5 + 1) / (0 + 1)): the weight of a direct parent


def test_classes_keep_the_synset_file_order(tmp_path):
    synsets, wordnet = write_fixture(tmp_path)
    names = [c["name"] for c in build(synsets, wordnet)["classes"]]
    assert names == ["golden retriever", "cat"]


def test_lemma_words_are_lowercase_space_separated():
    assert lemma_words("Golden_Retriever") == "golden retriever"
    assert lemma_words("crane(a)") == "crane"


def test_the_script_writes_the_json_mapping(tmp_path, capsys):
    synsets, wordnet = write_fixture(tmp_path)
    corpus = write_corpus(tmp_path, [["dog"], ["dogs"]])
    out = tmp_path / "tags.json"
    # the corpus and Corel labels given (a fresh clone has neither runs/ nor ../shared)
    main(["--synsets", str(synsets), "--wordnet", str(wordnet), "--corpus", str(corpus), "--corel", "", "--out", str(out)])
    assert len(json.loads(out.read_text())["classes"]) == 2
    assert "2 classes" in capsys.readouterr().out


def test_the_shipped_mapping_covers_the_1000_classes():
    from inference.runtime.image_tagger import load_imagenet_tags

    words, per_class = load_imagenet_tags()
    assert len(per_class) == 1000 and all(per_class)
    golden = {words[i] for i, _ in per_class[207]}
    assert {"golden retriever", "dog"} <= golden
