"""The simulated voice-AI workload: a clinic's appointment line.

Public API (also used by the OpenAI sandbox):

- `KnowledgeBase`, `default_knowledge_base()`, `Fact`, `KnowledgeBase.facts_for(intent)`:
  the ground truth.
- `classify_intent(text)`, `extract_slots(kb, text)`: reading a caller's turn.
- `teacher_answer(kb, messages, use_tools=True)`: the teacher's grounded assistant
  message; `answer_with_intent` also returns the intent it answered.
- `tool_definitions(kb)`, `run_tool(kb, name, arguments)`: the agent's two tools.
- `WorkloadConfig`, `DefectRates`, `simulate_calls(config)`: seeded production traffic.
- `estimate_tokens(text)`, `estimate_chat_tokens(messages, tools)`: ~4 characters a token.
"""

from distillery_sandbox.workload.backend import run_tool, tool_definitions
from distillery_sandbox.workload.clinic import default_knowledge_base
from distillery_sandbox.workload.defects import DEFECT_KINDS, DefectRates, Hallucination
from distillery_sandbox.workload.dialogue import DialogueState, read_state
from distillery_sandbox.workload.intents import Slots, classify_intent, extract_slots
from distillery_sandbox.workload.knowledge import (
    INTENTS,
    WEEKDAYS,
    DayHours,
    Doctor,
    Fact,
    KnowledgeBase,
    Policy,
    Service,
)
from distillery_sandbox.workload.pii import PII_KINDS, PiiItem
from distillery_sandbox.workload.records import (
    MODEL_PRICES_PER_MILLION,
    Cost,
    SimulatedCall,
    SimulatedGeneration,
    SimulatedScore,
    Usage,
    estimate_chat_tokens,
    estimate_tokens,
)
from distillery_sandbox.workload.simulate import WorkloadConfig, simulate_calls, system_prompt
from distillery_sandbox.workload.teacher import answer_with_intent, teacher_answer

__all__ = [
    "DEFECT_KINDS",
    "INTENTS",
    "MODEL_PRICES_PER_MILLION",
    "PII_KINDS",
    "WEEKDAYS",
    "Cost",
    "DayHours",
    "DefectRates",
    "DialogueState",
    "Doctor",
    "Fact",
    "Hallucination",
    "KnowledgeBase",
    "PiiItem",
    "Policy",
    "Service",
    "SimulatedCall",
    "SimulatedGeneration",
    "SimulatedScore",
    "Slots",
    "Usage",
    "WorkloadConfig",
    "answer_with_intent",
    "classify_intent",
    "default_knowledge_base",
    "estimate_chat_tokens",
    "estimate_tokens",
    "extract_slots",
    "read_state",
    "run_tool",
    "simulate_calls",
    "system_prompt",
    "teacher_answer",
    "tool_definitions",
]
