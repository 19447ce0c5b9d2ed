"""The bundled SmolLM2 engine: cache round-trip, chat, stop strings, option scoring (integration)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from reasoning.config import LLMSettings
from reasoning.engines import build_llm
from reasoning.engines.local import CACHE_SUBDIR, LocalEngine
from reasoning.errors import ConfigError
from reasoning.llm import GenerationOptions, OptionScorer, PromptCoster, system, user

MODEL_CACHE = Path(tempfile.gettempdir()) / "cogarch-test-models"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local() -> LocalEngine:
    return LocalEngine(cache_dir=MODEL_CACHE, device="cpu", max_tokens=32)


def test_cache_is_written_and_reused(local: LocalEngine) -> None:
    assert (MODEL_CACHE / CACHE_SUBDIR / "model.safetensors").is_file()
    again = LocalEngine(cache_dir=MODEL_CACHE, device="cpu")
    assert again.loaded_from_cache
    prompt = [user("What is the capital of France?")]
    options = GenerationOptions(max_tokens=10)
    assert again.complete(prompt, options).text == local.complete(prompt, options).text


def test_answers_a_chat(local: LocalEngine) -> None:
    completion = local.complete([user("What is the capital of France?")], GenerationOptions(max_tokens=20))
    assert "Paris" in completion.text
    assert completion.usage.prompt_tokens > 5 and 0 < completion.usage.completion_tokens <= 20


def test_a_reply_reports_its_mean_token_log_probability(local: LocalEngine) -> None:
    prompt = [user("What is the capital of France? One short sentence.")]
    completion = local.complete(prompt, GenerationOptions(max_tokens=40))
    assert completion.finish_reason == "stop" and completion.logprob is not None
    # the same number as scoring the reply (its tokens and the end of turn) as an option, per token
    assert completion.logprob == pytest.approx(local.score_options(prompt, [completion.text])[0], abs=0.01)


def test_stop_strings_never_leak(local: LocalEngine) -> None:
    options = GenerationOptions(max_tokens=40, stop=("5",))
    chunks = list(local.stream([user("Count from 1 to 10, one number per line.")], options))
    text = "".join(c.delta for c in chunks)
    assert "5" not in text and "4" in text
    assert chunks[-1].finish_reason == "stop"


def test_sampling_is_seeded(local: LocalEngine) -> None:
    prompt = [user("Tell me a word.")]
    a = local.complete(prompt, GenerationOptions(max_tokens=8, temperature=1.0, seed=3)).text
    b = local.complete(prompt, GenerationOptions(max_tokens=8, temperature=1.0, seed=3)).text
    assert a == b


def test_avoid_keeps_the_reply_from_copying_an_earlier_one(local: LocalEngine) -> None:
    """Greedy, the bundled model gives a follow-up question its previous answer again; ``avoid`` bans every
    continuation of a 5-token run of it, and nothing else (a schema reply ignores it)."""
    from reasoning.engines.local import AVOID_NGRAM

    prompt = [user("Describe the sea in one sentence.")]
    first = local.complete(prompt, GenerationOptions(max_tokens=24)).text
    again = local.complete(prompt, GenerationOptions(max_tokens=24)).text
    other = local.complete(prompt, GenerationOptions(max_tokens=24, avoid=(first,))).text
    assert again == first and other.strip() and other != first

    def runs(text: str) -> set[tuple[int, ...]]:
        ids = local._tokenizer.encode(text)
        return {tuple(ids[i : i + AVOID_NGRAM]) for i in range(len(ids) - AVOID_NGRAM + 1)}

    assert runs(first) and not runs(first) & runs(other)


def test_option_scoring_is_batched_equivalent_and_sensible(local: LocalEngine) -> None:
    import torch

    messages = [
        system("You play a text adventure. Reply with one command."),
        user("You are in a kitchen. The fridge is closed. You are hungry. What do you do?"),
    ]
    options = ["open fridge", "eat the door", "xyzzy plugh", "go north"]
    scores = local.score_options(messages, options)
    totals = local.score_options(messages, options, normalize=False)
    # Reference: each option scored alone with a full forward pass, no shared cache.
    prompt = local._prompt_ids(messages)
    for option, score, total in zip(options, scores, totals, strict=True):
        ids = [*local._tokenizer.encode(option), local._im_end]
        with torch.inference_mode():
            logits = local._model(torch.tensor([prompt + ids]), local._model.new_cache())
            logprobs = logits[0].log_softmax(-1)
        reference = sum(float(logprobs[len(prompt) - 1 + i, t]) for i, t in enumerate(ids))
        assert total == pytest.approx(reference, abs=1e-3)
        assert score == pytest.approx(reference / len(ids), abs=1e-3)
    assert scores[options.index("open fridge")] > scores[options.index("xyzzy plugh")]


def test_build_llm_local_scores_through_wrappers(tmp_path: Path) -> None:
    llm = build_llm(LLMSettings(device="cpu"), cache_dir=MODEL_CACHE)
    assert isinstance(llm, OptionScorer)
    assert len(llm.score_options([user("Pick.")], ["a", "b"])) == 2
    with pytest.raises(ConfigError):
        LocalEngine(cache_dir=tmp_path, device="tpu")


def test_prefix_cache_gives_the_same_results_as_a_fresh_engine(local: LocalEngine) -> None:
    chat = [system("You are terse."), user("Name a fruit.")]
    options = GenerationOptions(max_tokens=12)
    first = local.complete(chat, options)
    grown = [*chat, {"role": "assistant", "content": first.text}, user("Name another one.")]
    reused = local.complete(grown, options).text  # shares the first prompt and reply with the cache
    scores = local.score_options(grown, ["apple", "banana", "a car"])
    local.clear_prefix_cache()
    assert local.complete(grown, options).text == reused
    local.clear_prefix_cache()
    assert local.score_options(grown, ["apple", "banana", "a car"]) == pytest.approx(scores, abs=1e-4)


def test_prompt_cost_is_what_the_next_call_computes_of_its_prompt(local: LocalEngine) -> None:
    chat = [system("You are terse."), user("Name a fruit.")]
    options = GenerationOptions(max_tokens=6)
    local.clear_prefix_cache()
    cold = local.prompt_cost(chat)
    first = local.complete(chat, options)
    assert cold == first.usage.prompt_tokens - first.usage.cached_tokens == first.usage.prompt_tokens
    grown = [*chat, {"role": "assistant", "content": first.text}, user("Another one.")]
    warm = local.prompt_cost(grown)
    again = local.complete(grown, options)
    assert warm == again.usage.prompt_tokens - again.usage.cached_tokens < again.usage.prompt_tokens
    wrapped = build_llm(LLMSettings(device="cpu"), cache_dir=MODEL_CACHE)
    assert isinstance(wrapped, PromptCoster) and wrapped.prompt_cost(chat) > 0  # forwarded by the wrappers


def test_alternating_prompt_families_keep_their_prefixes(local: LocalEngine) -> None:
    a = [system("You pick game commands."), user("You are in a kitchen. What do you do?")]
    b = [system("You extract facts as triples."), user("The kitchen has a fridge and a knife.")]
    options = ["open fridge", "go north"]
    local.clear_prefix_cache()
    first_a = local.score_options(a, options)
    first_b = local.score_options(b, options)
    assert len(local._parked) == 1  # two slots: neither family evicted the other
    grown_a = [*a, {"role": "assistant", "content": "open fridge"}, user("The fridge is open.")]
    again_a = local.score_options(grown_a, options)
    assert [ids for ids, _ in local._parked] == [local._prompt_ids(b)]  # A's slot reused, B's kept
    local.clear_prefix_cache()
    assert local.score_options(grown_a, options) == pytest.approx(again_a, abs=1e-4)
    assert local.score_options(b, options) == pytest.approx(first_b, abs=1e-4)
    assert local.score_options(a, options) == pytest.approx(first_a, abs=1e-4)


def test_constrained_structured_output_always_parses_with_the_schemas_types(local: LocalEngine) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city", "unit", "days"],
    }
    prompt = [user("Weather in Nairobi for the next 3 days, in celsius.")]
    completion = local.complete(prompt, GenerationOptions(schema=schema, constrained=True, max_tokens=40))
    value = json.loads(completion.text)
    assert set(value) == {"city", "unit", "days"}
    assert isinstance(value["city"], str) and value["unit"] in ("celsius", "fahrenheit")
    assert isinstance(value["days"], int) and completion.parsed == value
