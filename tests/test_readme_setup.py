"""The README answers a new user's first questions, and its answers match the project's files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from inference.evaluation.readers import read_records

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
SETUP = README.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
BOTS = README.split("## Discord bot", 1)[1].split("\n## ", 1)[0]


def test_the_setup_names_the_python_pyproject_requires_and_how_to_get_it_on_ubuntu_22_04():
    required = re.search(r'requires-python = ">=(3\.\d+)"', PYPROJECT).group(1)
    assert f"Python {required} or newer" in SETUP
    assert "Ubuntu 22.04 ships" in SETUP and f"python{required} -m venv" in SETUP


def test_the_setup_says_macos_and_arm_get_the_cpu_onnxruntime_as_pyproject_does():
    assert "sys_platform == 'darwin'" in PYPROJECT and "platform_machine != 'x86_64'" in PYPROJECT
    assert "macOS and ARM Linux" in SETUP and "CPU `onnxruntime`" in SETUP


def test_the_bots_install_into_the_setup_venv_and_may_run_keyless_locally():
    assert ".venv/bin/pip install -e '.[bots]'" in BOTS  # the venv of the set-up commands
    assert "`TAGSMITH_API_KEY` may be left out" in BOTS and "keyless" in BOTS


def test_the_predict_fields_the_readme_lists_are_the_ones_it_reads(tmp_path):
    for field in ('"post"', '"text"', '"thread"', '"image"', '"lang"', '"id"'):
        assert field in README.split("`predict` reads JSONL", 1)[1][:600], field
    (tmp_path / "photo.jpg").write_bytes(b"")
    lines = [{"text": "via text", "thread": "one reply", "image": "photo.jpg", "lang": "en", "id": "a"}, {"post": "via post"}]
    (tmp_path / "posts.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    first, second = read_records(tmp_path / "posts.jsonl", "jsonl")
    assert (first["post"], first["thread"], first["lang"], first["id"]) == ("via text", ["one reply"], "en", "a")
    assert first["image"] == str((tmp_path / "photo.jpg").resolve())
    assert (second["post"], second["id"]) == ("via post", "posts-1")
