"""The pure-torch Llama decoder and the ChatML tokenizer path of the local engine.

Fast tests use a tiny random Llama; the integration tests compare against transformers on the bundled
SmolLM2 weights (logits to ~1e-4, identical greedy tokens, identical chat prompts and token ids).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

from reasoning.engines.chatml import ChatTokenizer, chatml
from reasoning.engines.llama import KVCache, Llama, LlamaConfig, config_from_dict, continuation_mask
from reasoning.errors import ConfigError
from reasoning.llm import Message, assistant, system, user

MODEL_CACHE = Path(tempfile.gettempdir()) / "cogarch-test-models"

TINY = LlamaConfig(
    vocab_size=97,
    hidden_size=48,
    intermediate_size=64,
    num_layers=2,
    num_heads=6,
    num_kv_heads=2,
    head_dim=8,
    rope_theta=10000.0,
    rms_norm_eps=1e-5,
    max_positions=512,
    tie_word_embeddings=True,
    eos_token_id=2,
)


def _tiny_llama(seed: int = 0) -> Llama:
    gen = torch.Generator().manual_seed(seed)
    c = TINY

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * 0.2

    q, kv = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
    weights = {
        "embed_tokens.weight": rand(c.vocab_size, c.hidden_size),
        "norm.weight": 1 + rand(c.hidden_size),
    }
    weights["lm_head.weight"] = weights["embed_tokens.weight"]
    for i in range(c.num_layers):
        p = f"layers.{i}."
        weights[p + "self_attn.qkv_proj.weight"] = rand(q + 2 * kv, c.hidden_size)
        weights[p + "self_attn.o_proj.weight"] = rand(c.hidden_size, q)
        weights[p + "mlp.gate_up_proj.weight"] = rand(2 * c.intermediate_size, c.hidden_size)
        weights[p + "mlp.down_proj.weight"] = rand(c.hidden_size, c.intermediate_size)
        weights[p + "input_layernorm.weight"] = 1 + rand(c.hidden_size)
        weights[p + "post_attention_layernorm.weight"] = 1 + rand(c.hidden_size)
    return Llama(c, weights).eval()


def test_incremental_decoding_equals_one_full_pass() -> None:
    model = _tiny_llama()
    ids = torch.randint(0, TINY.vocab_size, (1, 300), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        full = model(ids, model.new_cache())
        cache = model.new_cache()  # 300 positions: the buffers grow past their first chunk
        parts = [model(ids[:, :100], cache), model(ids[:, 100:290], cache)]
        parts += [model(ids[:, t : t + 1], cache) for t in range(290, 300)]
    assert cache.length == 300
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)
    with torch.inference_mode():
        last = model(ids, model.new_cache(), last_only=True)
    assert last.shape == (1, 1, TINY.vocab_size) and torch.allclose(last[0, 0], full[0, -1], atol=1e-5)


def test_packed_for_cpu_gives_the_same_logits_and_frees_the_dense_weights() -> None:
    from reasoning.engines import onednn

    dense, packed = _tiny_llama(), _tiny_llama()
    n = packed.pack_for_cpu()
    if not onednn.available():
        assert n == 0
        pytest.skip("this torch build has no oneDNN packed linear")
    assert n == 4 * TINY.num_layers + 1  # qkv, o, gate_up and down per layer, and the lm_head
    block = packed.layers[0]
    assert block.mlp.down_proj.weight.numel() == 0  # the dense copy is gone
    assert packed.lm_head.weight is packed.embed_tokens.weight  # tied: kept for the embedding lookup
    ids = torch.randint(0, TINY.vocab_size, (1, 40), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        a, b = dense(ids, dense.new_cache()), packed(ids, packed.new_cache())
        step_a = dense(ids[:, :1], dense.new_cache())
        step_b = packed(ids[:, :1], packed.new_cache())  # one row: the decoding shape
    assert torch.allclose(a, b, atol=1e-4) and torch.allclose(step_a, step_b, atol=1e-4)


def test_truncated_cache_recomputes_like_fresh() -> None:
    model = _tiny_llama()
    ids = torch.arange(40).reshape(1, 40) % TINY.vocab_size
    other = (torch.arange(10).reshape(1, 10) * 7) % TINY.vocab_size
    with torch.inference_mode():
        cache = model.new_cache()
        model(ids, cache)
        cache.truncate(25)
        reused = model(other, cache)
        fresh = model(torch.cat([ids[:, :25], other], dim=1), model.new_cache())[:, 25:]
    assert torch.allclose(reused, fresh, atol=1e-5)


def test_packed_continuations_equal_separate_runs() -> None:
    model = _tiny_llama()
    prompt = torch.arange(3, 23).reshape(1, 20)
    options = [[5, 6, 7], [8], [9, 10, 11, 12]]
    with torch.inference_mode():
        cache = model.new_cache()
        model(prompt, cache)
        packed = torch.tensor([[t for o in options for t in o]])
        positions = torch.tensor([20 + i for o in options for i in range(len(o))])
        mask = continuation_mask(20, [len(o) for o in options])
        together = model(packed, cache, positions=positions, mask=mask)[0]
        row = 0
        for option in options:
            alone = model(torch.cat([prompt, torch.tensor([option])], dim=1), model.new_cache())[0, 20:]
            assert torch.allclose(together[row : row + len(option)], alone, atol=1e-5)
            row += len(option)


def test_continuation_mask_shape_and_blocks() -> None:
    mask = continuation_mask(2, [2, 1])
    expected = [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 0, 0, 1]]
    assert mask.tolist() == [[bool(v) for v in row] for row in expected]


def test_kv_cache_truncate_never_grows() -> None:
    cache = KVCache(1)
    cache.length = 5
    cache.truncate(9)
    assert cache.length == 5
    cache.truncate(-1)
    assert cache.length == 0


def test_unsupported_configs_are_refused() -> None:
    base = {
        "model_type": "llama",
        "vocab_size": 10,
        "hidden_size": 8,
        "intermediate_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "rope_parameters": {"rope_theta": 500.0, "rope_type": "default"},
    }
    config = config_from_dict(base)
    assert config.rope_theta == 500.0 and config.num_kv_heads == 2 and config.head_dim == 4
    with pytest.raises(ConfigError):
        config_from_dict({**base, "model_type": "mistral"})
    with pytest.raises(ConfigError):
        config_from_dict({**base, "rope_parameters": {"rope_theta": 1.0, "rope_type": "llama3"}})
    with pytest.raises(ConfigError):
        config_from_dict({**base, "attention_bias": True})


def test_chatml_adds_the_default_system_turn_only_when_missing() -> None:
    text = chatml([user("hi")])
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    assert chatml([system("s"), user("u")], add_generation_prompt=False) == (
        "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n"
    )


# -- integration: the bundled weights, against transformers --------------------------------------------------
CONVERSATIONS: list[list[Message]] = [
    [user("What is the capital of France?")],
    [system("You play a text adventure."), user("You are in a kitchen.\nWhat do you do?")],
    [user("Hi!"), assistant("Hello! How can I help?"), user("Tell me a joke about ünïcödé 🎉.")],
    [system(""), user("  leading and trailing spaces  ")],
]


@pytest.fixture(scope="module")
def bundled() -> tuple[Path, Llama, ChatTokenizer]:
    from reasoning.engines.llama import load_llama
    from reasoning.engines.local import CACHE_SUBDIR, LocalEngine

    LocalEngine(cache_dir=MODEL_CACHE, device="cpu")  # writes the cache on the first run
    directory = MODEL_CACHE / CACHE_SUBDIR
    return directory, load_llama(directory), ChatTokenizer(directory / "tokenizer.json")


@pytest.mark.integration
def test_logits_and_greedy_tokens_match_transformers(bundled: tuple[Path, Llama, ChatTokenizer]) -> None:
    from transformers.models.llama.modeling_llama import LlamaForCausalLM

    directory, model, tokenizer = bundled
    reference = LlamaForCausalLM.from_pretrained(str(directory), dtype=torch.float32).eval()
    ids = torch.tensor([tokenizer.prompt_ids(CONVERSATIONS[1])])
    with torch.inference_mode():
        expected = reference(input_ids=ids).logits
        got = model(ids, model.new_cache())
        assert (got - expected).abs().max().item() < 1e-4
        greedy = reference.generate(
            ids, max_new_tokens=24, do_sample=False, attention_mask=torch.ones_like(ids)
        )
        cache, tokens = model.new_cache(), []
        logits = model(ids, cache, last_only=True)
        for _ in range(24):
            tokens.append(int(logits[0, -1].argmax()))
            logits = model(torch.tensor([[tokens[-1]]]), cache)
    assert tokens == greedy[0, ids.shape[1] :].tolist()[: len(tokens)]


@pytest.mark.integration
def test_chat_prompt_and_tokens_match_transformers(bundled: tuple[Path, Llama, ChatTokenizer]) -> None:
    from transformers import PreTrainedTokenizerFast

    directory, _, tokenizer = bundled
    reference = PreTrainedTokenizerFast.from_pretrained(str(directory))
    for messages in CONVERSATIONS:
        for generation_prompt in (True, False):
            expected = reference.apply_chat_template(
                [dict(m) for m in messages], add_generation_prompt=generation_prompt, tokenize=False
            )
            assert chatml(messages, add_generation_prompt=generation_prompt) == expected
        text = chatml(messages)
        ids = tokenizer.encode(text)
        assert ids == reference(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == reference.decode(ids, skip_special_tokens=True)


@pytest.mark.integration
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_runs_on_cuda() -> None:
    from reasoning.engines.local import LocalEngine
    from reasoning.llm import GenerationOptions

    engine = LocalEngine(cache_dir=MODEL_CACHE, device="cuda")
    assert engine.device.startswith("cuda")
    assert engine.complete([user("Say hi.")], GenerationOptions(max_tokens=4)).text
    assert len(engine.score_options([user("Pick.")], ["a", "b"])) == 2


@pytest.mark.integration
def test_bfloat16_is_opt_in_and_keeps_the_best_option(bundled: tuple[Path, Llama, ChatTokenizer]) -> None:
    from reasoning.engines.local import LocalEngine

    with pytest.raises(ConfigError):
        LocalEngine(cache_dir=MODEL_CACHE, device="cpu", dtype="int4")
    messages = [system("You play a text adventure."), user("The fridge is closed. You are hungry.")]
    options = ["open fridge", "eat the door", "xyzzy plugh", "go north"]
    fp32 = LocalEngine(cache_dir=MODEL_CACHE, device="cpu").score_options(messages, options)
    bf16 = LocalEngine(cache_dir=MODEL_CACHE, device="cpu", dtype="bfloat16").score_options(messages, options)
    assert max(range(4), key=fp32.__getitem__) == max(range(4), key=bf16.__getitem__)
    assert bf16 == pytest.approx(fp32, abs=0.5)
