"""Scoring: assertions on the final state, instruction matching, transaction outcome."""

from reev.scoring.assertions import addresses_to_capture
from reev.scoring.checks import Check
from reev.scoring.profiles import PROFILES, Breakdown, Profile, Score, score_episode

__all__ = [
    "PROFILES",
    "Breakdown",
    "Check",
    "Profile",
    "Score",
    "addresses_to_capture",
    "score_episode",
]
