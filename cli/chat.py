"""``cogarch chat``: the terminal chat on the full agent (interactive), or a line-per-message filter (piped)."""

from __future__ import annotations

import contextlib
import json as jsonlib
import re
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from cli import common
from cli.common import console, err_console, handled, print_json
from cli.thinking import ThinkingLine, ctrl_c_stops
from cogarch.clock import ScaledClock
from reasoning.errors import InvalidInputError

HELP = """\
/help                 this help
/memory [query]       what the agent remembers (about the query)
/forget <id|query>    forget one memory, or everything matching a query
/why                  why the last reply recalled what it did
/persona              the profile the agent has of you
/substrate            statistics of your spiking substrate
/think <question>     deliberate with the CoAT tree search
/think <question>     answer with System 2: a CoAT search whose thoughts recall from your memory
                      (with --json, the search's nodes, depth, tokens and chain)
/good  /bad           reward or punish the last reply
/idle <duration>      let time pass (e.g. 30m, 8h, 2d); proactive messages may follow
/model                which model answers
/quit                 leave (Ctrl-D also works; Ctrl-C cancels a reply)"""

IDLE_GRACE_S = 15.0
"""Seconds of silence after the user's last message before the chat's idle work starts (see :class:`Session`)."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``'90s'``, ``'30m'``, ``'8h'``, ``'2d'`` or a bare number of seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInputError(
            f"cannot read the duration {text!r}", hint="use a number with s, m, h or d: 8h"
        )
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def chat(
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Who is talking (the memory namespace).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="LLM: a litellm model string or local/...")
    ] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale", min=0.001, help="Idle time runs this much faster (3600: an hour a second)."
        ),
    ] = 1.0,
    no_proactive: Annotated[
        bool, typer.Option("--no-proactive", help="Never send proactive messages.")
    ] = False,
    idle_after: Annotated[
        float,
        typer.Option(
            "--idle-after",
            min=0.0,
            help="Seconds of silence after your last message before idle work (consolidation, proactive "
            "messages) starts; it holds your next turn until it finishes.",
        ),
    ] = IDLE_GRACE_S,
    json: Annotated[bool, typer.Option("--json", help="Piped mode: print JSON lines.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")] = None,
) -> None:
    """Chat with the agent. With stdin not a terminal, reads one message per line and prints the replies."""
    with handled():
        overrides: dict[str, Any] = {}
        if model:
            overrides["llm"] = {"model": model}
        if no_proactive:
            overrides["proactive"] = {"enabled": False}
        settings = common.load_settings(data_dir, config, **overrides)
        user = user or settings.user
        interactive = sys.stdin.isatty() and not json
        if interactive:
            console.print(f"[dim]cogarch: loading {settings.llm.model} ...[/]", highlight=False)
        from cogarch.agent import Agent

        agent = Agent(settings, clock=ScaledClock(time_scale))
        try:
            agent.resume_pending(user)
            if interactive:
                Session(
                    agent, user, time_scale=time_scale, proactive=not no_proactive, idle_grace_s=idle_after
                ).run()
            else:
                _piped(agent, user, json)
        finally:
            agent.close()


def let_time_pass(agent: Any, seconds: float, user: str) -> list[Any]:
    """``/idle``: move the chat's clock ``seconds`` ahead, then run that idle period, so what happens in it and
    the turns after it are dated after everything before (a second ``/idle 8h`` is the next 8 hours, not the
    same ones again). Returns when the period's consolidation is done too (``/persona`` then shows it)."""
    if isinstance(agent.clock, ScaledClock):
        agent.clock.skip(seconds)
    actions = list(agent.idle(seconds, user=user))
    agent.wait_consolidated(user)
    return actions


