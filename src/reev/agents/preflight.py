"""Fail fast: one check of an LLM agent's endpoint before the first episode.

`GET <base_url>/models` with the run's key answers three questions at once: the server is
reachable, the key is accepted (not 401/403), and the model is offered (when the server lists
models). A server without a models endpoint (404/405) passes on reachability alone: no chat
request is sent, so a check never costs tokens or disturbs a scripted server. A failure is one
`EndpointUnavailable` naming the endpoint's host, never its URL (which may carry credentials).
"""

from __future__ import annotations

import httpx

from reev.agents.providers import ModelEndpoint
from reev.errors import InputError

PREFLIGHT_TIMEOUT_S = 5.0


class EndpointUnavailable(InputError):
    """The model endpoint is unreachable, rejects the key, or does not offer the model."""


def endpoint_host(base_url: str) -> str:
    """host[:port] of an endpoint, what an error message may show."""
    try:
        url = httpx.URL(base_url)
        return f"{url.host}:{url.port}" if url.port else url.host or "(no host)"
    except (httpx.InvalidURL, TypeError):
        return "(unparseable URL)"


def check_endpoint(endpoint: ModelEndpoint, timeout_s: float = PREFLIGHT_TIMEOUT_S) -> None:
    """Raise `EndpointUnavailable` unless the endpoint answers, accepts the key and (when it
    lists models) offers `endpoint.model`."""
    host = endpoint_host(endpoint.base_url)
    who = f"{endpoint.provider}/{endpoint.model} at {host}"
    headers = {"Authorization": f"Bearer {endpoint.api_key()}"}
    try:
        response = httpx.get(
            f"{endpoint.base_url}/models",
            headers=headers,
            timeout=timeout_s,
            follow_redirects=True,
        )
    except httpx.TimeoutException:
        raise EndpointUnavailable(
            f"model endpoint {host} did not answer within {timeout_s:.0f} s ({who})"
        ) from None
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        raise EndpointUnavailable(
            f"cannot reach the model endpoint {host}: connection failed ({reason}; {who})"
        ) from None
    if response.status_code in (401, 403):
        variable = endpoint.api_key_env or "the API key"
        raise EndpointUnavailable(
            f"model endpoint {host} rejected the key (HTTP {response.status_code}): "
            f"check {variable} ({who})"
        )
    if response.status_code in (404, 405):
        return  # no models endpoint: reachable is all we can know without spending a call
    if response.status_code >= 400:
        raise EndpointUnavailable(
            f"model endpoint {host} answered HTTP {response.status_code} to GET /models ({who})"
        )
    offered = _model_ids(response)
    if offered is not None and endpoint.model not in offered:
        listed = ", ".join(sorted(offered)[:10]) + (" …" if len(offered) > 10 else "")
        raise EndpointUnavailable(
            f"model {endpoint.model!r} is not offered by {host} (it lists: {listed or 'none'})"
        )


def _model_ids(response: httpx.Response) -> set[str] | None:
    """The ids of an OpenAI-style model list, or None when the body is not one (some servers
    answer /models with something else: then the model is not checked)."""
    try:
        data = response.json()
    except ValueError:
        return None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    ids = {
        item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
    }
    return ids or None
