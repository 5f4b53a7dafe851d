#!/usr/bin/python3
"""PyTorch baselines for the empirical NTK of a BERT-shaped masked LM (not part of the tests).

Two implementations of the SGD eNTK K[n, c, m, c'] = <grad f_c(x_n), grad f_c'(x_m)> over all parameters, f = the
MLM logits of C label words at the mask position (tied decoder, as ntk-lens' built-in model):
  loop     -- per example one forward and C autograd.grad backward passes, flattened gradients, then G_train @ G_eval^T;
  functorch -- vmap(jacrev(f)) over length-sorted batches padded to the longest, then the same contraction.
Both time the SST-2 16-shot kernel shape (32 train x (32 dev + 872 test), C = 2) on a subset and extrapolate:
  time = (N + M) * seconds_per_example_gradient + contraction(N*C x P x M*C) at the measured matmul rate.

Needs Debian's python3-torch WITH libopenblas0-pthread (otherwise torch uses the reference BLAS, ~40x slower):
  apt-get install -y python3-torch libopenblas0-pthread
  /usr/bin/python3 bench/pytorch_entk.py --threads 1 [--lengths lengths.json] [--seq 64]
--lengths: a JSON {"train": [T...], "eval": [T...]} of token counts (e.g. the SST-2 prompt encodings); else every
example has --seq tokens.
"""
import argparse
import json
import math
import os
import sys
import time

# The thread count applies to BLAS too: torch.set_num_threads does not reach OpenBLAS's own pool, which otherwise
# takes every core (CPU time > wall time, and a slower run when another job holds a core). Set before torch loads it.
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _threads)

import torch
import torch.nn.functional as F
from functorch import jacrev, make_functional, vmap


