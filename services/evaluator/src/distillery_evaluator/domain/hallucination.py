"""The deterministic hallucination checker: claims in an answer that the reference lacks.

The reference is everything the answer may rightly draw on: the item's ground-truth
facts, a reference answer, and what the conversation itself established (what the
caller said, what tools returned). A claim with no equivalent there is a finding: a
*contradiction* when the reference states something of the same kind (another price,
another time), otherwise *unsupported* (an invented phone number, an added doctor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from distillery_evaluator.domain.claims import Claim, extract_claims

_COMPATIBLE = {
    "price": ("price", "number"),
    "number": ("number", "price"),
}


@dataclass(frozen=True)
class Finding:
    """One claim of the answer that the reference does not back."""

    kind: str
    claim: str
    verdict: str
    """"contradicts", "unsupported", or "impossible" (a date no calendar has)."""
    reference_values: tuple[str, ...] = ()
    """What the reference says for that kind (shown in reports), at most a few."""

    def describe(self) -> str:
        if self.verdict == "impossible":
            return f"{self.kind} '{self.claim}' is not on the calendar"
        if self.reference_values:  # what a contradiction is checked against
            said = ", ".join(self.reference_values)
            return f"{self.kind} '{self.claim}' contradicts the reference ({said})"
        return f"{self.kind} '{self.claim}' is not in the reference"


@dataclass(frozen=True)
class CheckResult:
    """The checker's verdict on one answer."""

    findings: tuple[Finding, ...] = ()
    claims_checked: int = 0

    @property
    def hallucinated(self) -> bool:
        return bool(self.findings)

    @property
    def score(self) -> float:
        """1.0 when any claim is unbacked, else 0.0 (the rate counts answers, not claims)."""
        return 1.0 if self.findings else 0.0


@dataclass
class Reference:
    """The ground truth an answer is checked against, as texts."""

    facts: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def claims(self) -> list[Claim]:
        return [c for text in (*self.facts, *self.texts) for c in extract_claims(text)]


def check_answer(answer: str, reference: Reference) -> CheckResult:
    """Check every claim of ``answer`` against ``reference``."""
    claimed = extract_claims(answer)
    known = reference.claims()
    findings = tuple(
        finding for claim in claimed if (finding := _judge_claim(claim, known)) is not None
    )
    return CheckResult(findings=findings, claims_checked=len(claimed))


def _judge_claim(claim: Claim, known: list[Claim]) -> Finding | None:
    if not claim.values:  # a date no calendar has: backed only by the reference saying it too
        said = " ".join(claim.text.lower().split())
        if any(not k.values and " ".join(k.text.lower().split()) == said for k in known if k.kind == claim.kind):
            return None
        return Finding(claim.kind, claim.text, "impossible")
    kinds = _COMPATIBLE.get(claim.kind, (claim.kind,))
    candidates = [k for k in known if k.kind in kinds]
    if any(_agrees(claim, other) for other in candidates):
        return None
    same_kind = [k.text for k in known if k.kind == claim.kind]
    if same_kind:
        return Finding(claim.kind, claim.text, "contradicts", tuple(dict.fromkeys(same_kind))[:4])
    return Finding(claim.kind, claim.text, "unsupported")


def _agrees(claim: Claim, other: Claim) -> bool:
    """Whether ``other`` backs ``claim``: a claim of another kind only ever meets it as a price
    and a bare number (``_COMPATIBLE``), which agree on their amount."""
    if claim.kind != other.kind:
        return bool(_amounts(claim.values) & _amounts(other.values))
    if claim.kind == "phone":
        return any(_same_phone(a[1], b[1]) for a in claim.values for b in other.values)
    if claim.kind == "date":
        return any(_same_date(a, b) for a in claim.values for b in other.values)
    if claim.kind == "price":
        return bool(_prices(claim.values) & _prices(other.values))
    return bool(claim.values & other.values)


def _prices(values: Iterable[tuple]) -> set[tuple]:
    """Amount and currency: every price names its currency ("$120" = "120 dollars" = "USD 120")."""
    return {v for v in values if v[0] == "price"}


def _amounts(values: Iterable[tuple]) -> set[tuple]:
    return {v for v in values if v[0] == "amount"}


def _same_date(a: tuple, b: tuple) -> bool:
    return a[1:3] == b[1:3] and (a[3] is None or b[3] is None or a[3] == b[3])


def _same_phone(a: str, b: str) -> bool:
    """Equal up to a trunk prefix or country code: +353 1 555 0142 = 01 555 0142."""
    short, long_ = sorted((a.lstrip("0"), b.lstrip("0")), key=len)
    return len(short) >= 7 and long_.endswith(short)
