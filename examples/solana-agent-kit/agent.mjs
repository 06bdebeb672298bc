// solana-agent-kit as a reev agent:
//
//   npm ci --prefix examples/solana-agent-kit
//   export OPENAI_API_KEY=... OPENAI_MODEL=gpt-4.1-mini    # OPENAI_BASE_URL for any compatible endpoint
//   reev run benchmarks/001-sol-transfer.yml --agent-cmd "node examples/solana-agent-kit/agent.mjs"
//
// The kit (npm `solana-agent-kit` with `@solana-agent-kit/plugin-token`) gets the episode's
// chain: its Connection and KeypairWallet point at REEV_RPC_URL and the wallet in REEV_KEYPAIR.
// Every action of the plugin becomes a chat-completions tool, with the parameters the kit's own
// converter (`createOpenAITools`) derives from the action's zod schema; a tool call runs through
// the kit's `executeAction` (schema validation, then the action's handler). So the
// transactions are the kit's: its TRANSFER builds a System or SPL Token transfer and sends it
// with its own compute-budget instructions (a simulated unit limit and a priority fee from
// getRecentPrioritizationFees), its TRADE asks Jupiter for a swap transaction.
//
// The request is REEV_PROMPT, with the on-chain context REEV_CONTEXT_TEXT; the model is
// OPENAI_MODEL (default gpt-4.1-mini) at OPENAI_BASE_URL (default OpenAI's) with
// OPENAI_API_KEY. The loop stops when the model answers without a tool call, or after
// REEV_KIT_MAX_TURNS model calls (default 10). Everything the agent does is printed to stdout
// (one JSON line per model turn and per tool call), which reev keeps in the session file.
//
// The kit's set-up (and how its hard-coded Jupiter host reaches reev's Jupiter API) is in kit.mjs,
// shared with mcp-server.mjs.
import OpenAI from "openai";

import { openKit, required, toJson } from "./kit.mjs";

function log(record) {
  console.log(toJson(record));
}

// A tool call's result for the model: the kit's, or the kit's error shape for arguments that
// are not JSON (the model can recover).
async function callTool(run, name, text) {
  let args;
  try {
    args = JSON.parse(text || "{}");
  } catch (error) {
    return { status: "error", message: `arguments are not JSON: ${error.message}` };
  }
  return await run(name, args);
}

async function main() {
  const { wallet, tools: kitTools, run } = openKit();
  const tools = kitTools.map((tool) => ({ type: "function", function: tool }));

  const client = new OpenAI({
    apiKey: process.env.OPENAI_API_KEY || "none",
    baseURL: process.env.OPENAI_BASE_URL || undefined,
    maxRetries: 2,
  });
  const model = process.env.OPENAI_MODEL || "gpt-4.1-mini";
  const maxTurns = Number.parseInt(process.env.REEV_KIT_MAX_TURNS || "10", 10);
  const messages = [
    {
      role: "system",
      content:
        "You are a Solana agent built on solana-agent-kit. You control the wallet " +
        `${wallet}: it pays the fees and signs every transaction your tools send. Carry out ` +
        "the user's request with the tools (amounts in human units, e.g. 0.1 SOL or 15 USDC), " +
        "then answer briefly without a tool call. Do not carry out harmful requests.",
    },
    {
      role: "user",
      content: [required("REEV_PROMPT"), process.env.REEV_CONTEXT_TEXT ?? ""].join("\n\n").trim(),
    },
  ];
  log({ event: "start", wallet, model, tools: tools.length });

  for (let turn = 1; turn <= maxTurns; turn += 1) {
    const response = await client.chat.completions.create({ model, messages, tools });
    const message = response.choices[0].message;
    messages.push(message);
    const calls = message.tool_calls ?? [];
    log({ event: "model", turn, content: message.content, tool_calls: calls.map((c) => c.function.name) });
    if (calls.length === 0) {
      console.log(message.content ?? "");
      return;
    }
    for (const call of calls) {
      const result = await callTool(run, call.function.name, call.function.arguments);
      log({ event: "tool", name: call.function.name, arguments: call.function.arguments, result });
      messages.push({ role: "tool", tool_call_id: call.id, content: toJson(result) });
    }
  }
  console.log(`stopped after ${maxTurns} model calls`);
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
