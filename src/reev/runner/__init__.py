"""Running benchmarks: episodes, flows, suites and session files."""

from reev.runner.episode import EpisodeResult, run_episode
from reev.runner.session import SessionFile, read_session
from reev.runner.suite import SuiteResult, episode_seed, run_suite

__all__ = [
    "EpisodeResult",
    "SessionFile",
    "SuiteResult",
    "episode_seed",
    "read_session",
    "run_episode",
    "run_suite",
]