def _piped(agent: Any, user: str, as_json: bool) -> None:
    for line in sys.stdin:
        message = line.strip()
        if not message:
            continue
        name, _, question = message.partition(" ")
        think = name == "/think"
        if think and not question.strip():
            raise InvalidInputError("/think needs a question", hint="/think Where does Ann's teacher live?")
        if message.startswith("/") and not think:
            out = _command_text(agent, user, message)
            if out is None:  # /quit or /exit: the rest of the input is not read
                break
            if as_json:
                print_json({"command": message, "output": out})
            else:
                sys.stdout.write(out + "\n")
            continue
        text = question.strip() if think else message
        reply = agent.chat(text, user=user, think=think)
        if as_json:
            print_json(
                {
                    "user": user,
                    "message": text,
                    "reply": reply.text,
                    "recalled": [
                        {"id": r.id, "kind": r.kind, "text": r.text, "score": r.score} for r in reply.recalled
                    ],
                    "tokens": reply.tokens.total_tokens,
                    "latency_s": round(reply.latency_s, 3),
                    **({"search": reply.search} if think else {}),
                }
            )
        else:
            sys.stdout.write(reply.text + "\n")
        sys.stdout.flush()


PIPED_HELP = """\
/help                 this help
/memory [query]       what the agent remembers (about the query)
/forget <id|query>    forget one memory, or everything matching a query
/persona              the profile the agent has of you
/substrate            statistics of your spiking substrate
/think <question>     answer with System 2: a CoAT search whose thoughts recall from your memory
                      (with --json, the search's nodes, depth, tokens and chain)
/good  /bad           reward or punish the last reply
/idle <duration>      let time pass (e.g. 30m, 8h, 2d); proactive messages may follow
/model                which model answers
/quit                 stop reading input (end of input does the same)"""


def _command_text(agent: Any, user: str, line: str) -> str | None:
    """Piped-mode slash commands (those that make sense without a terminal): their output as text, or None
    for /quit and /exit.

    Raises:
        InvalidInputError: a command's argument is missing or unreadable (``/forget``, ``/idle``).
    """
    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in ("/quit", "/exit"):
        return None
    if name == "/help":
        return PIPED_HELP
    if name == "/idle":
        actions = let_time_pass(agent, parse_duration(arg or "1h"), user)
        return (
            "\n".join(
                f"[proactive] {a.content}" + (f" (because: {' -> '.join(a.path)})" if a.path else "")
                for a in actions
            )
            or "(nothing happened)"
        )
    if name == "/memory":
        if arg:
            lines = [f"{r.kind} {r.id} {r.text}" for r in agent.memory.recall(arg, namespace=user, k=10)]
        else:
            lines = _recent(agent, user)
        return "\n".join(lines) or "(nothing remembered yet)"
    if name == "/forget":
        if not arg:
            raise InvalidInputError("/forget needs an id or a query")
        return f"forgot {_forget(agent, user, arg)} item(s)"
    if name in ("/good", "/bad"):
        agent.feedback(1.0 if name == "/good" else -1.0, user=user)
        return "noted"
    if name == "/persona":
        return _persona_text(agent, user)
    if name == "/substrate":
        return jsonlib.dumps(agent.substrate(user).stats(), indent=2, default=str)
    if name == "/model":
        return f"{agent.llm.name} (embedder {agent.context.embedder.name})"
    return f"unknown command in piped mode: {name}; /help lists them"


def _persona_text(agent: Any, user: str) -> str:
    """/persona: one line per slot (``home: Porto``), induced from the current facts at consolidation (what
    exists now: a consolidation still running on the agent's worker adds to it later)."""
    slots = agent.memory.persona(user) if hasattr(agent.memory, "persona") else []
    if not slots:
        return "(no persona yet: it is induced from what you say, at the next consolidation)"
    return "\n".join(f"{s.slot}: {s.value}" for s in slots)


