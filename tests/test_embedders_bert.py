"""The pure-torch BERT path of the bundled embedder gives transformers' vectors (integration)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memory.embedders.local import LocalEmbedder, bundled_model_dir

pytestmark = pytest.mark.integration

TEXTS = [
    "Hello world",
    "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
    "ünïcödé TEXT with CAPS, emoji 🎉 and 123 numbers!!",
    "word " * 400,  # truncated at max_length
    "",
]


def test_pure_torch_bert_matches_transformers() -> None:
    from transformers import AutoModel, AutoTokenizer

    directory = bundled_model_dir()
    embedder = LocalEmbedder(device="cpu", max_length=256)
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    model = AutoModel.from_pretrained(str(directory), local_files_only=True).eval()
    expected_ids = tokenizer(TEXTS, truncation=True, max_length=256, padding=False)["input_ids"]
    assert embedder._token_ids(list(TEXTS)) == expected_ids
    batch = tokenizer(TEXTS, truncation=True, max_length=256, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    weights = batch["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=1).numpy()
    assert np.abs(embedder(TEXTS) - pooled).max() < 1e-5
