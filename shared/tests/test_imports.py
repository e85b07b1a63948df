"""A service process imports only what its package depends on: PyTorch and transformers, in the
shared development environment for the evaluator and the trainer, are hidden from the others."""

from __future__ import annotations

import subprocess
import sys

from distillery_runtime.imports import dependency_closure


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True)
    return done.stdout.strip()


def test_the_closure_follows_requirements_to_the_bottom():
    cleaner, evaluator = dependency_closure("distillery-cleaner"), dependency_closure("distillery_evaluator")
    assert {"distillery-cleaner", "presidio-analyzer", "spacy", "thinc", "distillery-runtime"} <= cleaner
    assert "torch" not in cleaner and "transformers" not in cleaner
    assert {"sentence-transformers", "torch", "transformers"} <= evaluator


def test_a_cleaner_process_runs_without_pytorch_and_still_finds_names():
    printed = run_python(
        "import sys\n"
        "from distillery_runtime.imports import hide_undeclared\n"
        "print(hide_undeclared('distillery-cleaner'))\n"
        "from distillery_cleaner.domain.config import PiiConfig\n"
        "from distillery_cleaner.domain.pii import PiiRedactor\n"
        "print(PiiRedactor(PiiConfig(ner=True)).redact('This is Siobhan Kavanagh calling')[0])\n"
        "print(sys.modules.get('torch') is None, sys.modules.get('transformers') is None)\n")
    assert printed.splitlines() == ["['torch', 'transformers']", "This is <PERSON> calling", "True True"]


def test_the_evaluator_keeps_pytorch_and_a_module_already_imported_is_left_alone():
    assert run_python("from distillery_runtime.imports import hide_undeclared\n"
                      "print(hide_undeclared('distillery-evaluator'))") == "[]"
    assert run_python("import json, transformers\nfrom distillery_runtime.imports import hide_undeclared\n"
                      "print(hide_undeclared('distillery-cleaner'))") == "['torch']"


def test_hidden_for_a_block_imports_again_after_it_unless_hidden_for_good_before():
    printed = run_python(
        "import sys\n"
        "from distillery_runtime.imports import undeclared_hidden\n"
        "with undeclared_hidden('distillery-cleaner') as hidden:\n"
        "    try:\n"
        "        import transformers\n"
        "    except ImportError:\n"
        "        print('hidden', hidden)\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
        "import transformers\n"
        "print(transformers.__name__)\n")
    assert printed.splitlines() == ["hidden ['torch', 'transformers']", "False False", "transformers"]
    assert run_python("import sys\n"
                      "from distillery_runtime.imports import hide_undeclared, undeclared_hidden\n"
                      "hide_undeclared('distillery-cleaner')\n"
                      "with undeclared_hidden('distillery-cleaner') as hidden:\n"
                      "    pass\n"
                      "print(hidden, sys.modules['torch'], sys.modules['transformers'])") == "[] None None"
