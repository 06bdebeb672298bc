"""What a model is told: the system prompt (role, wallet, tool contract) and the on-chain context.

Both are built only from an `AgentTask`, which carries no ground truth; the same text goes to
remote agents as `context_prompt`.
"""

from __future__ import annotations

from collections.abc import Collection

from reev.agents.base import AgentTask
from reev.constants import SOL_DECIMALS
from reev.units import format_ui_amount

SYSTEM_PROMPT = """\
You are an autonomous agent that operates a Solana wallet on the user's behalf.

You control exactly one wallet: {wallet}. It pays every transaction fee and signs every \
transaction you send.

How to act:
- Use the tools. Action tools (transfers, token operations, wrapping, memos) only STAGE \
instructions. Nothing happens on chain until you call submit_transaction, which sends every \
staged instruction as ONE transaction and returns its outcome (signature, success, error, logs).
- Query tools (get_balance, get_wallet_overview, …) read the live chain; use them when the \
request depends on the current state.
- Amounts are in human units (SOL for SOL, token units such as 1.5 for 1.5 USDC), never in \
lamports or base units.
- Use only addresses given in the request or the context; never invent one.
- A tool that returns {{"error": …}} did nothing; read the message and correct the call.
- If a request cannot or should not be carried out as written (insufficient funds, a \
recipient that is not a wallet, an impossible amount), do not send anything harmful: explain \
why instead.
- When the request is done, reply with a short summary and no tool call.
"""


# The tool contract when the tools are not reev's (`--mcp-server` without `--with-reev-tools`):
# such tools send their own transactions, and there is no submit_transaction to name.
DIRECT_TOOLS_CONTRACT = """\
- Use the tools. They act on the live chain directly: a tool that moves funds sends its own \
transaction and reports its outcome. Read the current state with the tools before you act when \
the request depends on it.
"""

_STAGED_TOOLS_CONTRACT = SYSTEM_PROMPT[
    SYSTEM_PROMPT.index("- Use the tools.") : SYSTEM_PROMPT.index("- Amounts are in human units")
]


def system_prompt(task: AgentTask, tool_names: Collection[str] | None = None) -> str:
    """The system prompt for `task`. Given the names of the tools the model is offered, the
    tool contract matches them: reev's staging contract names submit_transaction, which a
    model offered only another server's tools does not have."""
    text = SYSTEM_PROMPT
    if tool_names is not None and "submit_transaction" not in tool_names:
        text = text.replace(_STAGED_TOOLS_CONTRACT, DIRECT_TOOLS_CONTRACT)
    return text.format(wallet=task.observation.wallet)


def context_prompt(task: AgentTask) -> str:
    """The on-chain context: wallet, balances, token accounts and the named addresses."""
    obs = task.observation
    names = {address: name for name, address in obs.key_map.items()}
    lines = [f"Your wallet: {obs.wallet}"]
    wallet_state = next((a for a in obs.accounts if a.address == obs.wallet), None)
    lamports = wallet_state.lamports if wallet_state else 0
    lines.append(f"Your SOL balance: {format_ui_amount(lamports, SOL_DECIMALS)} SOL")
    token_lines = []
    other_lines = []
    for account in obs.accounts:
        label = names.get(account.address)
        label = f" ({label})" if label else ""
        if account.token is not None:
            t = account.token
            extra = (
                f", delegate {t.delegate} for {t.delegated_amount} base units" if t.delegate else ""
            )
            extra += ", FROZEN" if t.state == "frozen" else ""
            extra += (
                f", {t.withheld_amount} base units of fees withheld" if t.withheld_amount else ""
            )
            token_lines.append(
                f"- token account {account.address}{label}: {t.ui_amount} of mint {t.mint} "
                f"(decimals {t.decimals}, owner {t.owner}, program {account.owner}{extra})"
            )
        elif account.mint is not None:
            m = account.mint
            other_lines.append(
                f"- mint {account.address}{label}: decimals {m.decimals}, supply {m.supply}, "
                f"mint authority {m.mint_authority}, freeze authority {m.freeze_authority}"
                + (
                    f", transfer fee {m.transfer_fee_basis_points} basis points (at most "
                    f"{m.transfer_fee_maximum} base units) withheld from what recipients receive"
                    if m.transfer_fee_basis_points is not None
                    else ""
                )
            )
        elif account.address != obs.wallet:
            other_lines.append(
                f"- account {account.address}{label}: "
                f"{format_ui_amount(account.lamports, SOL_DECIMALS)} SOL, owner {account.owner}"
            )
    if token_lines:
        lines += ["Token accounts:", *token_lines]
    if other_lines:
        lines += ["Other accounts:", *other_lines]
    named = [f"- {name}: {address}" for name, address in obs.key_map.items()]
    if named:
        lines += ["Named addresses:", *named]
    if task.step_count > 1:
        lines.append(f"This is step {task.step} of {task.step_count}.")
    if obs.last_transaction is not None:
        tx = obs.last_transaction
        outcome = "succeeded" if tx.success else f"failed: {tx.error}"
        lines.append(f"The previous transaction {tx.signature} {outcome}.")
    return "\n".join(lines)


def user_prompt(task: AgentTask) -> str:
    return f"{task.prompt}\n\nOn-chain context:\n{context_prompt(task)}"
