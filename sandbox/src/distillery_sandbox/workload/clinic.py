"""The sandbox's reference clinic: the fictional Liffey Health Clinic in Dublin."""

from __future__ import annotations

from distillery_sandbox.workload.knowledge import (
    WEEKDAYS,
    DayHours,
    Doctor,
    KnowledgeBase,
    Policy,
    Service,
)


def default_knowledge_base() -> KnowledgeBase:
    """The fictional Liffey Health Clinic in Dublin, the sandbox's reference clinic."""
    weekday_hours = [DayHours(day, "08:00", "19:00") for day in WEEKDAYS[:4]]
    return KnowledgeBase(
        clinic_name="Liffey Health Clinic",
        address="14 Ormond Quay Upper, Dublin 7, D07 X2F3",
        phone="+353 1 555 0142",
        directions=(
            "Take the Luas red line to the Four Courts stop; the clinic is two minutes' "
            "walk along the quay."
        ),
        parking="There is no private parking; the Jervis Street car park is five minutes away.",
        hours=(
            *weekday_hours,
            DayHours("friday", "08:00", "17:00"),
            DayHours("saturday", "09:00", "13:00"),
            DayHours("sunday", None, None),
        ),
        services=_SERVICES,
        doctors=(
            Doctor("Dr. Aoife Brennan", "general practice", ("monday", "tuesday", "thursday")),
            Doctor("Dr. Tomasz Nowak", "general practice", ("wednesday", "friday", "saturday")),
            Doctor("Dr. Priya Raman", "dermatology", ("tuesday", "thursday")),
            Doctor("Dr. Ciaran Doyle", "dentistry", ("monday", "wednesday", "friday")),
            Doctor("Dr. Elena Rossi", "physiotherapy", ("monday", "tuesday", "wednesday", "thursday")),
        ),
        insurers=("VHI", "Laya Healthcare", "Irish Life Health", "Level Health"),
        not_accepted_insurers=("Aviva", "Allianz Care"),
        policies=(
            Policy(
                "cancellation",
                "Appointments cancelled with less than 24 hours' notice are charged a €25 fee.",
            ),
            Policy("rescheduling", "Appointments can be moved free of charge up to 24 hours before."),
            Policy("booking", "Please arrive 10 minutes early and bring photo ID."),
            Policy("payment", "Payment is due at the visit, by card or cash."),
            Policy(
                "insurance",
                "The clinic bills accepted insurers directly; other patients pay and claim back.",
            ),
        ),
    )


_SERVICES: tuple[Service, ...] = (
    Service("general_consultation", "general consultation", 65, 20, "general practice",
            ("consultation", "check-up", "checkup", "see a gp", "see the gp", "see a doctor")),
    Service("extended_consultation", "extended consultation", 95, 40, "general practice",
            ("longer appointment", "long appointment", "extended")),
    Service("child_consultation", "child consultation", 45, 20, "general practice",
            ("my son", "my daughter", "my child", "my kid")),
    Service("flu_vaccination", "flu vaccination", 30, 10, "general practice",
            ("flu jab", "flu shot", "vaccination", "vaccine")),
    Service("blood_test", "blood test", 40, 15, "general practice",
            ("bloods", "blood work", "bloodwork")),
    Service("skin_check", "skin check", 90, 30, "dermatology",
            ("mole", "moles", "skin")),
    Service("dermatology_consultation", "dermatology consultation", 120, 30, "dermatology",
            ("dermatologist", "rash", "eczema")),
    Service("physiotherapy_session", "physiotherapy session", 70, 45, "physiotherapy",
            ("physio", "physiotherapist", "back pain", "knee")),
    Service("dental_checkup", "dental check-up", 60, 30, "dentistry",
            ("dentist", "dental checkup", "teeth checked")),
    Service("dental_cleaning", "dental cleaning", 85, 45, "dentistry",
            ("cleaning", "hygienist", "scale and polish")),
)