class Bert(torch.nn.Module):
    def __init__(self, V, H, L, nh, I, maxpos=512):
        super().__init__()
        self.nh = nh
        self.word = torch.nn.Embedding(V, H)
        self.pos = torch.nn.Embedding(maxpos, H)
        self.types = torch.nn.Embedding(2, H)
        self.ln0 = torch.nn.LayerNorm(H, eps=1e-12)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.q, m.k, m.v, m.o = (torch.nn.Linear(H, H) for _ in range(4))
            m.ln1 = torch.nn.LayerNorm(H, eps=1e-12)
            m.i = torch.nn.Linear(H, I)
            m.out = torch.nn.Linear(I, H)
            m.ln2 = torch.nn.LayerNorm(H, eps=1e-12)
            self.layers.append(m)
        self.transform = torch.nn.Linear(H, H)
        self.ln_head = torch.nn.LayerNorm(H, eps=1e-12)
        self.bias = torch.nn.Parameter(torch.zeros(V))
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, ids, mask, maskpos, label_ids):
        """ids, mask [B, T]; maskpos [B]; -> logits [B, C] of the label words at the mask position."""
        B, T = ids.shape
        x = self.ln0(self.word(ids) + self.pos(torch.arange(T).expand(B, T)) + self.types(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9
        H = x.shape[-1]
        hs = H // self.nh
        for m in self.layers:
            split = lambda t: t.view(B, T, self.nh, hs).transpose(1, 2)
            s = split(m.q(x)) @ split(m.k(x)).transpose(-1, -2) / math.sqrt(hs) + bias
            ctx = (s.softmax(-1) @ split(m.v(x))).transpose(1, 2).reshape(B, T, H)
            x = m.ln1(m.o(ctx) + x)
            x = m.ln2(m.out(F.gelu(m.i(x))) + x)
        h = x[torch.arange(B), maskpos]
        t = self.ln_head(F.gelu(self.transform(h)))
        return t @ self.word.weight[label_ids].T + self.bias[label_ids]


def make_example(T, V, g):
    ids = torch.randint(5, V, (T,), generator=g)
    return ids, T // 2


def batchify(examples):
    T = max(len(e[0]) for e in examples)
    ids = torch.zeros(len(examples), T, dtype=torch.long)
    mask = torch.zeros(len(examples), T, dtype=torch.long)
    for b, (x, _) in enumerate(examples):
        ids[b, : len(x)] = x
        mask[b, : len(x)] = 1
    return ids, mask, torch.tensor([mp for _, mp in examples])


def grads_loop(model, examples, label_ids):
    params = [p for p in model.parameters()]
    rows = []
    for ex in examples:
        ids, mask, mp = batchify([ex])
        y = model(ids, mask, mp, label_ids)[0]
        for c in range(len(label_ids)):
            g = torch.autograd.grad(y[c], params, retain_graph=c + 1 < len(label_ids), allow_unused=True)
            rows.append(torch.cat([(gi if gi is not None else torch.zeros_like(p)).reshape(-1) for gi, p in zip(g, params)]))
    return torch.stack(rows)  # [B*C, P]


def grads_functorch(model, examples, label_ids, batch):
    fmodel, params = make_functional(model)

    def f(params, ids, mask, mp):
        return fmodel(params, ids[None], mask[None], mp[None], label_ids)[0]  # [C]

    jac = vmap(jacrev(f), in_dims=(None, 0, 0, 0))
    rows = []
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    for s in range(0, len(order), batch):
        ids, mask, mp = batchify([examples[i] for i in order[s : s + batch]])
        J = jac(params, ids, mask, mp)  # tuple of [B, C, *shape]
        rows.append(torch.cat([j.reshape(j.shape[0] * j.shape[1], -1) for j in J], 1))
    return torch.cat(rows)  # [B*C, P] (length-sorted order; fine for timing)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=12000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--lengths", help="JSON {train: [...], eval: [...]} token counts")
    ap.add_argument("--sample", type=int, default=16, help="examples timed per implementation")
    ap.add_argument("--batch", type=int, default=8, help="functorch vmap batch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if a.lengths:
        L = json.load(open(a.lengths))
        train_T, eval_T = L["train"], L["eval"]
    else:
        train_T, eval_T = [a.seq] * 32, [a.seq] * 904
    N, M, C = len(train_T), len(eval_T), 2
    model = Bert(a.vocab, a.hidden, a.layers, a.heads, a.intermediate).eval()
    P = sum(p.numel() for p in model.parameters())
    label_ids = torch.tensor([11, 12])
    # A sample with the length distribution of all examples.
    allT = train_T + eval_T
    sample = [make_example(allT[(i * 997) % len(allT)], a.vocab, g) for i in range(a.sample)]
    mean_ratio = (sum(allT) / len(allT)) / (sum(len(e[0]) for e in sample) / len(sample))
    # matmul rate for the contraction G_train [N*C, P] @ G_eval^T [P, M*C].
    A = torch.randn(N * C, P // 8)
    Bm = torch.randn(64, P // 8)
    A @ Bm.T
    t0 = time.perf_counter()
    A @ Bm.T
    mm_rate = 2 * A.shape[0] * A.shape[1] * 64 / (time.perf_counter() - t0)
    contraction = 2 * (N * C) * P * ((N + M) * C) / mm_rate
    out = {"threads": a.threads, "parameters": P, "N": N, "M": M, "C": C, "mean_tokens": sum(allT) / len(allT),
           "contraction_seconds": contraction, "torch": torch.__version__}
    for name, fn in [("loop", lambda ex: grads_loop(model, ex, label_ids)),
                     ("functorch", lambda ex: grads_functorch(model, ex, label_ids, a.batch))]:
        fn(sample[:2])  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        G = fn(sample)
        s = (time.perf_counter() - t0) / len(sample) * mean_ratio
        cpu = (time.process_time() - c0) / len(sample) * mean_ratio
        total = (N + M) * s + contraction
        out[name] = {"seconds_per_example": s, "cpu_seconds_per_example": cpu, "sst2_kernel_seconds_extrapolated": total}
        print(f"{name:9s}: {s:.3f} s/example wall, {cpu:.3f} s cpu (C = {C} gradients of {P / 1e6:.2f}M params), "
              f"SST-2 kernel ≈ {total:.0f} s wall (= {N + M} × {s:.3f} + contraction {contraction:.1f} s), {a.threads} thread(s)")
        del G
    print(json.dumps(out))


if __name__ == "__main__":
    main()
