"""``distillery run <service>`` is the service's process: it imports only what the service needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from distillery_cli.entry import run

RUN_WITHOUT_SERVING = (
    "import sys\n"
    "import distillery_runtime.entrypoint as entrypoint\n"
    "entrypoint.run_service = lambda build: print(sorted(m for m in ('torch', 'distillery_cli.main', 'spacy')\n"
    "                                                 if sys.modules.get(m) is not None))\n"
    "sys.argv = ['distillery', 'run', 'cleaner']\n"
    "from distillery_cli.entry import run\n"
    "run()\n"
)


def test_run_imports_the_service_without_the_command_line_or_pytorch():
    shown = subprocess.run([sys.executable, "-c", RUN_WITHOUT_SERVING], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    # spaCy is imported by the cleaner's own modules, PyTorch never (hidden), nor the whole command line.
    assert shown.stdout.strip() == "['spacy']"


def test_an_unknown_service_is_one_line_naming_the_installed_ones(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["distillery", "run", "cleanr"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    shown = capsys.readouterr().err
    assert shown.startswith("error: unknown service 'cleanr'; installed services: ")
    assert "cleaner" in shown and len(shown.strip().splitlines()) == 1


def test_every_other_command_is_the_whole_command_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["distillery", "run", "--help"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 0
    assert "Run one service in the foreground" in capsys.readouterr().out
