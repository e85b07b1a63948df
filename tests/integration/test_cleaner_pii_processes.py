"""Personal-data detection in worker processes: the same findings as in the service's own
process, nothing lost when a worker dies, no worker outliving its service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distillery_cleaner.adapters.pii_processes import PiiProcesses
from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.pii import PiiRedactor
from distillery_cleaner.metrics import PII_PROCESS_DEATHS, PII_PROCESSES
from distillery_cleaner.pii_evaluation import load_utterances

pytestmark = pytest.mark.integration

CONFIG = PiiConfig(allow=("+353 1 555 0142", "Dr Amara Okafor"))
TEXTS = [u.text for u in load_utterances("all")] + [
    '{"patient": {"name": "Siobhan Kelly", "dob": "1984-03-02", "phone": "087 123 4567"}}',
    "Hi, this is Siobhan Kelly. Dr Okafor said to ring the clinic on +353 1 555 0142.",
]


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    return PiiRedactor(CONFIG)


@pytest.fixture(scope="module")
def workers(redactor):
    pool = PiiProcesses(CONFIG, 2, fallback=redactor)
    pool.start()
    yield pool
    pool.close()


def worker_pids() -> list[int]:
    """This process's spawned multiprocessing workers, as the operating system lists its children."""
    # Each thread lists the children it started: a pool starts its workers from the thread that calls it.
    children = {c for task in Path(f"/proc/{os.getpid()}/task").iterdir() for c in _read(task / "children").split()}
    return sorted(pid for pid in map(int, children) if b"spawn_main" in _read_bytes(Path(f"/proc/{pid}/cmdline")))


def _read(path: Path) -> str:
    return _read_bytes(path).decode()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:  # ended meanwhile
        return b""


def test_the_workers_find_exactly_what_the_service_finds_itself_in_the_same_order(workers, redactor):
    known, read = redactor.sentences_known, redactor.sentences_read
    in_workers = workers.find_many(TEXTS)
    # The workers' sentence counts come back to the service's redactor (its metric's source).
    assert redactor.sentences_known == known and redactor.sentences_read - read >= len(TEXTS) - 1
    assert in_workers == redactor.find_many(TEXTS)
    assert sum(map(len, in_workers)) > 100  # the labelled utterances are full of personal data
    assert PII_PROCESSES._value.get() == 2


def test_a_redactor_priming_through_the_workers_redacts_as_it_does_alone(workers, redactor):
    through_workers = PiiRedactor(CONFIG)
    through_workers.find_new = workers.find_many
    through_workers.prime(TEXTS)
    assert [through_workers.redact(t) for t in TEXTS] == [redactor.redact(t) for t in TEXTS]
    placeholder, counts = through_workers.redact(TEXTS[-1])
    assert "Siobhan" not in placeholder and "555 0142" in placeholder and dict(counts) == {"PERSON": 1}


def test_the_workers_load_neither_pytorch_nor_more_than_the_cleaner_needs(workers):
    pids = worker_pids()
    assert len(pids) >= 2
    for pid in pids:
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libtorch" not in maps, f"worker {pid} loaded PyTorch"
        assert "en_core_web_sm" in maps or "thinc" in maps or "spacy" in maps, "the worker has no pipeline"


def test_a_worker_that_dies_loses_no_text_and_new_workers_take_over(redactor):
    pool = PiiProcesses(CONFIG, 1, fallback=redactor)
    try:
        [first] = pool.start()
        deaths = PII_PROCESS_DEATHS._value.get()
        os.kill(first, signal.SIGKILL)
        assert pool.find_many(TEXTS) == redactor.find_many(TEXTS)  # analysed here meanwhile
        assert PII_PROCESS_DEATHS._value.get() == deaths + 1
        [second] = pool.start()  # at once after a first death
        assert second != first and pool.restarts == 1
        assert pool.find_many(TEXTS[:40]) == redactor.find_many(TEXTS[:40])
    finally:
        pool.close()
    assert pool.find_many(TEXTS[:3]) == redactor.find_many(TEXTS[:3])  # stopped: found in this process


def test_workers_that_keep_dying_are_restarted_after_a_backoff_and_the_service_finds_meanwhile(redactor):
    others = set(worker_pids())  # the module's pool

    def its_workers() -> list[int]:
        return [pid for pid in worker_pids() if pid not in others and _alive(pid)]

    pool = PiiProcesses(CONFIG, 1, fallback=redactor, backoff_s=2.0)
    try:
        [first] = pool.start()
        os.kill(first, signal.SIGKILL)
        assert pool.find_many(TEXTS[:40]) == redactor.find_many(TEXTS[:40])
        [second] = pool.start()
        os.kill(second, signal.SIGKILL)  # a second death in a row: no new workers for 2 s
        assert pool.find_many(TEXTS[:40]) == redactor.find_many(TEXTS[:40])
        assert pool.find_many(TEXTS[:40]) == redactor.find_many(TEXTS[:40])
        assert pool.restarts == 1 and not its_workers()
        assert PII_PROCESSES._value.get() == 0
        time.sleep(2.1)
        assert pool.find_many(TEXTS[:40]) == redactor.find_many(TEXTS[:40])  # in new workers
        assert pool.restarts == 2 and its_workers()
    finally:
        pool.close()


def test_workers_exit_when_their_service_is_killed(tmp_path):
    script = tmp_path / "service.py"
    script.write_text(
        "import json, time\n"
        "from distillery_cleaner.adapters.pii_processes import PiiProcesses\n"
        "from distillery_cleaner.domain.config import PiiConfig\n"
        "from distillery_cleaner.domain.pii import PiiRedactor\n"
        "if __name__ == '__main__':\n"
        "    config = PiiConfig(ner=False)\n"
        "    pool = PiiProcesses(config, 2, fallback=PiiRedactor(config))\n"
        "    print(json.dumps(pool.start()), flush=True)\n"
        "    time.sleep(600)\n")
    service = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(service.stdout.readline())
        assert len(pids) == 2 and all(Path(f"/proc/{pid}").exists() for pid in pids)
        service.kill()
        service.wait()
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in pids), "a worker outlived its service"
    finally:
        service.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
