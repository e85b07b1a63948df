"""Personal data a caller may speak: phone numbers, emails, card numbers and IBANs.

Card numbers pass the Luhn check and IBANs the ISO 13616 mod-97 check, so a cleaner that
validates what it redacts still recognises them.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

PII_KINDS = ("phone", "email", "card", "iban")

_SENTENCES = {
    "phone": ("You can reach me on {value}.", "My mobile is {value} if you need it."),
    "email": ("My email is {value}.", "You could send the details to {value}."),
    "card": ("I'd pay the deposit by card, the number is {value}.",
             "My card number is {value} if you need it for the deposit."),
    "iban": ("For refunds my IBAN is {value}.", "My bank account for refunds is {value}."),
}
_MAIL_DOMAINS = ("gmail.com", "eircom.net", "outlook.ie", "yahoo.co.uk")
_BANKS = ("AIBK", "BOFI", "IPBS", "ULSB")


@dataclass(frozen=True)
class PiiItem:
    """One piece of personal data a caller spoke: its kind, exact value and sentence."""

    kind: str
    value: str
    sentence: str


def spoken_pii(rng: random.Random, caller_name: str) -> PiiItem:
    kind = rng.choice(PII_KINDS)
    value = {
        "phone": _phone,
        "email": lambda r: _email(r, caller_name),
        "card": _card,
        "iban": _iban,
    }[kind](rng)
    sentence = rng.choice(_SENTENCES[kind]).format(value=value)
    return PiiItem(kind, value, sentence)


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("083", "085", "086", "087", "089"))
    number = f"{rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return rng.choice((f"{prefix} {number}", f"+353 {prefix[1:]} {number}"))


def _email(rng: random.Random, caller_name: str) -> str:
    local = caller_name.lower().replace("'", "").replace(" ", rng.choice((".", "_", "")))
    return f"{local}{rng.randint(1, 99)}@{rng.choice(_MAIL_DOMAINS)}"


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits + check` pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    prefix = rng.choice(("4", "51", "52", "53", "54", "55"))
    body = prefix + "".join(rng.choice(string.digits) for _ in range(15 - len(prefix)))
    number = body + luhn_check_digit(body)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits for a country code and basic bank account number."""
    rearranged = bban + country + "00"
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def _iban(rng: random.Random) -> str:
    bban = rng.choice(_BANKS) + "".join(rng.choice(string.digits) for _ in range(14))
    iban = "IE" + iban_check_digits("IE", bban) + bban
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
