"""A self-describing model folder, as written by `export/onnx_export.py`.

    encoder.onnx   post, conv (+ masks) -> memory, memory_mask, hidden0
    decoder.onnx   one step: prev_word, element_rows (or batch_rows, older folders), hidden, memory, memory_mask,
                   k -> top_log_probs, top_ids (each row's k best), new_hidden (older folders: no k, -> log_probs, new_hidden)
    config.json    architecture, vocab sizes, special ids, preprocessing version, language,
                   dev metrics, training data summary, opset, quantization, sha256 of every file
    src_vocab.txt  one token a line; line i is id i
    tgt_vocab.txt
    encoder.int8.onnx, decoder.int8.onnx   optional dynamic-int8 graphs (config.json "graphs",
                   "quantization.default" says which precision to serve)

`load_model_folder` checks all of it and raises `InvalidModelFolder` saying what is wrong, so a
broken or stale folder fails at start-up, not on the first request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
SRC_VOCAB_FILE = "src_vocab.txt"
TGT_VOCAB_FILE = "tgt_vocab.txt"
ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"

REQUIRED_KEYS = {
    "format_version": int,
    "name": str,
    "version": str,
    "language": str,
    "architecture": dict,
    "src_vocab_size": int,
    "tgt_vocab_size": int,
    "special_ids": dict,
    "preprocess_version": int,
    "opset": int,
    "files": dict,
}
REQUIRED_FILES = (SRC_VOCAB_FILE, TGT_VOCAB_FILE)  # graphs: whatever config.json "graphs" names
SRC_SPECIALS = {"pad": 0, "unk": 1}
TGT_SPECIALS = {"pad": 0, "bos": 1, "eos": 2, "unk": 3}


class InvalidModelFolder(ValueError):
    """A model folder that cannot be served: missing files, bad config.json, checksum mismatch..."""


@dataclass
class ModelFolder:
    path: Path
    config: dict
    src_vocab: list[str]
    tgt_vocab: list[str]
    src_index: dict[str, int] = field(repr=False)

    @property
    def language(self) -> str:
        return self.config["language"]

    @property
    def model_id(self) -> str:
        """"name@version", as the service reports it."""
        return f"{self.config['name']}@{self.config['version']}"

    @property
    def encoder_path(self) -> Path:
        return self.path / ENCODER_FILE

    @property
    def decoder_path(self) -> Path:
        return self.path / DECODER_FILE

    @property
    def default_precision(self) -> str:
        """"int8" where the exporter kept the quantized graphs (dev F1@1 held), else "fp32"."""
        return self.config.get("quantization", {}).get("default", "fp32")

    def graph_paths(self, precision: str = "fp32") -> tuple[Path, Path]:
        """(encoder, decoder) files for "fp32" or "int8"."""
        graphs = self.config.get("graphs", {}).get(precision)
        if graphs is None:
            if precision != "fp32":
                raise InvalidModelFolder(f"{self.path}: no {precision} graphs in this model folder")
            graphs = {"encoder": ENCODER_FILE, "decoder": DECODER_FILE}
        return self.path / graphs["encoder"], self.path / graphs["decoder"]

    @property
    def special_ids(self) -> dict[str, dict[str, int]]:
        return self.config["special_ids"]

    @property
    def max_post_len(self) -> int:
        return int(self.config["architecture"].get("max_post_len", 64))

    @property
    def max_conv_len(self) -> int:
        return int(self.config["architecture"].get("max_conv_len", 200))

    @property
    def max_tag_len(self) -> int:
        return int(self.config["architecture"].get("max_tag_len", 10))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_vocab(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]  # one token a line, final newline


def write_vocab(path: Path, vocab: list[str]) -> None:
    bad = [t for t in vocab if "\n" in t or "\r" in t]
    if bad:
        raise ValueError(f"vocab tokens may not contain line breaks: {bad[:3]}")
    path.write_text("".join(t + "\n" for t in vocab), encoding="utf-8")


def _current_preprocess_version() -> int | None:
    try:
        from inference.text.preprocess import PREPROCESS_VERSION
    except ImportError:  # preprocess not importable (yet): nothing to compare against
        return None
    return int(PREPROCESS_VERSION)


def load_model_folder(path: str | Path, verify_checksums: bool = True) -> ModelFolder:
    """Read and validate a model folder; raise InvalidModelFolder with a clear message if it is bad."""
    path = Path(path)
    if not path.is_dir():
        raise InvalidModelFolder(f"model folder {path} does not exist or is not a directory")
    missing = [name for name in (CONFIG_FILE, *REQUIRED_FILES) if not (path / name).is_file()]
    if missing:
        raise InvalidModelFolder(f"model folder {path} lacks {', '.join(missing)}")

    try:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidModelFolder(f"{path / CONFIG_FILE} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise InvalidModelFolder(f"{path / CONFIG_FILE} must hold a JSON object")
    absent = [k for k in REQUIRED_KEYS if k not in config]
    if absent:
        raise InvalidModelFolder(f"{path / CONFIG_FILE} lacks required keys: {', '.join(absent)}")
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(config[key], kind) or (kind is int and isinstance(config[key], bool)):
            raise InvalidModelFolder(f"{path / CONFIG_FILE}: {key!r} must be a {kind.__name__}, got {config[key]!r}")

    if config["format_version"] != FORMAT_VERSION:
        raise InvalidModelFolder(
            f"{path}: model folder format_version {config['format_version']} is not supported "
            f"(this tagsmith reads version {FORMAT_VERSION}); re-export the model"
        )
    expected_preprocess = _current_preprocess_version()
    if expected_preprocess is not None and config["preprocess_version"] != expected_preprocess:
        raise InvalidModelFolder(
            f"{path}: model was trained with preprocess_version {config['preprocess_version']} but this "
            f"tagsmith tokenizes with version {expected_preprocess}; retrain or re-export the model"
        )
    for side, wanted in (("src", SRC_SPECIALS), ("tgt", TGT_SPECIALS)):
        if config["special_ids"].get(side) != wanted:
            raise InvalidModelFolder(
                f"{path}: special_ids[{side!r}] is {config['special_ids'].get(side)!r}, expected {wanted}"
            )

    files = config["files"]
    unlisted = [name for name in REQUIRED_FILES if name not in files]
    if unlisted:
        raise InvalidModelFolder(f"{path}: config.json 'files' has no checksum for {', '.join(unlisted)}")
    graphs = config.get("graphs", {"fp32": {"encoder": ENCODER_FILE, "decoder": DECODER_FILE}})
    for precision, pair in graphs.items():
        if not isinstance(pair, dict) or set(pair) != {"encoder", "decoder"}:
            raise InvalidModelFolder(f"{path}: graphs[{precision!r}] must name an encoder and a decoder, got {pair!r}")
        unknown = [f for f in pair.values() if f not in files]
        if unknown:
            raise InvalidModelFolder(f"{path}: {precision} graph(s) {', '.join(unknown)} have no checksum in 'files'")
        absent = [f for f in pair.values() if not (path / f).is_file()]
        if absent:
            raise InvalidModelFolder(f"model folder {path} lacks {', '.join(absent)}")
    default = config.get("quantization", {}).get("default", "fp32")
    if default not in graphs:
        raise InvalidModelFolder(f"{path}: default precision {default!r} has no graphs (have {sorted(graphs)})")
    if verify_checksums:
        for name, expected in files.items():
            file = path / name
            if not file.is_file():
                raise InvalidModelFolder(f"{path}: config.json lists {name} but the file is missing")
            actual = sha256_file(file)
            if actual != expected:
                raise InvalidModelFolder(
                    f"{path}: checksum mismatch for {name} (sha256 {actual[:12]}…, config.json says "
                    f"{str(expected)[:12]}…): the file changed after export"
                )

    src_vocab = read_vocab(path / SRC_VOCAB_FILE)
    tgt_vocab = read_vocab(path / TGT_VOCAB_FILE)
    architecture = config["architecture"]
    for side, vocab in (("src", src_vocab), ("tgt", tgt_vocab)):
        sizes = {
            f"{side}_vocab.txt lines": len(vocab),
            f"config {side}_vocab_size": config[f"{side}_vocab_size"],
            f"architecture {side}_vocab_size": architecture.get(f"{side}_vocab_size", len(vocab)),
        }
        if len(set(sizes.values())) != 1:
            detail = ", ".join(f"{k} = {v}" for k, v in sizes.items())
            raise InvalidModelFolder(f"{path}: {side} vocabulary sizes disagree: {detail}")
    if len(set(src_vocab)) != len(src_vocab):
        raise InvalidModelFolder(f"{path}: src_vocab.txt has duplicate tokens")
    return ModelFolder(
        path=path,
        config=config,
        src_vocab=src_vocab,
        tgt_vocab=tgt_vocab,
        src_index={token: i for i, token in enumerate(src_vocab)},
    )
