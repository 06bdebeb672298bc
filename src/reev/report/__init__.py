"""Reports of finished episodes, read from session files (or traces): Rich tables and trees
(`render`), Mermaid flow diagrams (`flow`), and program-log invocation trees (`txlogs`).

They serve the CLI (`reev run`'s table, `reev show`, `reev flow`, `reev tx-logs`), the API's
flow and log endpoints, the dashboard and the TUI. Mermaid is vendored in `static/` (MIT) so
pages render offline.
"""
