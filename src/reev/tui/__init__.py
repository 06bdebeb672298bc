"""The terminal cockpit (`reev tui`)."""

from reev.tui.app import ReevTui, default_agents

__all__ = ["ReevTui", "default_agents"]
