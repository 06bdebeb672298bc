"""A benchmark whose ground truth carries markers found nowhere an agent may look.

Its solution memo, an assertion's expected amount, an expected instruction's data and two
placeholder names appear only in the ground truth: a front door that lets any of them reach an
agent (an observation, a tool result, an `info` dict, a task's data) leaks it.
"""

LEAK = """
id: leak-check
prompt: Send 0.1 SOL to RECIPIENT_WALLET_PUBKEY.
initial_state:
  - {pubkey: USER_WALLET_PUBKEY, lamports: 1000000000}
  - pubkey: USER_USDC_ATA
    owner: TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA
    data: {mint: EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v, owner: USER_WALLET_PUBKEY, amount: 7}
ground_truth:
  final_state_assertions:
    - {type: SolBalance, pubkey: RECIPIENT_WALLET_PUBKEY, expected: 100000000}
    - type: TokenAccountBalance
      pubkey: HIDDEN_TARGET_ATA
      expected: 123456789
      address_derivation: {type: AssociatedTokenAccount, owner: SECRET_SIDE_WALLET, mint: EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v}
  expected_instructions:
    - program_id: "11111111111111111111111111111111"
      accounts: [{pubkey: USER_WALLET_PUBKEY, is_signer: true, is_writable: true}]
      data: "3Bxs411Dtc7pkFQj"
solution:
  - {tool: sol_transfer, args: {recipient: RECIPIENT_WALLET_PUBKEY, amount: "0.1"}}
  - {tool: add_memo, args: {text: "ORACLE-ONLY-MARKER"}}
"""

# What must never reach an agent (besides the hidden placeholders' real addresses).
HIDDEN = (
    "ORACLE-ONLY-MARKER",
    "123456789",
    "3Bxs411Dtc7pkFQj",
    "HIDDEN_TARGET_ATA",
    "SECRET_SIDE_WALLET",
)
