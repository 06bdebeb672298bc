"""What the test modules share, importable as `helpers` (pytest puts tests/ on sys.path through
the `pythonpath` ini option; the bench scripts insert it themselves).

conftest.py holds only fixtures and hooks: importing it from a test module would load it twice
(once as pytest's conftest plugin, once as a plain module), so shared code lives here.

- `paths`: the repository's folders and the environment for `reev` subprocesses;
- `suite`: the bundled benchmarks;
- `episodes`: a scripted agent and one episode run through the real runner;
- `chain_env`: a benchmark's initial state on a fresh embedded chain, for tool tests;
- `rpc`: raw JSON-RPC calls and `reev chain serve` as a subprocess;
- `local_server`, `api_server`, `api_scenarios`, `fake_openai`, `browser`, `fork_upstream`:
  servers and clients the integration tests drive;
- `rpc_agent_probe.py`: a script, the `--agent-cmd` agent of tests/test_rpc_agent_cmd.py.
"""