class Session:
    """The interactive chat: prompt_toolkit input with history, rich output, a background idle loop.

    Idle work (the substrate's idle bursts, a proactive message) runs under the user's turn lock and takes
    seconds with the bundled model (7-12 s measured for the first idle call after a turn, when consolidation
    still ran in it; it now runs on the agent's worker, off the turn lock). It starts only after
    ``idle_grace_s`` seconds without a message, so a quick follow-up never waits for it; the grace time still
    counts as idle time once the work starts.
    """

    def __init__(
        self,
        agent: Any,
        user: str,
        *,
        time_scale: float,
        proactive: bool,
        idle_grace_s: float = IDLE_GRACE_S,
        idle_period_s: float = 1.0,
    ) -> None:
        self.agent = agent
        self.user = user
        self.time_scale = time_scale
        self.proactive = proactive
        self.idle_grace_s = idle_grace_s
        self.idle_period_s = idle_period_s
        self._consolidation_error: str | None = None  # the last one shown
        self.last_reply: Any = None
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._last_activity = time.monotonic()

    def run(self) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        history = self.agent.settings.paths.chat_history
        session: PromptSession[str] = PromptSession(history=FileHistory(str(history)))
        console.print(
            f"[bold]cogarch[/] · {self.agent.llm.name} · user [cyan]{self.user}[/] · /help for commands, Ctrl-D to quit",
            highlight=False,
        )
        idle_thread = threading.Thread(target=self._idle_loop, daemon=True)
        with patch_stdout(raw=True):
            if self.proactive:
                idle_thread.start()
            while True:
                try:
                    line = session.prompt("you> ")
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                line = line.strip()
                if not line:
                    continue
                self._busy.set()
                try:
                    if line.startswith("/"):
                        if not self.command(line):
                            break
                    else:
                        self.say(line)
                except KeyboardInterrupt:
                    console.print("[dim](cancelled)[/]")
                    self.agent.cancel_pending(self.user)
                except Exception as exc:
                    from reasoning.errors import CogarchError

                    if isinstance(exc, CogarchError):
                        common.fail(exc)
                    else:
                        err_console.print(f"[red]error:[/] {exc}")
                finally:
                    self._last_activity = time.monotonic()
                    self._busy.clear()
        self._stop.set()
        if idle_thread.is_alive():
            idle_thread.join()  # let a running idle burst finish before the substrate is saved
        console.print("[dim]bye: everything is saved[/]")

    def _idle_loop(self) -> None:
        """While the prompt waits, let idle time pass (scaled) and print proactive messages."""
        last = time.monotonic()
        last_error = ""
        while not self._stop.wait(self.idle_period_s):
            now = time.monotonic()
            if self._busy.is_set():  # the user is talking: that time is not idle
                last = now
                continue
            if now - self._last_activity < self.idle_grace_s:
                continue  # the user may write again soon; the time keeps accumulating in ``last``
            seconds = (now - last) * self.time_scale
            last = now
            try:
                actions = self.agent.idle(seconds, user=self.user)
            except Exception as exc:  # the chat goes on; say once what stopped the idle loop's work
                message = f"{type(exc).__name__}: {exc}"
                if message != last_error:
                    last_error = message
                    console.print(f"\nidle loop: {message}", style="dim", highlight=False, markup=False)
                continue
            last_error = ""
            for action in actions:
                self._show_proactive(action)

    def _show_proactive(self, action: Any) -> None:
        console.print(f"\n[magenta]agent (unprompted):[/] {escape(action.content)}", highlight=False)
        if action.path:
            console.print(
                f"  because: {' -> '.join(action.path)}", style="dim", highlight=False, markup=False
            )

    def say(self, message: str, *, think: bool = False) -> None:
        """Stream the agent's reply. A search (``think``, or an escalated turn) shows one live progress line
        until the reply starts; Ctrl-C during it stops the search, which answers with its best so far."""
        reply = None
        line = ThinkingLine(console)
        started = False
        with contextlib.ExitStack() as stack:
            if think:
                stack.enter_context(ctrl_c_stops(lambda: self._stop_thinking(line)))
                stack.enter_context(line)
            for event in self.agent.stream(message, user=self.user, think=think):
                if event.kind == "token":
                    if not started:
                        line.stop()
                        console.print("[green]agent>[/] ", end="", highlight=False)
                        started = True
                    console.print(event.token, end="", highlight=False, markup=False)
                elif event.kind == "search":
                    line.update(event.data)
                elif event.reply is not None:
                    reply = event.reply
        if not started:
            console.print("[green]agent>[/] ", end="", highlight=False)
        console.print("\n", end="")
        self.last_reply = reply
        error = reply.consolidation_error if reply is not None else None
        if error and error != self._consolidation_error:  # said once per failure; the episodes are kept
            console.print(
                f"  memory consolidation failed: {error} (what you said is stored; it is retried later)",
                style="dim",
                highlight=False,
                markup=False,
            )
        self._consolidation_error = error
        if reply is not None and (reply.recalled or reply.associations):
            console.print(
                f"[dim]  recalled {len(reply.recalled)} · associations {len(reply.associations)} · "
                f"{reply.tokens.total_tokens} tokens · {reply.latency_s:.1f} s · /why for details[/]",
                highlight=False,
            )

    def _stop_thinking(self, line: ThinkingLine) -> None:
        self.agent.interrupt(self.user)
        line.mark_stopping()

    def command(self, line: str) -> bool:
        """Run a slash command; False means quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        agent, user = self.agent, self.user
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            console.print(HELP, highlight=False, markup=False)
        elif name == "/memory":
            items = agent.memory.recall(arg, namespace=user, k=10) if arg else []
            recent = [] if arg else _recent(agent, user)
            if not items and not recent:
                console.print("[dim](nothing remembered yet)[/]")
            for r in items:
                console.print(f"  [cyan]{r.kind}[/] {r.id} [dim]{r.score:.2f}[/] {r.text}", highlight=False)
            for line in recent:
                console.print(f"  {line}", highlight=False, markup=False)
        elif name == "/forget":
            if not arg:
                raise InvalidInputError("/forget needs an id or a query")
            count = _forget(agent, user, arg)
            console.print(f"forgot {count} item(s)")
        elif name == "/why":
            self._why()
        elif name == "/persona":
            console.print(_persona_text(agent, user), highlight=False, markup=False)
        elif name == "/substrate":
            console.print(
                jsonlib.dumps(agent.substrate(user).stats(), indent=2, default=str), highlight=False
            )
        elif name == "/think":
            if not arg:
                raise InvalidInputError("/think needs a question")
            self.say(arg, think=True)
            if self.last_reply is not None and self.last_reply.search:
                s = self.last_reply.search
                console.print(
                    Text(
                        f"  search: {s['nodes']} nodes, depth {s.get('depth', len(s['chain']))}, "
                        f"{s['tokens']} tokens, value {s['value']:.2f}, stopped by {s['stopped_by']}",
                        style="dim",
                    )
                )
                for i, thought in enumerate(s["chain"], 1):
                    console.print(Text(f"  {i}. {thought}", style="dim"))
        elif name in ("/good", "/bad"):
            agent.feedback(1.0 if name == "/good" else -1.0, user=user)
            console.print("[dim]noted[/]")
        elif name == "/idle":
            actions = let_time_pass(agent, parse_duration(arg or "1h"), user)
            if not actions:
                console.print(f"[dim]({arg or '1h'} passed; nothing came to mind)[/]")
            for action in actions:
                self._show_proactive(action)
        elif name == "/model":
            console.print(f"{agent.llm.name} (embedder {agent.context.embedder.name})", highlight=False)
        else:
            console.print(f"unknown command {name}; /help lists them", highlight=False)
        return True

    def _why(self) -> None:
        reply = self.last_reply
        if reply is None:
            console.print("[dim](no reply yet)[/]")
            return
        console.print(
            f"recall confidence {reply.confidence:.2f}; searched: {reply.searched}", highlight=False
        )
        for r in reply.recalled:
            flag = " [red](suspicious: kept out of the prompt)[/]" if r.suspicious else ""
            console.print(f"  [cyan]{r.kind}[/] {r.score:.2f} {r.why}{flag}: {r.text}", highlight=False)
        for a in reply.associations:
            console.print(f"  [magenta]association[/] {a.strength:.2f}: {a.text}", highlight=False)
        timings = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in reply.timings.items())
        console.print(f"[dim]  {timings}[/]", highlight=False)


def _recent(agent: Any, user: str) -> list[str]:
    """The user's ten newest episodes, newest first, one display line each (``/memory`` without a query),
    with the speaker as recall shows it; nothing for a memory without ``episodes``."""
    episodes = getattr(agent.memory, "episodes", None)
    if episodes is None:
        return []
    from memory.memory import embed_text  # the memory is open: its module is loaded

    return [
        f"episode {e.id} {embed_text(e.text, e.speaker)}"
        for e in episodes(namespace=user, limit=10, newest_first=True)
    ]


def _forget(agent: Any, user: str, arg: str) -> int:
    memory = agent.memory
    try:
        result = memory.forget(arg, namespace=user)
    except Exception:
        result = memory.forget(query=arg, namespace=user)
    return int(result) if isinstance(result, int) else len(result or [])
