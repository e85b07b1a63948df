"""Cleaning text outside a cleaner's own process (``distillery clean``, a test session) loads
neither PyTorch nor transformers, though they are installed beside it, and leaves them importable."""

from __future__ import annotations

import subprocess
import sys


# The one environment ``make setup`` makes holds the trainer's torch and transformers, as
# shared/tests/test_imports.py also assumes: the test imports transformers at its end.
def test_the_redactor_loads_neither_torch_nor_transformers_and_they_stay_importable() -> None:
    # A fresh interpreter: this test session may have imported them already.
    script = (
        "import sys\n"
        "from distillery_cleaner.domain.config import PiiConfig\n"
        "from distillery_cleaner.domain.pii import PiiRedactor\n"
        "redacted = PiiRedactor(PiiConfig()).redact('My name is Oisin Ryan, card 4111 1111 1111 1111')[0]\n"
        "print(redacted, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
        "import transformers\n"
        "print(transformers.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["My name is <PERSON>, card <CARD> False False", "transformers"]
