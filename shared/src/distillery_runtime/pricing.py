"""What a model call or a fine-tuning run costs, in US dollars.

Prices are per 1M tokens, as OpenAI publishes them. The defaults are the figures in the
design's cost model; ``DISTILLERY_PRICES`` (a JSON object of model family to prices)
replaces or adds entries without a code change, for instance when OpenAI changes a price
or when an Azure deployment is billed differently.

Model names are resolved to a family before lookup: ``gpt-4o-mini-2024-07-18`` is priced as
``gpt-4o-mini``, and the fine-tuned ids ``ft:gpt-4o-mini-2024-07-18:org::abc`` (OpenAI) and
``gpt-4o-mini-2024-07-18.ft-0123abcd`` (Azure) as ``ft:gpt-4o-mini``. A name that resolves
to no entry raises :class:`UnknownPriceError`: guessing a price would make cost reports lie.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRICES_ENV = "DISTILLERY_PRICES"
PER_MILLION = 1_000_000

_OPENAI_FINE_TUNED = re.compile(r"^ft:(?P<base>[^:]+):")
_AZURE_FINE_TUNED = re.compile(r"^(?P<base>[^:]+?)\.ft-[0-9a-zA-Z]+$")
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


class UnknownPriceError(LookupError):
    """No price is configured for the model (or for the kind of use asked about)."""


@dataclass(frozen=True)
class ModelRef:
    """A model name reduced to what prices, limits and tokenizers depend on."""

    family: str
    """The undated base model, e.g. ``gpt-4o-mini`` for ``gpt-4o-mini-2024-07-18``."""
    fine_tuned: bool
    """True for a fine-tuned model built on ``family``."""

    @property
    def price_key(self) -> str:
        """The key of this model's entry in a :class:`PriceTable`."""
        return f"ft:{self.family}" if self.fine_tuned else self.family


def resolve_model(name: str) -> ModelRef:
    """Reduce a dated, fine-tuned or Azure fine-tuned model name to its family.

    Only a snapshot date (``-2024-07-18`` or ``-0613``) is stripped, so a different model
    that merely shares a prefix (``gpt-4o-mini-audio-preview``) keeps its own name and is
    not mistaken for ``gpt-4o-mini``.
    """
    cleaned = name.strip().lower()
    if not cleaned:
        raise ValueError("model name is empty")
    base = fine_tuned_base(cleaned)
    return ModelRef(family=_SNAPSHOT_SUFFIX.sub("", base or cleaned), fine_tuned=base is not None)


def fine_tuned_base(name: str) -> str | None:
    """The base model a fine-tuned id was trained on (OpenAI ``ft:<base>:…``, Azure
    ``<base>.ft-…``); None for a name that is not a fine-tune's."""
    for pattern in (_OPENAI_FINE_TUNED, _AZURE_FINE_TUNED):
        match = pattern.match(name)
        if match:
            return match.group("base")
    return None


_Entry = TypeVar("_Entry")


def family_entry(
    table: Mapping[str, _Entry], model: str, missing: type[Exception], what: str
) -> _Entry:
    """``table``'s entry for ``model``'s family, so dated and fine-tuned ids share their base's.

    A family without an entry raises ``missing`` naming the model, its family and the
    families the table knows: the usual cause is a typo or a model added upstream.
    """
    family = resolve_model(model).family
    try:
        return table[family]
    except KeyError:
        raise missing(
            f"no {what} for model {model!r} (family {family!r}); known: {', '.join(sorted(table))}"
        ) from None


class ModelPrice(BaseModel):
    """Prices of one model family, in USD per 1M tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per 1M uncached input (prompt) tokens.")
    cached_input: float | None = Field(
        default=None, ge=0, description="USD per 1M cached input tokens; None: billed as input."
    )
    output: float = Field(ge=0, description="USD per 1M output (completion) tokens.")
    training: float | None = Field(
        default=None,
        ge=0,
        description="USD per 1M training tokens (tokens x epochs); None: not fine-tunable here.",
    )


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4.1": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "gpt-4o-mini": ModelPrice(input=0.15, cached_input=0.075, output=0.60, training=3.00),
    "ft:gpt-4o-mini": ModelPrice(input=0.30, cached_input=0.15, output=1.20),
}


class PriceTable(BaseModel):
    """Prices by model family; see the module docstring for how names resolve."""

    model_config = ConfigDict(frozen=True)

    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))

    @classmethod
    def from_json(cls, text: str, base: Mapping[str, ModelPrice] | None = None) -> PriceTable:
        """Defaults (or ``base``) with the entries of a JSON object laid over them.

        Each entry replaces the whole entry of its family, for example
        ``{"gpt-4.1": {"input": 2, "cached_input": 0.5, "output": 8}}``.
        """
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{PRICES_ENV} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"{PRICES_ENV} must be a JSON object of model name to prices")
        merged = dict(DEFAULT_PRICES if base is None else base)
        for name, entry in raw.items():
            try:
                merged[resolve_model(name).price_key] = ModelPrice.model_validate(entry)
            except ValidationError as exc:
                raise ValueError(f"{PRICES_ENV}: bad prices for {name!r}: {_first_error(exc)}") from exc
        return cls(prices=merged)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PriceTable:
        """Defaults, overridden by ``DISTILLERY_PRICES`` when it is set."""
        text = (os.environ if environ is None else environ).get(PRICES_ENV, "").strip()
        return cls.from_json(text) if text else cls()

    def price_of(self, model: str) -> ModelPrice:
        """The prices that apply to calls to ``model``."""
        ref = resolve_model(model)
        try:
            return self.prices[ref.price_key]
        except KeyError:
            raise UnknownPriceError(
                f"no price for model {model!r} (looked up {ref.price_key!r}); "
                f"known: {', '.join(sorted(self.prices))}. Add it with {PRICES_ENV}."
            ) from None

    def cost_of_call(
        self, model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> float:
        """USD cost of one call; ``input_tokens`` includes the cached ones, as OpenAI reports it."""
        if min(input_tokens, output_tokens, cached_input_tokens) < 0:
            raise ValueError("token counts must not be negative")
        if cached_input_tokens > input_tokens:
            raise ValueError(
                f"cached_input_tokens ({cached_input_tokens}) exceeds input_tokens ({input_tokens})"
            )
        price = self.price_of(model)
        cached_rate = price.input if price.cached_input is None else price.cached_input
        dollars = (
            (input_tokens - cached_input_tokens) * price.input
            + cached_input_tokens * cached_rate
            + output_tokens * price.output
        )
        return dollars / PER_MILLION

    def training_cost(self, model: str, tokens: int, epochs: int) -> float:
        """USD cost of fine-tuning ``model`` on ``tokens`` tokens for ``epochs`` epochs.

        Training is billed at the base family's training price, also when ``model`` is an
        earlier fine-tune being trained further.
        """
        if tokens < 0 or epochs < 1:
            raise ValueError("tokens must be >= 0 and epochs >= 1")
        family = resolve_model(model).family
        price = self.prices.get(family)
        if price is None or price.training is None:
            raise UnknownPriceError(
                f"no training price for model {model!r} (family {family!r}); "
                f'add a "training" price for it with {PRICES_ENV}'
            )
        return tokens * epochs * price.training / PER_MILLION


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "entry"
    return f"{where}: {error['msg']}"
