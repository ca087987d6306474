#!/usr/bin/env python3
"""Reference embeddings of all-MiniLM-L6-v2 for rankd's encoder test.

An independent implementation of the sentence-transformers recipe: the Hugging Face
`tokenizers` library for word pieces, a BERT forward pass written in numpy (float64) from the
safetensors weights, mean pooling over real tokens and L2 normalisation. It shares no code with
the Rust side (candle-transformers), so agreement means both are faithful.

    pip install tokenizers safetensors numpy
    python3 tools/encoder_reference.py [MODEL_DIR] > tests/fixtures/minilm_reference.json

MODEL_DIR defaults to $RANKD_CACHE_DIR/minilm (`rankd data fetch minilm` puts it there).
"""

import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "A man is eating food.",
    "Red leather running shoes for women",
    "Toy Story (1995) | Animation, Children's, Comedy",
    "wireless noise-cancelling headphones with 30h battery",
    "The quick brown fox jumps over the lazy dog.",
]
MAX_TOKENS = 256


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    # BERT's exact (erf) GELU, as `hidden_act: gelu` means in transformers.
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def encode(weights, config, ids):
    def w(name):
        return weights[name].astype(np.float64)

    n = len(ids)
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = config["layer_norm_eps"]
    prefix = "embeddings." if "embeddings.word_embeddings.weight" in weights else "bert.embeddings."
    root = prefix[: -len("embeddings.")]
    x = (
        w(prefix + "word_embeddings.weight")[ids]
        + w(prefix + "position_embeddings.weight")[np.arange(n)]
        + w(prefix + "token_type_embeddings.weight")[0]
    )
    x = layer_norm(x, w(prefix + "LayerNorm.weight"), w(prefix + "LayerNorm.bias"), eps)
    for layer in range(config["num_hidden_layers"]):
        p = f"{root}encoder.layer.{layer}."

        def linear(t, name):
            return t @ w(p + name + ".weight").T + w(p + name + ".bias")

        q = linear(x, "attention.self.query").reshape(n, heads, head_dim).transpose(1, 0, 2)
        k = linear(x, "attention.self.key").reshape(n, heads, head_dim).transpose(1, 0, 2)
        v = linear(x, "attention.self.value").reshape(n, heads, head_dim).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
        attn = linear(context, "attention.output.dense")
        x = layer_norm(attn + x, w(p + "attention.output.LayerNorm.weight"),
                       w(p + "attention.output.LayerNorm.bias"), eps)
        inter = gelu(linear(x, "intermediate.dense"))
        out = linear(inter, "output.dense")
        x = layer_norm(out + x, w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias"), eps)
    pooled = x.mean(0)  # one sentence, no padding: every token is real
    return pooled / np.linalg.norm(pooled)


def main():
    cache = os.environ.get("RANKD_CACHE_DIR", os.path.expanduser("~/.cache/rankd"))
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "minilm")
    config = json.load(open(os.path.join(model_dir, "config.json")))
    weights = load_file(os.path.join(model_dir, "model.safetensors"))
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    out = {"model": "sentence-transformers/all-MiniLM-L6-v2",
           "generator": "tools/encoder_reference.py (numpy float64 BERT)",
           "sentences": []}
    for text in SENTENCES:
        ids = tokenizer.encode(text).ids
        emb = encode(weights, config, np.array(ids))
        out["sentences"].append({"text": text, "token_ids": ids,
                                 "embedding": [round(float(v), 7) for v in emb]})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
