"""Token prices (USD per million tokens), extendable with `--pricing FILE`.

Prices change; the defaults are a convenience, not a promise. A model missing from the table
costs 0 and the run says so rather than inventing a number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from reev.errors import InputError


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1e6


DEFAULT_PRICES: dict[str, Price] = {
    "glm-4.6": Price(0.60, 2.20),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "anthropic/claude-sonnet-4": Price(3.00, 15.00),
}


class PricingError(InputError):
    pass


class PriceTable:
    def __init__(self, prices: dict[str, Price] | None = None):
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)

    def price(self, model: str) -> Price | None:
        return self.prices.get(model)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        price = self.price(model)
        return price.cost(input_tokens, output_tokens) if price else 0.0

    def extend_from_file(self, path: Path) -> None:
        """YAML or JSON: `{model: {input: USD per 1M, output: USD per 1M}}`."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PricingError(f"{path}: cannot read pricing: {exc}") from None
        if not isinstance(data, dict):
            raise PricingError(f"{path}: expected a mapping of model → {{input, output}}")
        for model, entry in data.items():
            try:
                self.prices[str(model)] = Price(float(entry["input"]), float(entry["output"]))
            except (TypeError, KeyError, ValueError):
                raise PricingError(
                    f"{path}: {model}: expected {{input: <USD per 1M>, output: <USD per 1M>}}, got {json.dumps(entry)}"
                ) from None
