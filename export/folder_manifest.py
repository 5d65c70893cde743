"""Write a model folder's manifest.json: its format version and every file's sha256.

    write_manifest(folder)      # the last step of every tool that writes into a model folder
    python -m export.folder_manifest inference/models/en inference/models/zh inference/models/image

The format version is the one the folder's config.json or image.json states; the runtime
(`inference.runtime.model_folder.verify_folder`) refuses a folder whose files differ from the manifest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inference.runtime.model_folder import (CONFIG_FILE, FORMAT_VERSION, IMAGE_CONFIG, MANIFEST_FILE, folder_files,
                                            read_json_object, sha256_file)


def folder_format(folder: Path) -> int:
    """image.json's format_version (1 when absent) or config.json's (FORMAT_VERSION for a
    retrieval-only folder whose config names none)."""
    if (folder / IMAGE_CONFIG).is_file():
        return int(read_json_object(folder / IMAGE_CONFIG).get("format_version", 1))
    config = read_json_object(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() else {}
    return int(config.get("format_version", FORMAT_VERSION))


def write_manifest(folder: Path) -> None:
    """(Re)write `folder`/manifest.json from the files now in the folder."""
    folder = Path(folder)
    manifest = {"format_version": folder_format(folder), "files": {name: sha256_file(folder / name) for name in folder_files(folder)}}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.folder_manifest", description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    for folder in parser.parse_args(argv).folders:
        write_manifest(folder)
        print(f"wrote {folder / MANIFEST_FILE}")


if __name__ == "__main__":
    main()
