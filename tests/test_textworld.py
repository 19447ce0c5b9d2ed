"""TextWorld episodes on real generated games: replay reproduces scores, no hidden state, clear errors,
interrupted runs keep traces, the CLI, LLM plumbing (scripted, structured choice, litellm stub)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cogarch.environments import HIDDEN_KEYS, TextWorldEnv, check_game_file
from cogarch.episodes import (
    GameContext,
    PolicyAgent,
    WorldModelPolicy,
    load_script,
    read_trace,
    replay_commands,
    run_episode,
    run_script,
)
from cogarch.episodes.games import GeneratorSpec, build_game
from cogarch.episodes.policy import Weights
from reasoning.engines.scripted import ScriptedLLM
from reasoning.errors import InvalidInputError, MissingResourceError
from reasoning.llm import Completion, GenerationOptions, Message, Usage


@pytest.fixture(scope="session")
def games(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cache = tmp_path_factory.mktemp("tw-games")
    return {
        "coin": build_game(GeneratorSpec(generator="tw-coin_collector", seed=7, options={"level": 5}), cache),
        "cook": build_game(
            GeneratorSpec(
                generator="tw-cooking", seed=11, options={"recipe": 1, "take": 1, "go": 1, "cut": True}
            ),
            cache,
        ),
    }


def _play(
    game: Path,
    *,
    truth: bool,
    trace: Path | None = None,
    llm: Any = None,
    steps: int = 60,
    weights: Weights | None = None,
) -> Any:
    env = TextWorldEnv(game, truth=truth)
    policy = WorldModelPolicy("full", seed=3, weights=weights)
    try:
        return run_episode(
            env,
            PolicyAgent(policy, llm=llm),
            max_steps=steps,
            trace_path=trace,
            world=(lambda: policy.world) if truth else None,
        )
    finally:
        env.close()


def test_build_is_cached(games: dict[str, Path], tmp_path: Path) -> None:
    spec = GeneratorSpec(generator="tw-coin_collector", seed=7, options={"level": 5})
    again = build_game(spec, games["coin"].parent)
    assert again == games["coin"]


@pytest.mark.parametrize("name", ["coin", "cook"])
def test_trace_replay_reproduces_score(games: dict[str, Path], tmp_path: Path, name: str) -> None:
    trace = tmp_path / "t.jsonl"
    res = _play(games[name], truth=True, trace=trace)
    records = read_trace(trace)
    assert records[0]["step"] == 0 and records[0]["command"] is None
    assert all({"step", "command", "observation", "score"} <= set(r) for r in records)
    assert records[-1]["score"] == res.score and len(records) == res.steps + 1
    assert [round(r["latency_s"], 4) for r in records[1:]] == res.step_latencies
    fresh = TextWorldEnv(games[name])
    try:
        final = replay_commands(fresh, [r["command"] for r in records[1:]])
    finally:
        fresh.close()
    assert final.score == res.score
    if name == "coin":
        assert res.won  # a 5-room coin collector with the instructions in the objective


def test_agent_never_reads_hidden_state(games: dict[str, Path], tmp_path: Path) -> None:
    env = TextWorldEnv(games["cook"])
    first = env.reset()
    assert not HIDDEN_KEYS & set(first.info)
    with pytest.raises(Exception, match="not requested"):
        env.true_facts()
    env.close()
    seen: list[set[str]] = []

    class Spy(WorldModelPolicy):
        def choose(self, ctx: GameContext) -> str:
            seen.append(set(ctx.info))
            return super().choose(ctx)

    env = TextWorldEnv(games["cook"])
    policy = Spy("full", seed=3)
    without = run_episode(env, PolicyAgent(policy), max_steps=40, trace_path=tmp_path / "a.jsonl")
    env.close()
    assert seen and all(not HIDDEN_KEYS & keys for keys in seen)
    with_truth = _play(games["cook"], truth=True, trace=tmp_path / "b.jsonl", steps=40)
    # the hidden facts (available only for scoring) change nothing in the agent's behaviour
    cmds_a = [r["command"] for r in read_trace(tmp_path / "a.jsonl")]
    cmds_b = [r["command"] for r in read_trace(tmp_path / "b.jsonl")]
    assert cmds_a == cmds_b and without.score == with_truth.score
    assert with_truth.wm_precision is not None and with_truth.wm_precision > 0.5


def test_missing_and_corrupt_game_files(games: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError, match="does not exist"):
        check_game_file(tmp_path / "nope.z8")
    bad = tmp_path / "bad.z8"
    bad.write_bytes(b"this is not a story file" * 10)
    bad.with_suffix(".json").write_text("{}")
    with pytest.raises(InvalidInputError, match="corrupt"):
        TextWorldEnv(bad)
    lonely = tmp_path / "lonely.z8"
    shutil.copy(games["coin"], lonely)
    with pytest.raises(MissingResourceError, match="json"):
        check_game_file(lonely)
    with pytest.raises(InvalidInputError):
        check_game_file(tmp_path / "x.txt") if (tmp_path / "x.txt").write_text("x") else None


def test_option_scoring_llm_steers_the_choice(games: dict[str, Path]) -> None:
    prompts: list[Sequence[Message]] = []

    def score(messages: Sequence[Message], option: str) -> float:
        prompts.append(messages)
        return 5.0 if option.startswith("examine") else 0.0

    env = TextWorldEnv(games["cook"])
    res = env.reset()
    policy = WorldModelPolicy("full", seed=0, weights=Weights(llm=10.0, unsure=float("inf")))
    cmd = policy.choose(GameContext(res.observation, res.admissible, res.info, llm=ScriptedLLM(score=score)))
    env.close()
    assert cmd.startswith("examine") and prompts
    assert "Goal:" in prompts[0][-1]["content"]


def test_the_llm_is_asked_only_where_the_rules_are_unsure(games: dict[str, Path]) -> None:
    """By default the LLM re-ranks only the commands the rules value (nearly) alike; a clear winner costs no
    call, and a step with a tie asks about the tied commands only."""
    asked: list[list[str]] = []

    class Scorer:
        name = "scorer"

        def complete(self, messages: Any, options: Any = None) -> Any:
            raise NotImplementedError

        def stream(self, messages: Any, options: Any = None) -> Any:
            raise NotImplementedError

        def score_options(
            self, messages: Any, options: Sequence[str], *, normalize: bool = True
        ) -> list[float]:
            asked.append(list(options))
            return [0.0] * len(options)

    env = TextWorldEnv(games["cook"])
    policy = WorldModelPolicy("full", seed=0)
    res = env.reset()
    steps = 0
    while not res.done and steps < 25:
        before = len(asked)
        cmd = policy.choose(GameContext(res.observation, res.admissible, res.info, llm=Scorer()))
        values = policy.last_scores
        if len(asked) > before:  # asked: about the commands within `unsure` of the best only
            best = max(values.values())
            assert len(asked[-1]) >= 2
            assert all(best - values[c] <= policy.w.unsure + 1e-9 for c in asked[-1])
        else:
            assert len(values) == 1  # a clear winner: nothing else was a contender
        res = env.step(cmd)
        policy.observe(GameContext(res.observation), cmd, res.observation, res.reward, res.done)
        steps += 1
    env.close()
    assert 0 < len(asked) < steps  # some steps were unsure, most were not


class _ChoiceLLM:
    """An LLM without option scoring: answers the structured choice with index 0."""

    name = "choice"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        self.calls += 1
        return Completion(text='{"index": 0}', usage=Usage(10, 3))

    def stream(self, messages: Any, options: Any = None) -> Any:
        raise NotImplementedError


def test_structured_choice_for_llms_without_scoring(games: dict[str, Path]) -> None:
    llm = _ChoiceLLM()
    res = _play(games["cook"], truth=False, llm=llm, steps=10)  # near-ties: the coin game's choices are clear
    assert llm.calls > 0 and res.tokens > 0


def test_ablations_and_random_run(games: dict[str, Path]) -> None:
    from cogarch.episodes import make_policy

    for ablation in ("no-memory", "full-history", "rag", "random"):
        env = TextWorldEnv(games["coin"])
        res = run_episode(env, PolicyAgent(make_policy(ablation, 0)), max_steps=15)  # type: ignore[arg-type]
        env.close()
        assert 0 < res.steps <= 15


def _script(tmp_path: Path, game: Path, runs: int = 2) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(
        f"name: coin\nenvironment:\n  textworld:\n    game: {game}\nmax_steps: 40\nruns: {runs}\n"
        "expect:\n  min_score: 1.0\n"
    )
    return p


def test_interrupted_run_keeps_completed_traces(games: dict[str, Path], tmp_path: Path) -> None:
    script = load_script(_script(tmp_path, games["coin"], runs=3))
    calls = {"n": 0}

    class Boom:
        def act(self, *a: Any, **k: Any) -> Any:
            raise KeyboardInterrupt

        def close(self) -> None:
            return None

    def factory(policy: Any, run: int) -> Any:
        calls["n"] += 1
        return PolicyAgent(policy) if run == 0 else Boom()

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_script(script, out, agent_factory=factory, cache_dir=tmp_path / "cache")
    results = json.loads((out / "results.json").read_text())
    assert [r["run"] for r in results["runs"]] == [0]
    assert read_trace(out / "coin-run0.jsonl")[-1]["score"] == results["runs"][0]["score"]


def test_cli_play_json_and_episode_run(games: dict[str, Path], tmp_path: Path) -> None:
    from cli.episode_cmd import app as episode_app
    from cli.textworld_cmd import app as tw_app

    runner = CliRunner()
    trace = tmp_path / "play.jsonl"
    r = runner.invoke(
        tw_app,
        [
            "play",
            str(games["coin"]),
            "--max-steps",
            "40",
            "--seed",
            "1",
            "--trace",
            str(trace),
            "--json",
            "--direct",
            "--no-llm",
            "--data-dir",
            str(tmp_path / "d"),
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout.strip())
    assert {"score", "max_score", "steps", "won", "tokens"} <= set(data)
    assert read_trace(trace)[-1]["score"] == data["score"]
    out = tmp_path / "ep"
    r = runner.invoke(
        episode_app,
        [
            "run",
            str(_script(tmp_path, games["coin"])),
            "--out",
            str(out),
            "--direct",
            "--no-llm",
            "--data-dir",
            str(tmp_path / "d"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout.strip())
    assert len(result["runs"]) == 2 and result["passed"]
    assert (out / "coin-run0.jsonl").is_file() and (out / "coin-run1.jsonl").is_file()
    r = runner.invoke(tw_app, ["play", str(tmp_path / "missing.z8"), "--json", "--direct", "--no-llm"])
    assert r.exit_code == 3 and "does not exist" in " ".join(r.output.split())
    bad = tmp_path / "bad.yaml"
    bad.write_text("environment:\n  textworld:\n    gam: x.z8\n")
    r = runner.invoke(episode_app, ["run", str(bad), "--direct", "--no-llm"])
    assert r.exit_code == 2 and "environment.textworld.gam" in "".join(r.output.split())


def test_scripted_conversation_episode(tmp_path: Path) -> None:
    from cogarch.episodes.script import parse_script

    script = parse_script(
        {
            "name": "conv",
            "environment": {
                "conversation": {
                    "turns": [
                        {"user": "My sister lives in Porto."},
                        {"user": "Where does she live?", "must_recall": ["Porto"]},
                    ]
                }
            },
        }
    )

    class Reply:
        def __init__(self, text: str, recalled: list[str]) -> None:
            self.text, self.recalled, self.tokens = text, recalled, 3

    class Chat:
        def __init__(self) -> None:
            self.said: list[str] = []

        def chat(self, message: str, *, user: str) -> Reply:
            hits = [s for s in self.said if "porto" in s.lower() and "where" in message.lower()]
            self.said.append(message)
            return Reply("ok", hits)

        def close(self) -> None:
            return None

    result = run_script(script, tmp_path / "o", agent_factory=lambda p, i: Chat(), cache_dir=tmp_path / "c")
    assert result.passed and result.runs[0]["score"] == 1.0


def test_hosted_model_plumbing_via_stub_server(games: dict[str, Path]) -> None:
    from reasoning.config import LLMSettings
    from reasoning.engines import build_llm
    from reasoning.testing.stub_server import StubReply, StubServer

    with StubServer() as server:
        for _ in range(12):
            server.enqueue(StubReply('{"index": 0}'))
        llm = build_llm(
            LLMSettings(model="openai/stub", api_base=server.url, api_key="x", max_retries=0),
            cache_dir=Path("/tmp"),
        )
        # the model re-ranks every contender (not only ties), so it is asked within a few steps
        res = _play(games["cook"], truth=False, llm=llm, steps=6, weights=Weights(unsure=float("inf")))
        assert res.steps > 0 and server.requests


def test_the_full_agent_plays_through_its_cognitive_cycle(games: dict[str, Path], tmp_path: Path) -> None:
    """The same Agent that chats plays: observations go through perceive/encode/recall/act/learn, land in
    memory, and the policy sees what memory recalled."""
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder
    from reasoning.engines.scripted import ScriptedLLM

    policy = WorldModelPolicy("full", seed=3)
    seen_recalled: list[int] = []
    choose = policy.choose

    def spying_choose(ctx: GameContext) -> str:
        seen_recalled.append(len(ctx.recalled))
        return choose(ctx)

    policy.choose = spying_choose  # type: ignore[method-assign]
    env = TextWorldEnv(games["coin"])
    with Agent.open(
        tmp_path / "agent",
        llm=ScriptedLLM(),
        embedder=HashEmbedder(64),
        policy=policy,
        substrate={"enabled": False},
    ) as agent:
        try:
            result = run_episode(env, agent, user="player", max_steps=40)
        finally:
            env.close()
        episodes = agent.memory.episodes(namespace="player")
    assert result.steps > 0
    assert len(episodes) == 2 * result.steps  # each observation and each command is remembered
    assert max(seen_recalled) > 0  # later steps see recalled observations
    assert result.score == pytest.approx(result.max_score) or result.steps == 40


def test_cli_eval_reports_scores_and_world_model_accuracy(games: dict[str, Path], tmp_path: Path) -> None:
    from cli.textworld_cmd import app as tw_app

    args = [str(games["coin"]), "--runs", "1", "--max-steps", "30", "--direct", "--no-llm", "--json"]
    r = CliRunner().invoke(tw_app, ["eval", *args, "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert "score" in text and ("precision" in text or "wm_precision" in text)
    bad = CliRunner().invoke(tw_app, ["eval", str(games["coin"]), "--ablation", "telepathy", "--direct"])
    assert bad.exit_code == 2


def test_lookahead_is_consulted_among_the_contenders(games: dict[str, Path]) -> None:
    seen: list[list[str]] = []

    def look(goal: str, observation: str, candidates: Sequence[str]) -> str | None:
        seen.append(list(candidates))
        return candidates[-1]

    env = TextWorldEnv(games["cook"])
    res = env.reset()
    policy = WorldModelPolicy("full", seed=0, lookahead=look)
    policy.w.lookahead = 100.0  # every top-k command is then a contender, and the pick must win
    cmd = policy.choose(GameContext(res.observation, res.admissible, res.info))
    env.close()
    assert seen and len(seen[0]) > 1 and cmd == seen[0][-1]


def test_env_lookahead_plays_on_copies_and_the_trace_still_replays(
    games: dict[str, Path], tmp_path: Path
) -> None:
    from cogarch.episodes.lookahead import EnvLookahead, build_lookahead
    from cogarch.episodes.session import play_game
    from reasoning.config import SearchSettings

    settings = SearchSettings(max_nodes=4, max_depth=2, branching=2)
    env = TextWorldEnv(games["cook"])
    res = env.reset()
    env.step(res.admissible[0])
    look = build_lookahead(env, None, settings)
    pick = look("take the knife", "", ["look", "inventory", "examine knife"])
    assert pick in {"look", "inventory"} and env.commands == [res.admissible[0]]  # the real game never moved
    assert look.calls == 1 and look.last_result is not None and len(look.last_result.tree.nodes) > 1
    env.close()

    made: list[EnvLookahead] = []

    def factory(game_env: TextWorldEnv) -> EnvLookahead:
        made.append(build_lookahead(game_env, ScriptedLLM(score=lambda m, o: -len(o)), settings))
        return made[-1]

    policy = WorldModelPolicy("full", seed=1)
    trace = tmp_path / "look.jsonl"
    out = play_game(
        games["cook"],
        PolicyAgent(policy),
        policy,
        user="u",
        max_steps=12,
        trace_path=trace,
        lookahead=factory,
    )
    assert made and made[0].calls > 0 and policy.lookahead is made[0]
    fresh = TextWorldEnv(games["cook"])
    try:
        final = replay_commands(fresh, [r["command"] for r in read_trace(trace)[1:]])
    finally:
        fresh.close()
    assert final.score == out.score


def test_cli_play_with_lookahead(games: dict[str, Path], tmp_path: Path) -> None:
    from cli.textworld_cmd import app as tw_app

    args = ["play", str(games["cook"]), "--max-steps", "5", "--json", "--direct", "--no-llm", "--lookahead"]
    r = CliRunner().invoke(tw_app, [*args, "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout.strip())
    assert data["lookahead"] is True and data["steps"] == 5


def test_the_agent_reports_the_policys_llm_tokens(games: dict[str, Path], tmp_path: Path) -> None:
    """Tokens the policy spends asking the LLM reach ActResult.tokens through the act node; a policy told not
    to consult the LLM spends none."""
    from cogarch.agent import Agent
    from memory.embedders.base import HashEmbedder

    for consult, expect_tokens in ((True, True), (False, False)):
        llm = _ChoiceLLM()
        policy = WorldModelPolicy("full", seed=3, consult_llm=consult)
        env = TextWorldEnv(games["cook"])
        with Agent.open(
            tmp_path / f"agent-{consult}",
            llm=llm,
            embedder=HashEmbedder(64),
            policy=policy,
            substrate={"enabled": False},
        ) as agent:
            try:
                result = run_episode(env, agent, user="player", max_steps=10)
            finally:
                env.close()
        assert (result.tokens > 0) is expect_tokens and (llm.calls > 0) is expect_tokens


def test_llm_triplet_extraction_through_a_hosted_model(tmp_path: Path) -> None:
    """AriGraph-style extraction: the observation goes to the model with the extraction prompt and a JSON schema
    (structured output); the triplets it returns enter the world model, and a moved thing's old place is
    dropped. A reply that is not the schema adds nothing and does not fail the step."""
    from cogarch.worldmodel import Triplet, WorldModel
    from cogarch.worldmodel.extraction import LLMExtractor
    from reasoning.config import LLMSettings
    from reasoning.engines import build_llm
    from reasoning.testing.stub_server import StubReply, StubServer

    first = '{"triplets": [{"subject": "Brass Key", "relation": "on", "object": "shelf"}, ' + (
        '{"subject": "cellar door", "relation": "is", "object": "locked"}]}'
    )
    second = '{"triplets": [{"subject": "brass key", "relation": "in", "object": "inventory"}]}'
    with StubServer() as server:
        server.enqueue(StubReply(first), StubReply(second), StubReply("not json at all"))
        llm = build_llm(
            LLMSettings(model="openai/stub", api_base=server.url, api_key="x", max_retries=0),
            cache_dir=tmp_path,
        )
        extractor = LLMExtractor(llm)
        wm = WorldModel(extractor=extractor)
        wm.observe("-= Pantry =-\nA brass key lies on a shelf. The cellar door is locked.")
        assert Triplet("brass key", "on", "shelf") in wm.graph.triplets
        assert Triplet("cellar door", "is", "locked") in wm.graph.triplets
        wm.observe("You take the brass key.", command="take brass key")
        assert Triplet("brass key", "in", "inventory") in wm.graph.triplets
        assert Triplet("brass key", "on", "shelf") not in wm.graph.triplets  # the old place is invalidated
        wm.observe("Nothing happens.", command="wait")
        assert extractor.tokens > 0
        sent = server.requests[0]
        assert "brass key lies on a shelf" in json.dumps(sent) and "triplets" in json.dumps(sent)
        assert sent.get("response_format")  # structured output was requested


def test_the_world_model_is_a_graph_of_facts_in_the_agents_memory(
    games: dict[str, Path], tmp_path: Path
) -> None:
    """Through ``Agent.act``: each step the policy's graph is read from memory's current facts and its changes
    are written back, sourced by the observation's episode; a thing taken closes its old place (kept, with
    ``superseded_by``) and recall finds the new one. The no-memory ablation writes and reads no facts."""
    from cogarch.agent import Agent
    from cogarch.worldmodel import MemoryFacts
    from memory.embedders.base import HashEmbedder

    for ablation in ("full", "no-memory"):
        policy = WorldModelPolicy(ablation, seed=3)
        env = TextWorldEnv(games["cook"])
        with Agent.open(
            tmp_path / ablation,
            llm=ScriptedLLM(),
            embedder=HashEmbedder(64),
            policy=policy,
            substrate={"enabled": False},
        ) as agent:
            same: list[bool] = []
            check = _compare(MemoryFacts(agent.memory, "player"), policy, same)
            try:
                run_episode(env, agent, user="player", max_steps=25, on_step=check)
            finally:
                env.close()
            stored = agent.memory.facts(namespace="player")
            if ablation == "no-memory":
                assert stored == []
                continue
            assert same and all(same)
            current = {f.id: f for f in stored if f.current}
            assert ("you", "at", policy.world.room) in {
                (f.subject, f.relation, f.object) for f in current.values()
            }
            taken = [f for f in stored if f.relation == "in" and f.object == "inventory"]
            assert taken, "the policy takes something within 25 steps"
            thing = taken[0]
            before = [f for f in stored if f.superseded_by == thing.id]
            assert before and before[0].subject == thing.subject and before[0].relation in {"in", "on", "at"}
            assert before[0].object != "inventory" and before[0].valid_to == thing.valid_from
            assert before[0] in agent.memory.facts(namespace="player", as_of=before[0].valid_from)  # the past
            assert all(agent.memory.get(s, namespace="player") for f in stored for s in f.sources)  # episodes
            now = [f for f in current.values() if f.subject == thing.subject]
            assert len(now) <= 1  # one place at a time
            if now:
                recalled = agent.memory.recall(f"where is the {thing.subject}", namespace="player", k=10)
                about = [r.text for r in recalled if r.kind == "fact" and r.text.startswith(thing.subject)]
                assert about[0] == now[0].text  # recall gives the current place first


def _compare(facts: Any, policy: WorldModelPolicy, out: list[bool]) -> Any:
    """A step callback noting whether memory's current world facts are the policy's graph."""
    return lambda _record: out.append(facts.load() == policy.world.graph.triplets)
