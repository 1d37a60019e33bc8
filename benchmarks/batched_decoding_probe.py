"""Probe: is greedy decoding of several sequences in one llama.cpp context identical to decoding each alone?

    python benchmarks/batched_decoding_probe.py [--sizes 1,4,8,16] [--tokens 96] [--threads 1]

Groundwork for batched local decoding (issue 17), on the pinned build. For each batch size B,
B prompts are decoded together in one context with ``n_seq_max = B``, once with one KV
stream per sequence (``kv_unified = false``) and once with a unified KV buffer, greedy
(argmax of each sequence's logits), and compared token for token with each prompt decoded
alone. Also reports the decode-step time and tokens/s of each batch size. llama-cpp-python's
low-level bindings only (``llama_batch``, ``llama_decode``, ``llama_get_logits_ith``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import llama_cpp  # noqa: E402

from ihl_lib.local import local_model_path  # noqa: E402
from ihl_lib.testing import EVERYDAY_QUESTIONS  # noqa: E402

PROMPTS = EVERYDAY_QUESTIONS


def chat_tokens(model: llama_cpp.Llama, question: str) -> list[int]:
    prompt = f"<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    return model.tokenize(prompt.encode(), add_bos=False, special=True)


def decode(model: llama_cpp.Llama, prompts: list[list[int]], n_new: int, unified: bool, threads: int) -> tuple[list[list[int]], float]:
    """Greedy-decode ``prompts`` together; returns the new tokens of each and the seconds spent in decode steps."""
    n_seq = len(prompts)
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = 512 * n_seq
    params.n_batch = params.n_ubatch = 512
    params.n_seq_max = n_seq
    params.kv_unified = unified
    params.n_threads = params.n_threads_batch = threads
    ctx = llama_cpp.llama_init_from_model(model._model.model, params)
    vocab = model.n_vocab()
    batch = llama_cpp.llama_batch_init(512, 0, n_seq)
    try:

        def add(token: int, pos: int, seq: int, logits: bool) -> None:
            i = batch.n_tokens
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, pos, 1, logits
            batch.seq_id[i][0] = seq
            batch.n_tokens += 1

        # Prefill: each prompt alone, as the provider would admit requests one by one.
        last_index = {}
        for seq, tokens in enumerate(prompts):
            batch.n_tokens = 0
            for pos, token in enumerate(tokens):
                add(token, pos, seq, pos == len(tokens) - 1)
            assert llama_cpp.llama_decode(ctx, batch) == 0
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, batch.n_tokens - 1), shape=(vocab,))
            last_index[seq] = int(np.argmax(logits))
        out = [[last_index[s]] for s in range(n_seq)]
        spent = 0.0
        for step in range(n_new - 1):
            batch.n_tokens = 0
            for seq in range(n_seq):
                add(out[seq][-1], len(prompts[seq]) + step, seq, True)
            started = time.perf_counter()
            assert llama_cpp.llama_decode(ctx, batch) == 0
            spent += time.perf_counter() - started
            for seq in range(n_seq):
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, seq), shape=(vocab,))
                out[seq].append(int(np.argmax(logits)))
        return out, spent
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8,16")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    model = llama_cpp.Llama(model_path=str(local_model_path("smollm2-135m")), n_ctx=256, verbose=False)
    prompts = [chat_tokens(model, q) for q in PROMPTS]
    alone = [decode(model, [p], args.tokens, False, args.threads)[0][0] for p in prompts]
    print(llama_cpp.llama_print_system_info().decode().strip())
    print("| sequences | kv | identical to alone | decode step | tokens/s |\n|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        for unified in (False, True):
            out, spent = decode(model, prompts[:size], args.tokens, unified, args.threads)
            same = sum(o == a for o, a in zip(out, alone[:size]))
            steps = args.tokens - 1
            print(
                f"| {size} | {'unified' if unified else 'per sequence'} | {same}/{size} | {1000 * spent / steps:.1f} ms | {size * steps / spent:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
