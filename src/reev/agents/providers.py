"""Model providers: one table, every entry an OpenAI-compatible endpoint.

An agent name resolves to (provider, model, base URL, key variable): `glm-4.6`,
`glm-4.6-coding`, `openai/<model>`, `openrouter/<model>`, `local/<model>`. `--base-url`,
`--model` and `--api-key-env` override any of them. Keys are read from the environment at the
moment a client is built, and only the *name* of the variable is ever recorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from reev.errors import InputError


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str | None
    api_key_env: str | None  # None: no key needed (local servers)
    base_url_env: str | None = None  # an environment variable that overrides base_url
    default_model: str | None = None
    model_in_name: bool = False  # "openai/<model>": the model follows the slash
    description: str = ""


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "glm-4.6",
            "https://api.z.ai/api/paas/v4",
            "ZAI_API_KEY",
            default_model="glm-4.6",
            description="Z.ai GLM-4.6",
        ),
        Provider(
            "glm-4.6-coding",
            "https://api.z.ai/api/coding/paas/v4",
            "GLM_CODING_API_KEY",
            default_model="glm-4.6",
            description="Z.ai GLM-4.6, coding-plan endpoint",
        ),
        Provider(
            "openai",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
            model_in_name=True,
            description="OpenAI (openai/<model>)",
        ),
        Provider(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            model_in_name=True,
            description="OpenRouter (openrouter/<vendor>/<model>)",
        ),
        Provider(
            "local",
            "http://localhost:11434/v1",
            None,
            base_url_env="LOCAL_MODEL_URL",
            model_in_name=True,
            description="any OpenAI-compatible server (local/<model>)",
        ),
    )
}


class ProviderError(InputError):
    """An agent name that names no provider, a missing model, or a missing key."""


@dataclass(frozen=True)
class ModelEndpoint:
    """Everything needed to call one model; the key itself is fetched only by `api_key()`."""

    agent: str
    provider: str
    model: str
    base_url: str
    api_key_env: str | None

    def api_key(self) -> str:
        if self.api_key_env is None:
            return "not-needed"  # the SDK insists on a value; local servers ignore it
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ProviderError(
                f"agent {self.agent!r} needs an API key: set the environment variable {self.api_key_env}"
            )
        return value


def resolve_endpoint(
    agent: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
) -> ModelEndpoint:
    """Turn an agent name (plus overrides) into an endpoint; fails with a message that says
    what to do."""
    head, _, rest = agent.partition("/")
    provider = PROVIDERS.get(agent) or PROVIDERS.get(head)
    if provider is None:
        known = ", ".join(
            f"{p.name}/<model>" if p.model_in_name else p.name for p in PROVIDERS.values()
        )
        raise ProviderError(
            f"unknown agent {agent!r}; known: deterministic, {known}, or an http(s):// URL"
        )
    chosen_model = (
        model or (rest if provider.model_in_name and rest else None) or provider.default_model
    )
    if not chosen_model:
        raise ProviderError(
            f"agent {agent!r} needs a model: use {provider.name}/<model> or --model"
        )
    url = (
        base_url
        or (os.environ.get(provider.base_url_env) if provider.base_url_env else None)
        or provider.base_url
    )
    if not url:
        raise ProviderError(f"agent {agent!r} needs a base URL: use --base-url")
    return ModelEndpoint(
        agent=agent,
        provider=provider.name,
        model=chosen_model,
        base_url=url.rstrip("/"),
        api_key_env=api_key_env if api_key_env is not None else provider.api_key_env,
    )


def key_status(provider: Provider) -> str:
    """'set', 'missing' or 'not needed' for `reev agents`, never the key itself."""
    if provider.api_key_env is None:
        return "not needed"
    return "set" if os.environ.get(provider.api_key_env) else "missing"
