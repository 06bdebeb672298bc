"""MCP in both directions (issue 20), with the official `mcp` Python SDK.

- reev as an MCP server: an episode's tools and its request (the prompt `task`) served to an
  MCP client, over stdio or streamable HTTP (`server`, `bridge`); `reev mcp serve` drives one
  episode with `ServedAgent` (`served`), and `reev run --agent-mcp CMD` runs an MCP-client program
  as the agent of every episode (`McpCommandAgent`, `command`).
- Any MCP tool server as an LLM agent's toolbox: `reev run --mcp-server CMD` starts the servers
  for each step with the episode's endpoints in their environment and gives their tools to the
  model (`McpToolsAgent`, `agent`; the connections in `toolbox`).

Like every agent these know nothing of scoring: they see an `AgentTask` and a `ToolBox`.
"""
