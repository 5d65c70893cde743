"""`tagsmith discord` / `tagsmith telegram` fail with one sentence a person can act on: the bots extra
missing, or Telegram unreachable (no network), never a page of tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inference.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command, library", [("discord", "discord"), ("telegram", "telegram")])
def test_a_bot_without_the_bots_extra_says_how_to_install_it(command, library, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, library, None)  # as if not installed: importing it raises ModuleNotFoundError
    for name in [m for m in sys.modules if m.startswith(("bots.discord_bot", "bots.telegram"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("TELEGRAM_TOKEN", "1:x")
    assert main([command]) == 2
    assert "install the bots extra: pip install -e '.[bots]'" in capsys.readouterr().err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


def test_telegram_without_network_prints_one_line_saying_it_cannot_reach_telegram():
    token = "123456:AAnotarealtokenAAAAAAAAAAAAAAAAAAAAA"
    env = {**os.environ, "TELEGRAM_TOKEN": token, "TELEGRAM_BASE_URL": f"http://127.0.0.1:{closed_port()}/bot"}
    done = subprocess.run([sys.executable, "-m", "inference.cli", "telegram"], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output and token not in output
    errors = [line for line in output.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("error: cannot reach Telegram"), output
    assert len(output.splitlines()) <= 2, output  # the start-up line, then the error
