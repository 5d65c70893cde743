"""The README's commands are the ones the project really has."""

import re
from pathlib import Path

from inference.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced_commands(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    test_command = next(c for c in fenced_commands(README) if "pytest" in c)
    assert test_command in ci_lines


def test_the_readme_starts_with_the_two_setup_commands():
    setup = README.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    commands = fenced_commands(setup)
    assert len(commands) == 2
    assert any("tagsmith serve" in c for c in commands)
    assert any("pytest" in c for c in commands)
    assert all(c.startswith("python3 -m venv") for c in commands)


def test_every_tagsmith_command_in_the_readme_exists():
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    mentioned = set(re.findall(r"`tagsmith ([a-z][a-z-]*)", README)) | set(re.findall(r"bin/tagsmith ([a-z][a-z-]*)", README))
    assert mentioned, "the README shows no tagsmith command"
    assert mentioned <= set(subcommands), mentioned - set(subcommands)


def test_the_serving_install_does_not_ask_for_torch():
    pyproject = (ROOT / "pyproject.toml").read_text()
    base = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "torch" not in base
    assert '"torch==2.13.0"' in pyproject
