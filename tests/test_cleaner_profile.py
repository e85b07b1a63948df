"""`bench_cleaner.py --profile` sums py-spy's samples by stage: each sample in the one stage
its stack belongs to, a waiting thread in none."""

from __future__ import annotations

from file_modules import bench_module

cleaner_profile = bench_module("cleaner_profile")

MAIN = ("_run_module_as_main (<frozen runpy>:198);<module> (distillery_cleaner/__main__.py:3);"
        "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)")
CONSUME = (f"{MAIN};LogicSubscriber._run_consume_loop (faststream/kafka/subscriber/usecase.py:342);"
           "Pipeline.on_batch (distillery_runtime/kafka.py:264)")
THREAD = "Thread._bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:83)"
RAW = f"""\
{THREAD};Cleaner.prime (distillery_cleaner/domain/screen.py:95);PiiRedactor.find_many (distillery_cleaner/domain/pii.py:181);Patterns.analyze (distillery_cleaner/domain/recognisers.py:117) 30
{THREAD};Cleaner.prime (distillery_cleaner/domain/screen.py:95);PiiRedactor.find_many (distillery_cleaner/domain/pii.py:183);SpacyNlpEngine.process_batch (presidio_analyzer/nlp_engine/spacy_nlp_engine.py:90);Language.pipe (spacy/language.py:1620) 20
{CONSUME};BatchProcessor.prepare (distillery_runtime/consumer.py:162);ScreenedAhead.screen (distillery_cleaner/services.py:131);Cleaner.screen (distillery_cleaner/domain/screen.py:110);Tokenizer.count (distillery_runtime/tokens.py:85) 20
{CONSUME};BatchProcessor.prepare (distillery_runtime/consumer.py:162);BatchProcessor.decode (distillery_runtime/consumer.py:193);BaseModel.model_validate_json (pydantic/main.py:746) 10
{CONSUME};BatchProcessor.apply (distillery_runtime/consumer.py:184);publish_verdicts (distillery_cleaner/services.py:167);UnitOfWork.emit (distillery_runtime/uow.py:82);OutgoingMessage.of (distillery_runtime/outbox.py:90);BaseModel.model_dump_json (pydantic/main.py:477) 10
{MAIN};OutboxRelay.run (distillery_runtime/outbox.py:180);OutboxRelay._publish_batch (distillery_runtime/outbox.py:230) 5
{CONSUME};BatchProcessor.apply (distillery_runtime/consumer.py:184);of_type (distillery_runtime/consumer.py:133) 5
{MAIN};Fetcher._fetch_requests_routine (aiokafka/consumer/fetcher.py:450) 5
{MAIN};_SelectorSocketTransport.write (asyncio/selector_events.py:1057) 15
{MAIN};BaseEventLoop._run_once (asyncio/base_events.py:1884);EpollSelector.select (selectors.py:468) 400
{THREAD};Condition.wait (threading.py:327) 300
{THREAD} 200

"""


def test_each_busy_sample_counts_once_in_its_stage_and_waiting_threads_not_at_all():
    found, total = cleaner_profile.shares(RAW)
    assert total == 120
    assert found == {
        "personal data: patterns, phone numbers, rewriting": 30,
        "personal data: named entities (spaCy)": 20,
        "screening (filters, messages, tokens)": 20,
        "decoding traces.raw (pydantic)": 10,
        "verdicts as outbox rows (serialising)": 10,  # though OutgoingMessage lives in outbox.py
        "outbox relay (publishing)": 5,
        "the rest of a batch (runtime consumer, cleaner services)": 5,
        "broker client (aiokafka, faststream)": 5,
        "event loop and sockets (asyncio)": 15,  # not everything under the main module
    }


def test_the_table_lists_the_largest_stage_first_with_its_share():
    lines = cleaner_profile.table(RAW).splitlines()
    assert lines[0] == "   25.0%  personal data: patterns, phone numbers, rewriting"
    shares = [float(line.split("%")[0]) for line in lines]
    assert len(lines) == 9 and shares == sorted(shares, reverse=True) and round(sum(shares)) == 100
    assert cleaner_profile.table("") == "  no busy samples"
