// What the example's two entry points share: solana-agent-kit on the episode's chain, and its
// actions as JSON-Schema tools.
//
// - agent.mjs: `reev run --agent-cmd "node examples/solana-agent-kit/agent.mjs"`, the kit's
//   actions as chat-completions tools for a model on an OpenAI-compatible endpoint;
// - mcp-server.mjs: the same actions as an MCP tool server over stdio, for any MCP client
//   (and for `reev run --mcp-server`, docs/mcp.md).
//
// Both read the variables reev gives a program (docs/rpc.md): REEV_RPC_URL, REEV_KEYPAIR (a
// Solana CLI keypair file) and REEV_JUPITER_URL.
//
// Jupiter: the kit's TRADE hard-codes https://quote-api.jup.ag/v6 (the kit has no setting for
// Jupiter's base URL). reev serves Jupiter's quote and swap API for the episode at
// REEV_JUPITER_URL, so requests for that one host (and lite-api.jup.ag/swap/v1) go there, and
// each is written on stderr; the kit's code, the query and the body it sends are unchanged. Any
// other host the kit's actions call (prices, token lists, ...) is left alone.
import { readFileSync } from "node:fs";

import TokenPlugin from "@solana-agent-kit/plugin-token";
import { Keypair } from "@solana/web3.js";
import { KeypairWallet, SolanaAgentKit, createOpenAITools, executeAction } from "solana-agent-kit";

const JUPITER_HOSTS = ["https://quote-api.jup.ag/v6", "https://lite-api.jup.ag/swap/v1"];

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (reev sets it for the programs it runs)`);
  return value;
}

function routeJupiterTo(jupiterUrl) {
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

// JSON for a model or a log: the kit's results may hold bigints.
export function toJson(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** The kit on the episode's chain: `{kit, wallet, tools, run(name, args)}`. `tools` are
 * `{name, description, parameters}` with the JSON Schema the kit's own `createOpenAITools`
 * derives from each action's zod schema; `run` validates and executes through the kit's
 * `executeAction`, and answers `{status: "error", ...}` (the kit's shape) for an unknown name. */
export function openKit() {
  const rpcUrl = required("REEV_RPC_URL");
  const secret = Uint8Array.from(JSON.parse(readFileSync(required("REEV_KEYPAIR"), "utf8")));
  const keypair = Keypair.fromSecretKey(secret);
  if (process.env.REEV_JUPITER_URL) routeJupiterTo(process.env.REEV_JUPITER_URL);
  const kit = new SolanaAgentKit(new KeypairWallet(keypair, rpcUrl), rpcUrl, {}).use(TokenPlugin);
  const actions = new Map(kit.actions.map((action) => [action.name, action]));
  const tools = createOpenAITools(kit, kit.actions).map((tool) => ({
    name: tool.name,
    description: tool.description,
    parameters: tool.parameters,
  }));
  async function run(name, args) {
    const action = actions.get(name);
    if (action === undefined) return { status: "error", message: `unknown tool ${name}` };
    return await executeAction(action, kit, args ?? {});
  }
  return { kit, wallet: keypair.publicKey.toBase58(), tools, run };
}
