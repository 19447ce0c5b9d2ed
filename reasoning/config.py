"""Typed settings sections owned by ``reasoning``: the LLM engine and the CoAT search.

They are nested under the root ``cogarch.Settings`` (``COGARCH_LLM__MODEL``, ``COGARCH_SEARCH__MAX_NODES``)
and can be built directly when ``reasoning`` is used as a library.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

LOCAL_MODEL = "local/smollm2-135m-instruct"
"""The bundled model: SmolLM2-135M-Instruct, in-process (``reasoning.engines.local``)."""


class LLMSettings(BaseModel):
    """Which language model to use and how to call it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        LOCAL_MODEL,
        description=(
            "Model to use: 'local/smollm2-135m-instruct' (bundled, offline), 'scripted/echo' (tests), or any "
            "litellm model string such as 'openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku-latest', "
            "'ollama/llama3.1' or 'openai/<name>' with api_base for an OpenAI-compatible server."
        ),
    )
    api_base: str | None = Field(None, description="Base URL of an OpenAI-compatible or Ollama server.")
    api_key: SecretStr | None = Field(
        None, description="API key; when unset, litellm reads the provider's variable (e.g. OPENAI_API_KEY)."
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 is greedy.")
    max_tokens: int = Field(160, ge=1, le=32768, description="Default maximum tokens per reply.")
    timeout_s: float = Field(60.0, gt=0, description="Timeout of one model call, in seconds.")
    max_retries: int = Field(3, ge=0, le=20, description="Retries on timeouts, rate limits and 5xx errors.")
    backoff_s: float = Field(
        0.5, ge=0, description="First retry delay; doubles on every retry (with jitter)."
    )
    max_concurrency: int = Field(4, ge=1, description="Maximum model calls in flight at once.")
    requests_per_minute: float | None = Field(None, gt=0, description="Client-side rate limit (None: none).")
    structured_retries: int = Field(
        2, ge=0, le=10, description="Re-asks with the validation error when structured output is invalid."
    )
    device: str = Field("auto", description="Device of the local engine: 'auto', 'cpu' or 'cuda'.")


class SearchSettings(BaseModel):
    """Budgets and constants of the CoAT Monte-Carlo tree search."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_nodes: int = Field(24, ge=1, description="Maximum tree nodes expanded.")
    max_depth: int = Field(4, ge=1, description="Maximum chain length (thoughts from the root).")
    max_tokens: int = Field(4000, ge=1, description="Token budget of one search.")
    max_seconds: float = Field(60.0, gt=0, description="Wall-time budget of one search.")
    branching: int = Field(3, ge=1, le=16, description="Candidate thoughts generated per expansion (K).")
    exploration: float = Field(1.0, ge=0, description="UCT exploration constant c.")
    beta: float = Field(0.5, ge=0, description="Weight of the association score in V(n) = F_g + beta * F_a.")
    auto_escalate: bool = Field(
        False,
        description="Escalate questions to the search when recall confidence is low (costs many calls).",
    )
    escalate_below: float = Field(0.25, ge=0, le=1, description="Recall confidence below which to escalate.")
    accept_value: float = Field(0.9, ge=0, le=1, description="The judge accepts an answer at or above this.")
    associations: int = Field(
        2,
        ge=1,
        le=16,
        description="Memories recalled per node by the agent's associator (each is in the prompts below the node).",
    )
    confidence: Literal["off", "thoughts", "all"] = Field(
        "all",
        description="Nodes valued by the generator's confidence (its mean token probability, no model call; the "
        "evaluator where the engine reports none) instead of the evaluator: 'thoughts' (steps that state no "
        "answer), 'all' (answers too; the search then never stops on a judge's acceptance) or 'off'.",
    )
    answer_from: Literal["path", "tree", "node"] = Field(
        "path",
        description="Where the final answer comes from: 'path' (one last generation from the question and the "
        "associations recalled along the winning path, ranked newest hop first, at most answer_facts), 'tree' "
        "(the same from the associations recalled anywhere in the tree: an ablation) or 'node' (the best node's "
        "own stated answer, concluded at the end of its chain when it states none).",
    )
    recall_from: Literal["step", "thought", "root"] = Field(
        "step",
        description="What a node's associations are recalled for: 'step' (its thought and the memories its "
        "parent recalled, so each hop recalls for what the last hop brought), 'thought' (its thought alone) or "
        "'root' (only the question is recalled for, once, at the root; nodes recall nothing: an ablation).",
    )
    answer_facts: int = Field(
        3, ge=1, le=16, description="Associations the final answer step is given ('path' and 'tree')."
    )
    spell_as_facts: bool = Field(
        True,
        description="The final answer step ('path' and 'tree') writes a name the model nearly copied from its "
        "facts as the facts spell it ('Zoramel' -> 'Zoromtel' when only that name is that close); False "
        "keeps the model's spelling (an ablation).",
    )


__all__ = ["LOCAL_MODEL", "LLMSettings", "SearchSettings"]
