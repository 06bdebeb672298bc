"""`reev tui`: the terminal cockpit (Textual).

Agent tabs across the top (a ✗ marks a provider whose key is missing), the benchmarks grouped by
category on the left with a status mark and the latest score for the selected agent, the trace
of the selected benchmark's latest episode on the right, and the transaction-log trees below
it. Runs go through the same runner as `reev run`, in a Textual worker on the app's event loop,
so the screen stays live; with `--db` they are stored where the API and dashboard see them.
The app only ever stops runs it started itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, Input, Static, Tab, Tabs, Tree
from textual.worker import Worker, WorkerState

from reev.agents.providers import PROVIDERS, ProviderError, key_status
from reev.agents.registry import AgentOptions, agent_factory
from reev.events import EpisodeEvent, ExecutionStatus, ToolCallEvent, TransactionEvent
from reev.report.render import session_tree
from reev.report.txlogs import render_tree, transaction_tree
from reev.runner.episode import EpisodeResult, run_episode
from reev.runner.session import SessionFile, read_session
from reev.runner.suite import episode_seed
from reev.spec.categories import category_of, category_rank, tier_of
from reev.spec.loader import LoadedBenchmark

PASS, FAIL, RUNNING, QUEUED, STOPPED, NONE = "✔", "✘", "◐", "…", "■", "·"


@dataclass
class AgentTab:
    name: str
    label: str
    missing_key: str | None = None


def default_agents(extra: list[str]) -> list[AgentTab]:
    """The deterministic oracle, every provider (with its default model), and `--agent`s."""
    names = ["deterministic"]
    names += [p.name for p in PROVIDERS.values() if not p.model_in_name]
    names += [a for a in extra if a not in names]
    tabs = []
    for name in names:
        missing = None
        known = PROVIDERS.get(name) or PROVIDERS.get(name.partition("/")[0])
        if known is not None and key_status(known) == "missing":
            missing = known.api_key_env
        tabs.append(AgentTab(name, f"{name} ✗" if missing else name, missing))
    return tabs


@dataclass
class Outcome:
    status: ExecutionStatus
    score: float | None = None
    passed: bool | None = None
    session_file: str | None = None
    error: str | None = None

    def mark(self) -> Text:
        if self.status is ExecutionStatus.RUNNING:
            return Text(RUNNING, style="yellow")
        if self.status is ExecutionStatus.QUEUED:
            return Text(QUEUED, style="dim")
        if self.status is ExecutionStatus.CANCELLED:
            return Text(STOPPED, style="magenta")
        if self.passed:
            return Text(PASS, style="green")
        return Text(FAIL, style="red")


@dataclass
class State:
    """Latest outcome per (agent, benchmark); the UI is a view of this."""

    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)


class ReevTui(App[None]):
    TITLE = "reev"
    CSS = """
    #body { height: 1fr; }
    #nav { width: 42%; min-width: 30; border: round $primary; }
    #right { width: 1fr; }
    #trace { height: 2fr; border: round $secondary; }
    #txlogs { height: 1fr; border: round $secondary; }
    #filter { display: none; }
    #filter.visible { display: block; }
    #message { height: auto; max-height: 3; color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("left", "previous_agent", "Agent ←", show=False, priority=True),
        Binding("right", "next_agent", "Agent →", show=False, priority=True),
        Binding("tab", "next_agent", "Next agent", priority=True),
        Binding("r", "run_selected", "Run"),
        Binding("a", "run_all", "Run all"),
        Binding("f", "filter", "Filter"),
        Binding("s", "stop", "Stop"),
        Binding("l", "toggle_logs", "Logs"),
        Binding("o", "open_session", "Session"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        benchmarks: list[LoadedBenchmark],
        *,
        agents: list[AgentTab] | None = None,
        options: AgentOptions | None = None,
        log_dir: Path = Path("logs"),
        seed: int = 0,
        db_url: str | None = None,
    ):
        super().__init__()
        self.benchmarks = {item.benchmark.id: item for item in benchmarks}
        self.agents = agents or default_agents([])
        self.options = options or AgentOptions()
        self.log_dir = log_dir
        self.seed = seed
        self.state = State()
        self.agent_index = 0
        self.filter_text = ""
        self.selected: str | None = next(iter(self.benchmarks), None)
        self.runs: dict[tuple[str, str], Worker[Any]] = {}
        self.recorder = None
        self._load_runs(log_dir)
        if db_url is not None:
            from reev.store.recording import episode_recorder, open_store, store_benchmarks

            store = open_store(db_url)
            store_benchmarks(store, benchmarks)
            self.recorder = episode_recorder(store, model=self.options.model, source="tui")
            self._load_latest(store)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Tabs(*[Tab(a.label, id=f"agent-{i}") for i, a in enumerate(self.agents)], id="agents")
        yield Input(placeholder="filter by tag or text, Enter to apply", id="filter")
        with Horizontal(id="body"):
            yield Tree("benchmarks", id="nav")
            with Vertical(id="right"):
                yield Static("", id="message")
                with VerticalScroll(id="trace"):
                    yield Static("select a benchmark", id="trace-body")
                with VerticalScroll(id="txlogs"):
                    yield Static("", id="txlogs-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#trace").border_title = "trace"
        self.query_one("#txlogs").border_title = "transaction logs"
        self.query_one("#nav").border_title = "benchmarks"
        self.rebuild_nav()
        self.query_one("#nav", Tree).focus()

    @property
    def agent(self) -> AgentTab:
        return self.agents[self.agent_index]

    # ------------------------------------------------------------------ navigator

    def visible_ids(self) -> list[str]:
        needle = self.filter_text.lower()
        out = []
        for benchmark_id, item in self.benchmarks.items():
            b = item.benchmark
            haystack = " ".join([b.id, b.description, *b.tags]).lower()
            if not needle or all(word in haystack for word in needle.split()):
                out.append(benchmark_id)
        return out

    def rebuild_nav(self) -> None:
        tree = self.query_one("#nav", Tree)
        tree.show_root = False
        tree.guide_depth = 2
        tree.clear()
        tree.root.expand()
        groups: dict[str, list[str]] = {}
        for benchmark_id in self.visible_ids():
            groups.setdefault(category_of(self.benchmarks[benchmark_id].benchmark.tags), []).append(
                benchmark_id
            )
        cursor_line = None
        for category in sorted(groups, key=category_rank):
            branch = tree.root.add(Text(category, style="bold"), expand=True)
            for benchmark_id in groups[category]:
                node = branch.add_leaf(self.nav_label(benchmark_id), data=benchmark_id)
                if benchmark_id == self.selected:
                    cursor_line = node
        if cursor_line is not None:
            tree.move_cursor(cursor_line)
        self.query_one(
            "#nav"
        ).border_subtitle = f"{self.agent.name} · {len(self.visible_ids())} shown"
        self.show_selected()

    def nav_label(self, benchmark_id: str) -> Text:
        outcome = self.state.outcomes.get((self.agent.name, benchmark_id))
        tier = tier_of(self.benchmarks[benchmark_id].benchmark.tags) or ""
        mark = outcome.mark() if outcome else Text(NONE, style="dim")
        score = f"{outcome.score * 100:3.0f}%" if outcome and outcome.score is not None else "    "
        return Text.assemble(mark, " ", (score, "bold"), " ", benchmark_id, (f" {tier}", "dim"))

    def refresh_labels(self) -> None:
        tree = self.query_one("#nav", Tree)
        for branch in tree.root.children:
            for node in branch.children:
                if node.data:
                    node.set_label(self.nav_label(node.data))

    @on(Tree.NodeHighlighted, "#nav")
    def highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        if event.node.data:
            self.selected = event.node.data
            self.show_selected()

    @on(Tree.NodeSelected, "#nav")
    def selected_node(self, event: Tree.NodeSelected[Any]) -> None:
        if event.node.data:
            self.selected = event.node.data
            self.action_run_selected()

    def action_cursor_down(self) -> None:
        self.query_one("#nav", Tree).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#nav", Tree).action_cursor_up()

    # ------------------------------------------------------------------ panels

    def say(self, message: str) -> None:
        self.query_one("#message", Static).update(Text(message))

    def show_selected(self) -> None:
        if self.selected is None:
            return
        outcome = self.state.outcomes.get((self.agent.name, self.selected))
        trace = self.query_one("#trace-body", Static)
        logs = self.query_one("#txlogs-body", Static)
        if outcome is None or outcome.session_file is None:
            description = self.benchmarks[self.selected].benchmark.description
            status = (
                f"\n\n{outcome.status}"
                + (f": {outcome.error}" if outcome and outcome.error else "")
                if outcome
                else ""
            )
            trace.update(
                Text(
                    f"{self.selected}\n{' '.join(description.split())}{status}\n\npress r to run it"
                )
            )
            logs.update("")
            return
        session = read_session(outcome.session_file)
        trace.update(session_tree(session))
        logs.update(self.log_trees(session))

    @staticmethod
    def log_trees(session: SessionFile) -> Group:
        trees = []
        for step in session.steps:
            for tx in step.transactions:
                title = Text.assemble(
                    (f"{tx.signature or '(not sent)'}", "bold"),
                    (" ✓" if tx.success else f" ✗ {tx.error}", "green" if tx.success else "red"),
                    f" · {tx.compute_units} CU",
                )
                trees.append(render_tree(transaction_tree(tx), title))
        return Group(*trees) if trees else Group(Text("no transactions"))

    # ------------------------------------------------------------------ agents

    @on(Tabs.TabActivated, "#agents")
    def agent_changed(self, event: Tabs.TabActivated) -> None:
        self.agent_index = int(event.tab.id.split("-", 1)[1]) if event.tab and event.tab.id else 0
        self.refresh_labels()
        self.query_one(
            "#nav"
        ).border_subtitle = f"{self.agent.name} · {len(self.visible_ids())} shown"
        self.show_selected()

    def action_next_agent(self) -> None:
        self.query_one("#agents", Tabs).action_next_tab()

    def action_previous_agent(self) -> None:
        self.query_one("#agents", Tabs).action_previous_tab()

    # ------------------------------------------------------------------ running

    def action_run_selected(self) -> None:
        if self.selected is not None:
            self.start_runs([self.selected])

    def action_run_all(self) -> None:
        self.start_runs(self.visible_ids())

    def start_runs(self, benchmark_ids: list[str]) -> None:
        agent = self.agent
        if agent.missing_key:
            self.say(f"cannot run {agent.name}: set the environment variable {agent.missing_key}")
            self.bell()
            return
        try:
            factory = agent_factory(agent.name, self.options)
        except ProviderError as exc:
            self.say(str(exc))
            return
        for benchmark_id in benchmark_ids:
            key = (agent.name, benchmark_id)
            if key in self.runs and self.runs[key].state in (
                WorkerState.PENDING,
                WorkerState.RUNNING,
            ):
                continue
            self.state.outcomes[key] = Outcome(ExecutionStatus.QUEUED)
            self.runs[key] = self.run_episode_worker(agent.name, benchmark_id, factory)
        self.say(f"running {len(benchmark_ids)} benchmark(s) with {agent.name}")
        self.refresh_labels()

    @work(exclusive=False, group="runs")
    async def run_episode_worker(
        self, agent_name: str, benchmark_id: str, factory: Any
    ) -> EpisodeResult:
        key = (agent_name, benchmark_id)
        self.state.outcomes[key] = Outcome(ExecutionStatus.RUNNING)
        self.refresh_labels()

        def on_event(event: EpisodeEvent) -> None:  # from the episode: hop onto the app's loop
            self.call_later(self._on_event, key, event)

        result = await run_episode(
            self.benchmarks[benchmark_id].benchmark,
            factory(),
            seed=episode_seed(self.seed, benchmark_id, 0),
            run_seed=self.seed,
            log_dir=self.log_dir,
            on_event=on_event,
        )
        self.state.outcomes[key] = Outcome(
            result.status, result.score, result.passed, result.session_file, result.error
        )
        if self.recorder is not None:
            self.recorder(result)
        self.refresh_labels()
        if self.selected == benchmark_id and self.agent.name == agent_name:
            self.show_selected()
        self.say(
            f"{benchmark_id}: {result.status}, score {result.score:.3f}"
            + (f" — {result.error}" if result.error else "")
        )
        return result

    def _on_event(self, key: tuple[str, str], event: EpisodeEvent) -> None:
        if key[1] != self.selected:
            return
        if isinstance(event, ToolCallEvent):
            self.say(f"{key[1]}: {event.event} {event.tool}")
        elif isinstance(event, TransactionEvent):
            self.say(f"{key[1]}: {event.event} {event.signature or ''}")

    def action_stop(self) -> None:
        running = [
            (k, w)
            for k, w in self.runs.items()
            if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        target = [(k, w) for k, w in running if k == (self.agent.name, self.selected)] or running
        if not target:
            self.say("nothing is running")
            return
        for key, worker in target:
            worker.cancel()
            self.state.outcomes[key] = Outcome(
                ExecutionStatus.CANCELLED, error="stopped from the TUI"
            )
        self.refresh_labels()
        self.show_selected()
        self.say(f"stopped {', '.join(k[1] for k, _ in target)}")

    # ------------------------------------------------------------------ misc

    def action_toggle_logs(self) -> None:
        panel = self.query_one("#txlogs")
        panel.display = not panel.display

    def action_open_session(self) -> None:
        outcome = self.state.outcomes.get((self.agent.name, self.selected or ""))
        if outcome is None or outcome.session_file is None:
            self.say("no session file for this benchmark and agent yet")
            return
        self.say(f"session: {Path(outcome.session_file).resolve()}")

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.value = self.filter_text
        box.focus()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        event.input.remove_class("visible")
        self.rebuild_nav()
        self.query_one("#nav", Tree).focus()

    def _load_runs(self, log_dir: Path) -> None:
        """The latest result of each (agent, benchmark) that `reev run` left in the log
        directory's runs (issue 17, item 11): results.json of each run, oldest run first, so a
        later run's episode replaces an earlier one. Episodes without a session file on disk
        (not run, or deleted since) are skipped. A database (`--db`) is read after this and wins
        where it has the same pair."""
        from reev.runs import list_runs

        agents = {agent.name for agent in self.agents}
        for run in list_runs(log_dir):
            results = run.results()
            for entry in (results or {}).get("results", []):
                if not isinstance(entry, dict):
                    continue
                key = (str(entry.get("agent")), str(entry.get("benchmark_id")))
                session_file = entry.get("session_file")
                if key[0] not in agents or key[1] not in self.benchmarks or not session_file:
                    continue
                if not Path(session_file).is_file():
                    continue
                try:
                    status = ExecutionStatus(str(entry.get("status")))
                except ValueError:
                    continue
                if status.terminal:
                    self.state.outcomes[key] = Outcome(
                        status,
                        entry.get("score"),
                        entry.get("passed"),
                        session_file,
                        entry.get("error"),
                    )

    def _load_latest(self, store: Any) -> None:
        from reev.store import repository as repo

        with store() as session:
            for agent in self.agents:
                for benchmark_id in self.benchmarks:
                    row = repo.latest_execution(session, benchmark_id, agent.name)
                    if row is not None and row.status.terminal:
                        self.state.outcomes[(agent.name, benchmark_id)] = Outcome(
                            row.status, row.score, row.passed, row.session_file, row.error
                        )
