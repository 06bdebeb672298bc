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
// Jupiter: the kit's TRADE hard-codes https://quote-api.jup.ag/v6 (the kit has no setting for
// Jupiter's base URL). reev serves Jupiter's quote and swap API for the episode at
// REEV_JUPITER_URL, so this agent routes requests for that one host there, and says so on
// stderr for each request; the kit's code, the query and the body it sends are unchanged. Any
// other host the kit's actions call (prices, token lists, ...) is left alone.
import { readFileSync } from "node:fs";

import TokenPlugin from "@solana-agent-kit/plugin-token";
import { Keypair } from "@solana/web3.js";
import OpenAI from "openai";
import { KeypairWallet, SolanaAgentKit, createOpenAITools, executeAction } from "solana-agent-kit";

const JUPITER_HOSTS = ["https://quote-api.jup.ag/v6", "https://lite-api.jup.ag/swap/v1"];

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (reev run --agent-cmd sets it)`);
  return value;
}

function routeJupiterToReev(jupiterUrl) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const host = JUPITER_HOSTS.find((h) => url.startsWith(`${h}/`));
    if (host === undefined) return realFetch(input, init);
    const routed = jupiterUrl.replace(/\/$/, "") + url.slice(host.length);
    console.error(`jupiter: ${url.split("?")[0]} -> ${routed.split("?")[0]}`);
    return realFetch(routed, typeof input === "string" || input instanceof URL ? init : { ...input, ...init });
  };
}

// JSON for the model and the log: the kit's results may hold bigints and PublicKeys.
function toJson(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

function log(record) {
  console.log(toJson(record));
}

async function main() {
  const rpcUrl = required("REEV_RPC_URL");
  const secret = Uint8Array.from(JSON.parse(readFileSync(required("REEV_KEYPAIR"), "utf8")));
  const keypair = Keypair.fromSecretKey(secret);
  if (process.env.REEV_JUPITER_URL) routeJupiterToReev(process.env.REEV_JUPITER_URL);

  const kit = new SolanaAgentKit(new KeypairWallet(keypair, rpcUrl), rpcUrl, {}).use(TokenPlugin);
  const actions = new Map(kit.actions.map((action) => [action.name, action]));
  const tools = createOpenAITools(kit, kit.actions).map((tool) => ({
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));

  const client = new OpenAI({
    apiKey: process.env.OPENAI_API_KEY || "none",
    baseURL: process.env.OPENAI_BASE_URL || undefined,
    maxRetries: 2,
  });
  const model = process.env.OPENAI_MODEL || "gpt-4.1-mini";
  const maxTurns = Number.parseInt(process.env.REEV_KIT_MAX_TURNS || "10", 10);
  const wallet = keypair.publicKey.toBase58();
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
      const action = actions.get(call.function.name);
      let result;
      if (action === undefined) {
        result = { status: "error", message: `unknown tool ${call.function.name}` };
      } else {
        let args;
        try {
          args = JSON.parse(call.function.arguments || "{}");
        } catch (error) {
          args = undefined;
          result = { status: "error", message: `arguments are not JSON: ${error.message}` };
        }
        if (args !== undefined) result = await executeAction(action, kit, args);
      }
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
