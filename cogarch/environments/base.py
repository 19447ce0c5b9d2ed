"""What an environment may tell the agent: never the game's hidden state (:data:`HIDDEN_KEYS`).

The protocol itself (``Environment``, ``CopyableEnvironment``, ``StepResult``) is :mod:`reasoning.environment`,
shared with the search; it is re-exported here for the environments of this package.
"""

from __future__ import annotations

from reasoning.environment import CopyableEnvironment, Environment, StepResult

HIDDEN_KEYS = frozenset(
    {"facts", "walkthrough", "policy_commands", "win_facts", "fail_facts", "game", "extras"}
)
"""Info keys that would reveal hidden state; an environment must never put them in ``StepResult.info``."""


__all__ = ["HIDDEN_KEYS", "CopyableEnvironment", "Environment", "StepResult"]
