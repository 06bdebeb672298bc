// solana-agent-kit as an MCP tool server (stdio), built with the official TypeScript MCP SDK:
//
//   REEV_RPC_URL=... REEV_KEYPAIR=... node examples/solana-agent-kit/mcp-server.mjs
//
// It lists the kit's token-plugin actions as MCP tools (the input schema is what the kit's own
// `createOpenAITools` derives from each action's zod schema) and runs a tools/call through the
// kit's `executeAction` on the chain at REEV_RPC_URL with the wallet in REEV_KEYPAIR; the result
// is the kit's JSON answer as text, `isError` when the kit answered `status: "error"`. reev starts
// a server like this one per episode with those variables for `reev run --mcp-server CMD`
// (docs/mcp.md); any MCP client can use it the same way against `reev chain serve`.
//
// stdout is the MCP channel: everything else (the kit's logs, the Jupiter routing lines) goes to
// stderr.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import { openKit, toJson } from "./kit.mjs";

console.log = console.error; // keep stdout for MCP: the kit logs with console.log / console.warn
console.warn = console.error;

async function main() {
  const { tools, run } = openKit();
  const server = new Server(
    { name: "solana-agent-kit", version: "2.0.10" },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: tool.parameters,
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const result = await run(request.params.name, request.params.arguments ?? {});
    return { content: [{ type: "text", text: toJson(result) }], isError: result?.status === "error" };
  });
  await server.connect(new StdioServerTransport());
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
