"""The clinic's booking system behind the two function tools the voice agent may call.

Deterministic: the same arguments always give the same slots and the same reference, so
a simulated call, a replayed call and the OpenAI sandbox all see the same world.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from distillery_sandbox.workload.knowledge import WEEKDAYS, KnowledgeBase


def tool_definitions(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The OpenAI `tools` list the agent is given on every call."""
    services = [service.key for service in kb.services]
    doctors = [doctor.name for doctor in kb.doctors]
    return [
        {
            "type": "function",
            "function": {
                "name": "check_availability",
                "description": "List free appointment times for a service on a weekday.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "service": {"type": "string", "enum": services},
                        "weekday": {"type": "string", "enum": list(WEEKDAYS)},
                        "doctor": {"type": "string", "enum": doctors},
                    },
                    "required": ["service", "weekday"],
                    "additionalProperties": False,
                },
            },
        },
        {
            "type": "function",
            "function": {
                "name": "book_appointment",
                "description": (
                    "Book a free time found with check_availability; give replaces_reference "
                    "to move an existing appointment instead."
                ),
                "parameters": {
                    "type": "object",
                    "properties": {
                        "service": {"type": "string", "enum": services},
                        "weekday": {"type": "string", "enum": list(WEEKDAYS)},
                        "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                        "doctor": {"type": "string", "enum": doctors},
                        "patient_name": {"type": "string"},
                        "replaces_reference": {"type": "string"},
                    },
                    "required": ["service", "weekday", "time"],
                    "additionalProperties": False,
                },
            },
        },
    ]


def run_tool(kb: KnowledgeBase, name: str, arguments: str | dict[str, Any]) -> dict[str, Any]:
    """Execute one tool call; problems come back as {"error": ...} for the model to read."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            return {"error": f"arguments are not valid JSON: {exc.msg}"}
    if not isinstance(arguments, dict):
        return {"error": "arguments must be a JSON object"}
    tools = {"check_availability": check_availability, "book_appointment": book_appointment}
    if name not in tools:
        return {"error": f"unknown tool {name!r}; available: {', '.join(tools)}"}
    try:
        return tools[name](kb, **arguments)
    except (TypeError, ValueError) as exc:
        return {"error": str(exc)}


def check_availability(
    kb: KnowledgeBase, service: str, weekday: str, doctor: str | None = None
) -> dict[str, Any]:
    """Three free start times for the service on that weekday, or why there are none."""
    offered = kb.service(service)
    day = kb.hours_on(weekday)
    label = weekday.capitalize()
    if day.closed:
        return {"available": False, "service": service, "weekday": weekday,
                "reason": f"The clinic is closed on {label}."}
    clinicians = [d for d in kb.doctors_for(offered, weekday) if doctor in (None, d.name)]
    if not clinicians:
        who = doctor or f"a {offered.specialty} clinician"
        return {"available": False, "service": service, "weekday": weekday,
                "reason": f"{who} does not see patients on {label}."}
    clinician = clinicians[_stable_int(service, weekday) % len(clinicians)]
    starts = _start_times(day.opens, day.closes, offered.duration_minutes)
    picks = sorted(sorted(starts, key=lambda start: _stable_int(service, weekday, start))[:3])
    return {
        "available": True,
        "service": service,
        "weekday": weekday,
        "doctor": clinician.name,
        "slots": picks,
        "duration_minutes": offered.duration_minutes,
        "price": kb.price_text(offered),
    }


def book_appointment(
    kb: KnowledgeBase,
    service: str,
    weekday: str,
    time: str,
    doctor: str | None = None,
    patient_name: str | None = None,
    replaces_reference: str | None = None,
) -> dict[str, Any]:
    """Confirm a booking (or a move of an existing one) with a reference number."""
    offered = kb.service(service)
    day = kb.hours_on(weekday)
    if day.closed or not (day.opens <= time < day.closes):
        return {"error": f"{time} is outside opening hours on {weekday.capitalize()}."}
    clinicians = [d for d in kb.doctors_for(offered, weekday) if doctor in (None, d.name)]
    if not clinicians:
        return {"error": f"No clinician for {offered.name} on {weekday.capitalize()}."}
    clinician = clinicians[_stable_int(service, weekday) % len(clinicians)]
    reference = f"LH-{_stable_int(service, weekday, time, patient_name or '') % 9000 + 1000}"
    result = {
        "status": "rescheduled" if replaces_reference else "confirmed",
        "reference": reference,
        "service": service,
        "weekday": weekday,
        "time": time,
        "doctor": clinician.name,
        "price": kb.price_text(offered),
    }
    if patient_name:
        result["patient_name"] = patient_name
    if replaces_reference:
        result["replaces_reference"] = replaces_reference
    return result


def _start_times(opens: str, closes: str, duration: int) -> list[str]:
    first, last = _minutes(opens), _minutes(closes) - duration
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(first + 30, last + 1, 30)]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _stable_int(*parts: str) -> int:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")
