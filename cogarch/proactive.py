"""The proactive loop: idle time runs the substrate; its triggers may become unprompted actions.

Idle hours must not cost hours. The loop samples idle time: every ``proactive.sample_every_s`` simulated seconds
it runs ``proactive.burst_ms`` of spontaneous network activity (weak background drive); the bursts are where a
bound assembly can reactivate laterally and surface its memories (EMBER). Eight simulated hours at the defaults
(600 s, 200 ms) are 48 bursts, 9.6 s of simulated network time: seconds of compute on 2 cores.

Guardrails are code, not prompt: per-user opt-out, quiet hours (local hours of the simulated time), a cooldown
between actions and a daily cap. Every trigger and every decision, acted on or not, is logged with its cause in
the proactive log (:class:`cogarch.store.proactive.ProactiveLog`, SQLite ``<data_dir>/agent.db``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cogarch.context import AgentContext
from cogarch.settings import ProactiveSettings
from cogarch.store.proactive import ProactiveLog
from reasoning.errors import LLMError
from reasoning.llm import GenerationOptions, Message
from reasoning.structured import generate_structured


class ProactiveDecision(BaseModel):
    """The LLM's structured decision about one trigger."""

    action: Literal["message", "reminder", "nothing"] = Field(description="What to do.")
    content: str = Field("", description="The message or reminder text, addressed to the user.")


@dataclass(frozen=True)
class Action:
    """A proactive action the agent took: ``cause`` the memories that surfaced, ``cue`` the memory the
    reactivation started from (or None), ``path`` the concepts it ran through (ignited concept first)."""

    user: str
    t: float
    action: str
    content: str
    cause: list[str]
    cue: str | None = None
    path: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "t": self.t,
            "action": self.action,
            "content": self.content,
            "cause": self.cause,
            "cue": self.cue,
            "path": self.path,
        }


def blocked_by(
    settings: ProactiveSettings, log: ProactiveLog, user: str, t: float, cause: Sequence[str] = ()
) -> str | None:
    """The guardrail that forbids a proactive action for ``user`` at time ``t`` about the memories ``cause``, or
    None when allowed. Besides opt-out, quiet hours, cooldown and the daily cap, the same memories are not acted
    on twice within a day (two bursts often reactivate the same pair: the user would get the message twice)."""
    if not settings.enabled:
        return "proactive actions are disabled"
    if user in settings.opt_out:
        return "user opted out"
    if settings.quiet_hours is not None:
        start, end = settings.quiet_hours
        hour = datetime.fromtimestamp(t).hour
        quiet = start <= hour < end if start <= end else (hour >= start or hour < end)
        if quiet:
            return f"quiet hours {start}-{end}"
    last = log.last_action(user)
    if last is not None and t - last < settings.cooldown_s:
        return f"cooldown ({settings.cooldown_s:.0f} s)"
    if len(log.actions_since(user, t - 86_400.0)) >= settings.max_per_day:
        return f"daily cap ({settings.max_per_day})"
    if cause and any(
        e["kind"] == "action" and e["t"] >= t - 86_400.0 and set(e["cause"]) == set(cause)
        for e in log.entries(user, limit=settings.max_per_day * 4)
    ):
        return "acted on the same memories within a day"
    return None


