"""The model-folder contract: what a folder holds, which format it is, and that no file changed.

Every folder (a language folder from `export/onnx_export.py` + `export/fusion.py` + `export/rerank.py`,
the image folder from `export/image_export.py`) carries `manifest.json`, written last by
`export/folder_manifest.write_manifest`:

    {"format_version": 2, "files": {"config.json": "<sha256>", "decoder.onnx": "<sha256>", ...}}

`verify_folder` checks it before anything in the folder is read: the format is one this tagsmith
reads (a newer one says so), every file of the folder is listed (config.json / image.json, graphs,
vocabularies, fusion.json, rerank.json, retrieval.json/.npz, tags.json, tagger.onnx, knn.npz), every
listed file is there and has its checksum. The folder's format version versions all of its files:
a change in any file's layout bumps it. A folder without manifest.json (one being exported, a test
fixture) is checked against the checksums its config names, with a warning.

Language folder, format 2:
    encoder.onnx   post, post_mask, conv, conv_mask -> memory, memory_mask, hidden0
    decoder.onnx   one step: prev_word [N], element_rows [A], hidden [1,N,H], memory, memory_mask, k [1]
                   -> top_log_probs [N,k], top_ids [N,k] (each row's k best), new_hidden
                   (format 1 folders had other decoder layouts under one number: re-export them)
    encoder.int8.onnx, decoder.int8.onnx   dynamic-int8 graphs when config.json "graphs" names them
    config.json    architecture (max_post_len, max_conv_len, max_tag_len: the limits the runtime
                   truncates and searches at), vocab sizes, special ids, preprocessing version,
                   language, "graphs", "quantization.default", dev metrics, "files" (sha256s)
    src_vocab.txt, tgt_vocab.txt   one token a line; line i is id i
    fusion.json, rerank.json, retrieval.json + retrieval.npz, tags.json   the other sources (optional)

The image folder's image.json is read by `inference.runtime.image_folder` through the same checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the decoder takes element_rows and k and ranks each row's k best itself
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.json"
IMAGE_CONFIG = "image.json"
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
LIMIT_KEYS = ("max_post_len", "max_conv_len", "max_tag_len")  # config.json "architecture"
REQUIRED_FILES = (SRC_VOCAB_FILE, TGT_VOCAB_FILE)  # graphs: whatever config.json "graphs" names
SRC_SPECIALS = {"pad": 0, "unk": 1}
TGT_SPECIALS = {"pad": 0, "bos": 1, "eos": 2, "unk": 3}


class InvalidModelFolder(ValueError):
    """A model folder that cannot be served: missing files, bad config, checksum mismatch, too new..."""


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
        return self.config["architecture"]["max_post_len"]

    @property
    def max_conv_len(self) -> int:
        return self.config["architecture"]["max_conv_len"]

    @property
    def max_tag_len(self) -> int:
        return self.config["architecture"]["max_tag_len"]


# -- files and checksums -----------------------------------------------------------------------------
_digests: dict[tuple, str] = {}  # (path, inode, size, mtime_ns) -> sha256: every loader checks the folder
_unmanifested: set[str] = set()  # folders already warned about


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cached_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        _digests[key] = sha256_file(path)
    return _digests[key]


def file_sha256(path: Path) -> str:
    """A file's sha256, computed once per (path, inode, size, mtime): a model folder's loaders have
    them already from verifying its manifest."""
    return _cached_sha256(Path(path))


def folder_files(path: Path) -> list[str]:
    """The files a manifest lists: every plain file but the manifest and hidden ones, sorted."""
    return sorted(f.name for f in path.iterdir() if f.is_file() and f.name != MANIFEST_FILE and not f.name.startswith("."))


def read_json_object(file: Path) -> dict:
    """A JSON object from `file`, or InvalidModelFolder naming it."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidModelFolder(f"model folder {file.parent} lacks {file.name}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidModelFolder(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidModelFolder(f"{file} must hold a JSON object")
    return data


def check_checksums(path: Path, expected: dict, source: str) -> None:
    """Each named file is present and has the sha256 `source` (manifest.json, config.json...) gives."""
    for name, digest in expected.items():
        file = path / name
        if not file.is_file():
            raise InvalidModelFolder(f"{path}: {source} lists {name} but the file is missing")
        actual = _cached_sha256(file)
        if actual != digest:
            raise InvalidModelFolder(f"{path}: checksum mismatch for {name} (sha256 {actual[:12]}…, {source} says "
                                     f"{str(digest)[:12]}…): the file changed after export")


def check_format(path: Path, version: object, readable: tuple[int, ...], source: str) -> int:
    """`version` (from `source`) is one this tagsmith reads; a newer or older one says what to do."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidModelFolder(f"{path}: {source} format_version must be a whole number >= 1, got {version!r}")
    if version > max(readable):
        raise InvalidModelFolder(f"{path}: model folder format_version {version} is not supported: it was written "
                                 f"by a newer tagsmith (this one reads {list(readable)}); upgrade tagsmith")
    if version not in readable:
        raise InvalidModelFolder(f"{path}: model folder format_version {version} is not supported "
                                 f"(this tagsmith reads {list(readable)}); re-export the model")
    return version


def verify_folder(path: str | Path, readable: tuple[int, ...] = (FORMAT_VERSION,)) -> int | None:
    """Check `path` against its manifest.json: a readable format, every file listed, present and
    unchanged. Returns the manifest's format version, None when the folder has no manifest."""
    path = Path(path)
    if not (path / MANIFEST_FILE).is_file():
        if str(path) not in _unmanifested:
            _unmanifested.add(str(path))
            log.warning("%s has no %s: only the files its config names are checksummed", path, MANIFEST_FILE)
        return None
    manifest = read_json_object(path / MANIFEST_FILE)
    version = check_format(path, manifest.get("format_version"), readable, MANIFEST_FILE)
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise InvalidModelFolder(f"{path / MANIFEST_FILE}: 'files' must map file names to sha256 strings")
    unlisted = [name for name in folder_files(path) if name not in files]
    if unlisted:
        raise InvalidModelFolder(f"{path}: {', '.join(unlisted)} not in {MANIFEST_FILE} (a file added after "
                                 "export: remove it, or re-run export/folder_manifest.py)")
    check_checksums(path, files, MANIFEST_FILE)
    return version


def check_same_format(path: Path, manifest_version: int | None, config_version: int, config_name: str) -> None:
    if manifest_version is not None and manifest_version != config_version:
        raise InvalidModelFolder(f"{path}: {MANIFEST_FILE} says format_version {manifest_version}, {config_name} says "
                                 f"{config_version}: re-run export/folder_manifest.py")


# -- the language folder ---------------------------------------------------------------------------------
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


def _check_config(path: Path, config: dict) -> None:
    """config.json's keys, types, format, preprocessing version, special ids and limits."""
    absent = [k for k in REQUIRED_KEYS if k not in config]
    if absent:
        raise InvalidModelFolder(f"{path / CONFIG_FILE} lacks required keys: {', '.join(absent)}")
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(config[key], kind) or (kind is int and isinstance(config[key], bool)):
            raise InvalidModelFolder(f"{path / CONFIG_FILE}: {key!r} must be a {kind.__name__}, got {config[key]!r}")
    check_format(path, config["format_version"], (FORMAT_VERSION,), CONFIG_FILE)
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
    for key in LIMIT_KEYS:
        value = config["architecture"].get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidModelFolder(f"{path / CONFIG_FILE}: architecture {key!r} must be a whole number >= 1, got {value!r}")


def _check_graphs(path: Path, config: dict) -> None:
    """Every precision's encoder and decoder are named, checksummed in "files" and present."""
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


def _check_vocabs(path: Path, config: dict, src_vocab: list[str], tgt_vocab: list[str]) -> None:
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


def load_model_folder(path: str | Path, verify_checksums: bool = True) -> ModelFolder:
    """Read and validate a language folder; raise InvalidModelFolder with a clear message if it is bad."""
    path = Path(path)
    if not path.is_dir():
        raise InvalidModelFolder(f"model folder {path} does not exist or is not a directory")
    manifest_version = verify_folder(path) if verify_checksums else None
    missing = [name for name in (CONFIG_FILE, *REQUIRED_FILES) if not (path / name).is_file()]
    if missing:
        raise InvalidModelFolder(f"model folder {path} lacks {', '.join(missing)}")
    config = read_json_object(path / CONFIG_FILE)
    _check_config(path, config)
    check_same_format(path, manifest_version, config["format_version"], CONFIG_FILE)
    _check_graphs(path, config)
    if verify_checksums and manifest_version is None:  # no manifest: the exporter's own checksums
        check_checksums(path, config["files"], CONFIG_FILE)
    src_vocab = read_vocab(path / SRC_VOCAB_FILE)
    tgt_vocab = read_vocab(path / TGT_VOCAB_FILE)
    _check_vocabs(path, config, src_vocab, tgt_vocab)
    return ModelFolder(
        path=path,
        config=config,
        src_vocab=src_vocab,
        tgt_vocab=tgt_vocab,
        src_index={token: i for i, token in enumerate(src_vocab)},
    )
