"""Model calls on disk as deltas: a session file linear in the number of turns (issue 18).

A chat agent resends its whole conversation on every turn, so storing each call's request as sent
made a session file grow with the square of its turns (50 calls: about 1 MB). Since schema
version 2 a call in `steps[].model_calls` stores only what it added, in place of the whole
`request_messages`:

    messages_from           how many messages of the step's conversation so far it starts with
    request_messages_delta  the messages that follow them

"The conversation so far" of call i is call i-1's full request followed by call i-1's `response`
(when it is not null); for the first call of a step it is empty. The rule never looks across
steps: every step's first call has `messages_from: 0` and stores its request whole, so a step
reads on its own, and a step that starts a fresh conversation needs nothing special. A call whose
request does not extend the call before it (an agent that trimmed its context) simply has a
smaller `messages_from` and stores more. Call i's full request is therefore

    full(i) = (full(i-1) + [response(i-1)])[:messages_from(i)] + request_messages_delta(i)

A version 1 call has `request_messages`, the whole request: the same rule with `messages_from`
0, so one reader (`full_requests`) reads both versions.

In memory (`StepRecord.model_calls`) every `ModelCallRecord` holds its full request: agents build
them that way and every reader (`reev show`, the dashboard, `reev export`, telemetry) keeps
reading `request_messages` as sent. The conversion happens only when a step is serialized
(`request_deltas`) and validated (`expand_calls`), so the file and the API's session endpoint carry
deltas and nothing else needs to know.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

MESSAGES_FROM = "messages_from"
DELTA = "request_messages_delta"


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included: Python's `==` takes `1`, `1.0` and `True` for one
    another, and a message rebuilt from the previous call must be the one sent, not an equal
    one. Key order counts too (it is what was sent)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        if list(a) != list(b):
            return False
        # Successive requests of an agent share their messages' values: identity settles most.
        if all(map(operator.is_, a.values(), b.values())):
            return True
        return all(same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _conversation(request: list[Any], response: Any) -> list[Any]:
    """What the next call of the step can start with: this call's request and its response."""
    return [*request, response] if response is not None else list(request)


def _field(call: Any, name: str) -> Any:
    return call.get(name) if isinstance(call, Mapping) else getattr(call, name)


def request_deltas(calls: Sequence[Any]) -> list[tuple[int, list[Any]]]:
    """For each of a step's model calls (`ModelCallRecord`s, or dicts with their full
    `request_messages`), what it stores: the length of the longest prefix its request shares with
    the conversation so far (`messages_from`), and the messages after it.

    Run on the records in memory, before anything is dumped: an LLM agent's successive requests
    share their messages' values, so the comparison mostly meets the same objects and stays
    cheap, and only the deltas are serialized (dumping every whole request first cost as much as
    the quadratic file did)."""
    out: list[tuple[int, list[Any]]] = []
    before: list[Any] = []
    for call in calls:
        request = list(_field(call, "request_messages"))
        shared = 0
        for old, new in zip(before, request, strict=False):
            if not same_json(old, new):
                break
            shared += 1
        out.append((shared, request[shared:]))
        before = _conversation(request, _field(call, "response"))
    return out


def stored_call(dumped: dict[str, Any], messages_from: int) -> dict[str, Any]:
    """A dumped call (its `request_messages` already the delta) as stored: `messages_from` and
    `request_messages_delta` where `request_messages` was. A new name rather than a new meaning
    for the old one: a reader that predates version 2 then refuses the file (a required field is
    missing) instead of taking a delta for the whole request."""
    out: dict[str, Any] = {}
    for key, value in dumped.items():
        if key == "request_messages":
            out[MESSAGES_FROM] = messages_from
            out[DELTA] = value
        elif key not in (MESSAGES_FROM, DELTA):
            out[key] = value
    return out


def full_requests(calls: Sequence[Any]) -> list[list[Any]]:
    """Every call's full request, in order, from a step's model calls as stored: dicts of a
    version 1 or 2 file (`json.loads` of one, or the API's session endpoint) or `ModelCallRecord`s.

    This is the one reconstruction rule (module docstring). Raises ValueError naming the call
    when a `messages_from` points past the conversation it refers to: a damaged file."""
    out: list[list[Any]] = []
    before: list[Any] = []
    for index, call in enumerate(calls):
        if isinstance(call, Mapping) and (DELTA in call or MESSAGES_FROM in call):
            if DELTA not in call or MESSAGES_FROM not in call:
                raise ValueError(
                    f"model call {index}: {MESSAGES_FROM} and {DELTA} go together, one is missing"
                )
            stored, start = call[DELTA], call[MESSAGES_FROM]
        else:  # version 1, or a record in memory: the whole request
            stored, start = _field(call, "request_messages"), 0
        stored = [] if stored is None else stored
        if not isinstance(stored, list):
            raise ValueError(f"model call {index}: its request messages are not a list")
        if type(start) is not int or not 0 <= start <= len(before):
            raise ValueError(
                f"model call {index}: messages_from {start!r} is not a count of the "
                f"{len(before)} message(s) of the conversation before it"
            )
        request = before[:start] + stored
        out.append(request)
        before = _conversation(request, _field(call, "response"))
    return out


def expand_calls(calls: Any) -> Any:
    """A step's stored model calls with each one's full request, ready for `ModelCallRecord`
    (pydantic reports anything that is not a list of calls). Dicts are copied, never changed;
    `ModelCallRecord`s (built in memory) are already whole and pass through."""
    if not isinstance(calls, list) or not all(
        isinstance(c, Mapping) or hasattr(c, "request_messages") for c in calls
    ):
        return calls
    if not any(isinstance(c, Mapping) and (DELTA in c or MESSAGES_FROM in c) for c in calls):
        return calls  # version 1, or records built in memory: already whole
    requests = full_requests(calls)
    out: list[Any] = []
    for call, request in zip(calls, requests, strict=True):
        if isinstance(call, Mapping) and DELTA in call:
            whole = {k: v for k, v in call.items() if k not in (MESSAGES_FROM, DELTA)}
            whole["request_messages"] = request
            out.append(whole)
        else:  # a version 1 call among version 2 ones: already whole
            out.append(call)
    return out