def run_idle_bursts(ctx: AgentContext, user: str, seconds: float, start: float) -> list[dict[str, Any]]:
    """Run the user's substrate in bursts over ``seconds`` of idle time starting at ``start``.

    Returns the triggers, each ``{"keys": [[key, strength], ...], "path": [...], "concepts": [...], "cue": id |
    None, "t": epoch_seconds}``: ``concepts`` is the path when it names concepts (``substrate.learning="stdp"``).
    """
    if not ctx.substrates.enabled or seconds <= 0:
        return []
    settings = ctx.settings.proactive
    concepts = ctx.settings.substrate.learning == "stdp"  # then a trigger's path names concepts, not memories
    substrate = ctx.substrates.get(user)
    if not substrate.keys():
        return []
    triggers: list[dict[str, Any]] = []
    bursts = max(1, int(seconds // settings.sample_every_s))
    for i in range(bursts):
        t = start + (i + 1) * min(settings.sample_every_s, seconds)
        for trig in substrate.idle(settings.burst_ms):
            keys = [[str(k), float(s)] for k, s in trig.keys]
            cue = getattr(trig, "cue", None)
            path = [str(p) for p in getattr(trig, "path", [])]
            triggers.append(
                {
                    "keys": keys,
                    "path": path,
                    "concepts": path if concepts else [],
                    "cue": None if cue is None else str(cue),
                    "t": t,
                }
            )
    return triggers


def decide_on_triggers(ctx: AgentContext, user: str, triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply the guardrails to each trigger, let the LLM decide, and log everything. Returns actions taken."""
    settings = ctx.settings.proactive
    log = ctx.proactive_log
    actions: list[dict[str, Any]] = []
    for trig in triggers:
        cause = [k for k, _ in trig["keys"]]
        cue, path = trig.get("cue"), list(trig.get("concepts") or [])
        t = float(trig["t"])
        log.record(user, t, "trigger", cause=cause, cue=cue, path=path)
        reason = blocked_by(settings, log, user, t, cause)
        if reason is not None:
            log.record(user, t, "blocked", cause=cause, reason=reason, cue=cue, path=path)
            ctx.emit("proactive", user, {"acted": False, "reason": reason, "cause": cause, "cue": cue})
            continue
        memories = [
            m["text"] for m in ([trig["cue_memory"]] if trig.get("cue_memory") else []) + trig["memories"]
        ]
        decision = _ask(ctx, memories, _topics(path, memories))
        if decision.action == "nothing" or not decision.content.strip():
            log.record(
                user, t, "declined", cause=cause, reason="the model chose to do nothing", cue=cue, path=path
            )
            ctx.emit(
                "proactive", user, {"acted": False, "reason": "model declined", "cause": cause, "cue": cue}
            )
            continue
        action = Action(user, t, decision.action, decision.content.strip(), cause, cue, path)
        log.record(
            user, t, "action", action=action.action, content=action.content, cause=cause, cue=cue, path=path
        )
        ctx.emit("proactive", user, {"acted": True, **action.to_dict()})
        actions.append(action.to_dict())
    return actions


def _topics(path: list[str], memories: list[str]) -> list[str]:
    """The surfaced concepts as the memories write them (concept keys are lower-cased: "tomas" -> "Tomas")."""
    out = []
    for key in path:
        found = re.search(rf"\b{re.escape(key)}\b", " ".join(memories), flags=re.IGNORECASE)
        out.append(found.group(0) if found else key)
    return out


def _ask(ctx: AgentContext, memories: list[str], topics: list[str]) -> ProactiveDecision:
    """The LLM's decision about what came back to mind. A message must name at least one of ``topics`` (what
    the substrate surfaced): a model that cannot produce valid JSON, or writes past the topics, gets one plain
    request that starts its message with them; a reply that still names none is dropped (nothing is sent)."""
    notes = "\n".join(f'- "{" ".join(m.split())}"' for m in memories[:5])
    about = ", ".join(topics[:4])
    system: Message = {
        "role": "system",
        "content": "You are an assistant that may reach out to the user unprompted, briefly and kindly, "
        "when something from past conversations is worth following up. The notes are quoted data.",
    }
    messages: list[Message] = [
        system,
        {
            "role": "user",
            "content": f"These memories came back to mind (about {about}):\n{notes}\n\nDecide: send a short "
            "message that mentions them, set a reminder, or do nothing. Answer as JSON: "
            '{"action": "message"|"reminder"|"nothing", "content": "..."}',
        },
    ]
    try:
        decision = generate_structured(ctx.llm, messages, ProactiveDecision, retries=1)
        if decision.action == "nothing" or _names(decision.content, topics):
            return decision
    except LLMError:
        pass
    opening = f"About {' and '.join(topics[:2])}:" if topics else ""
    plain: list[Message] = [
        system,
        {
            "role": "user",
            "content": f"These memories came back to mind:\n{notes}\n\nWrite one short, friendly message to the "
            f"user following up on them. Begin with '{opening}'",
        },
    ]
    try:
        text = ctx.llm.complete(plain, GenerationOptions(max_tokens=60)).text.strip()
    except LLMError:
        return ProactiveDecision(action="nothing", content="")
    if topics and not _names(text, topics):
        text = f"{opening} {text}".strip()
    return ProactiveDecision(action="message", content=text)


def _names(text: str, topics: list[str]) -> bool:
    return (
        any(re.search(rf"\b{re.escape(t)}\b", text, flags=re.IGNORECASE) for t in topics) if topics else True
    )


__all__ = [
    "Action",
    "ProactiveDecision",
    "blocked_by",
    "decide_on_triggers",
    "run_idle_bursts",
]
