#!/usr/bin/python3
"""PyTorch baselines for the empirical NTK of a language model (not part of the tests).

Two implementations of the SGD eNTK K[n, c, m, c'] = <grad f_c(x_n), grad f_c'(x_m)> over all parameters, f = the
logits of C label words (tied head, as ntk-lens' built-in models):
  --family bert  (default): a BERT-shaped masked LM, f = the MLM logits at the mask position;
  --family gpt2  : a GPT-2-shaped causal LM (learned positions, pre-LayerNorm, fused c_attn, gelu-tanh MLP, tied wte);
  --family llama : a Llama-shaped causal LM (RMSNorm, rotary positions, grouped-query attention with --kv-heads, SwiGLU
                   MLP, no biases, head tied to embed_tokens unless --untied);
  for the causal families f = the next-token logits at each example's last real token (a causal template ends with the
  mask), computed for the C label words only (h_last @ W_head[label_ids]^T). Batches are right-padded with a key mask.
Implementations:
  loop      -- per example one forward and C autograd.grad backward passes, each gradient flattened to a [P] row;
  functorch -- vmap(jacrev(f)) over length-sorted batches (--batch) padded to the longest, rows flattened to [B*C, P].
Both time the SST-2 16-shot kernel shape (32 train x (32 dev + 872 test), C = 2) on a subset and extrapolate:
  time = (N + M) * seconds_per_example_gradient + contraction(N*C x P x (N+M)*C) at the measured matmul rate,
which assumes the train gradients G_train [N*C, P] are held at once; and what a run that fits this machine's RAM
takes (--memory-gb, default the machine's): G_train held in chunks, every evaluated gradient recomputed per chunk,
  time = (N + chunks * M) * seconds_per_example_gradient + the same contraction.
The timed rows are discarded after flattening (at ~124-135M parameters one [P] float32 row is ~0.5 GB), so memory
stays at a few GB; the contraction is never run on them, only extrapolated.

Needs Debian's python3-torch WITH libopenblas0-pthread (otherwise torch uses the reference BLAS, ~40x slower), and
libtcmalloc-minimal4 (the script preloads it; glibc's malloc made the gradients up to 18x slower):
  apt-get install -y python3-torch libopenblas0-pthread libtcmalloc-minimal4
On a CPU with AVX-512 also set OPENBLAS_CORETYPE=SkylakeX: Debian's OpenBLAS 0.3.21 predates Zen 5, and the
2026-12-04 machine's environment pinned Haswell (AVX2) kernels: 1024^3 GEMM 62-95 GFLOP/s there, up to 180 with
SkylakeX. The JSON line records the core type and the 1024^3 rate, so a slow peer shows.
  /usr/bin/python3 bench/pytorch_entk.py --threads 1 [--lengths lengths.json] [--seq 64]
  # GPT-2 (124M):
  /usr/bin/python3 bench/pytorch_entk.py --threads 1 --family gpt2 --vocab 50257 --hidden 768 --layers 12 --heads 12 \
      --intermediate 3072 --sample 8 --seq 26
  # SmolLM2-135M:
  /usr/bin/python3 bench/pytorch_entk.py --threads 1 --family llama --vocab 49152 --hidden 576 --layers 30 --heads 9 \
      --kv-heads 3 --intermediate 1536 --rope-theta 100000 --sample 8 --seq 26
  # correctness self-check of the causal families on a tiny shape (loop vs functorch, padding, GQA):
  /usr/bin/python3 bench/pytorch_entk.py --check
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

# The allocator. Every example's gradients are fresh ~0.5 GB tensors; glibc's malloc serves blocks that large with
# mmap and returns them at free, so each one is page-faulted in again (on the 2026-12-04 machine: 8.8 s per gpt2
# example gradient with glibc, 0.49 s with tcmalloc). The fastest PyTorch is the peer, so the script re-runs itself
# with tcmalloc preloaded where Debian's libtcmalloc-minimal4 is installed (--malloc system keeps glibc's).
_TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
_malloc = sys.argv[sys.argv.index("--malloc") + 1] if "--malloc" in sys.argv else "tcmalloc"
if _malloc == "tcmalloc" and "tcmalloc" not in os.environ.get("LD_PRELOAD", ""):
    if os.path.exists(_TCMALLOC):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, "LD_PRELOAD": _TCMALLOC})
    print(f"warning: {_TCMALLOC} not found (apt-get install libtcmalloc-minimal4): glibc's malloc page-faults every "
          "gradient in again, which made per-example gradients up to 18x slower here; the figures flatter ntk-lens",
          file=sys.stderr)

import torch
import torch.nn.functional as F
from functorch import jacrev, make_functional, vmap


def _init(model):
    for p in model.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.02)


class Bert(torch.nn.Module):
    causal = False

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
        _init(self)

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


def best_seconds(fn, rounds):
    """The fastest of `rounds` timed calls of fn, after one untimed warm-up call."""
    fn()
    best = math.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def causal_bias(mask):
    """mask [B, T] (1 = real token, right padding) -> additive attention bias [B, 1, T, T]: causal AND key is real."""
    T = mask.shape[1]
    causal = torch.ones(T, T).tril()
    return (1.0 - causal[None, None] * mask[:, None, None, :].float()) * -1e9


class GPT2(torch.nn.Module):
    causal = True

    def __init__(self, V, H, L, nh, I, maxpos=1024):
        super().__init__()
        self.nh = nh
        self.wte = torch.nn.Embedding(V, H)
        self.wpe = torch.nn.Embedding(maxpos, H)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.ln_1 = torch.nn.LayerNorm(H, eps=1e-5)
            m.c_attn = torch.nn.Linear(H, 3 * H)
            m.c_proj = torch.nn.Linear(H, H)
            m.ln_2 = torch.nn.LayerNorm(H, eps=1e-5)
            m.c_fc = torch.nn.Linear(H, I)
            m.mlp_proj = torch.nn.Linear(I, H)
            self.layers.append(m)
        self.ln_f = torch.nn.LayerNorm(H, eps=1e-5)
        _init(self)

    def forward(self, ids, mask, last, label_ids):
        """ids, mask [B, T] (right-padded); last [B] = index of each example's last real token; -> logits [B, C] of
        the label words as the next token after it (tied head wte)."""
        B, T = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(T).expand(B, T))
        bias = causal_bias(mask)
        H = x.shape[-1]
        hs = H // self.nh
        split = lambda t: t.reshape(B, T, self.nh, hs).transpose(1, 2)
        for m in self.layers:
            q, k, v = m.c_attn(m.ln_1(x)).split(H, dim=-1)
            s = split(q) @ split(k).transpose(-1, -2) / math.sqrt(hs) + bias
            ctx = (s.softmax(-1) @ split(v)).transpose(1, 2).reshape(B, T, H)
            x = x + m.c_proj(ctx)
            x = x + m.mlp_proj(F.gelu(m.c_fc(m.ln_2(x)), approximate="tanh"))
        h = self.ln_f(x[torch.arange(B), last])
        return h @ self.wte.weight[label_ids].T


class RMSNorm(torch.nn.Module):
    def __init__(self, H, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(H))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Llama(torch.nn.Module):
    causal = True

    def __init__(self, V, H, L, nh, I, nkv=None, rope_theta=10000.0, untied=False, head_dim=None):
        super().__init__()
        nkv = nkv or nh
        assert nh % nkv == 0, "--heads must be a multiple of --kv-heads"
        self.nh, self.nkv, self.hd = nh, nkv, head_dim or H // nh
        hd = self.hd
        self.embed_tokens = torch.nn.Embedding(V, H)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.input_layernorm = RMSNorm(H)
            m.q_proj = torch.nn.Linear(H, nh * hd, bias=False)
            m.k_proj = torch.nn.Linear(H, nkv * hd, bias=False)
            m.v_proj = torch.nn.Linear(H, nkv * hd, bias=False)
            m.o_proj = torch.nn.Linear(nh * hd, H, bias=False)
            m.post_attention_layernorm = RMSNorm(H)
            m.gate_proj = torch.nn.Linear(H, I, bias=False)
            m.up_proj = torch.nn.Linear(H, I, bias=False)
            m.down_proj = torch.nn.Linear(I, H, bias=False)
            self.layers.append(m)
        self.norm = RMSNorm(H)
        self.lm_head = torch.nn.Parameter(torch.empty(V, H)) if untied else None
        _init(self)
        # a plain attribute, not a buffer (functorch's make_functional refuses modules with buffers)
        self.inv_freq = 1.0 / rope_theta ** (torch.arange(0, hd, 2).float() / hd)

    def forward(self, ids, mask, last, label_ids):
        """As GPT2.forward: ids, mask [B, T] (right-padded), last [B] -> next-token logits [B, C] of the label words."""
        B, T = ids.shape
        nh, nkv, hd = self.nh, self.nkv, self.hd
        rep = nh // nkv
        x = self.embed_tokens(ids)
        bias = causal_bias(mask)
        freqs = torch.arange(T).float()[:, None] * self.inv_freq[None, :]  # positions 0..T-1 (right padding)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()  # [T, hd]
        rope = lambda t: t * cos + rotate_half(t) * sin
        heads = lambda t, n: t.reshape(B, T, n, hd).transpose(1, 2)
        # GQA: query head j uses kv head j // rep (HF repeat_kv == repeat_interleave on the head axis).
        repeat = lambda t: t if rep == 1 else t[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)
        for m in self.layers:
            y = m.input_layernorm(x)
            q = rope(heads(m.q_proj(y), nh))
            k = repeat(rope(heads(m.k_proj(y), nkv)))
            v = repeat(heads(m.v_proj(y), nkv))
            s = q @ k.transpose(-1, -2) / math.sqrt(hd) + bias
            ctx = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, nh * hd)
            x = x + m.o_proj(ctx)
            y = m.post_attention_layernorm(x)
            x = x + m.down_proj(F.silu(m.gate_proj(y)) * m.up_proj(y))
        h = self.norm(x[torch.arange(B), last])
        W = self.lm_head if self.lm_head is not None else self.embed_tokens.weight
        return h @ W[label_ids].T


def build(family, V, H, L, nh, I, nkv=None, rope_theta=10000.0, untied=False):
    if family == "bert":
        return Bert(V, H, L, nh, I)
    if family == "gpt2":
        return GPT2(V, H, L, nh, I)
    return Llama(V, H, L, nh, I, nkv=nkv, rope_theta=rope_theta, untied=untied)


def make_example(T, V, g, causal=False):
    """-> (ids [T], position of f): the mask at T // 2 (masked LM), or the last token T - 1 (causal LM)."""
    ids = torch.randint(5, V, (T,), generator=g)
    return ids, (T - 1 if causal else T // 2)


def batchify(examples):
    T = max(len(e[0]) for e in examples)
    ids = torch.zeros(len(examples), T, dtype=torch.long)
    mask = torch.zeros(len(examples), T, dtype=torch.long)
    for b, (x, _) in enumerate(examples):
        ids[b, : len(x)] = x
        mask[b, : len(x)] = 1
    return ids, mask, torch.tensor([mp for _, mp in examples])


def grads_loop(model, examples, label_ids, keep=False):
    """Per example C gradient rows [P]. keep: return them stacked [B*C, P]; else each row is discarded after
    flattening (the timing path: at P ~ 1e8 the rows do not fit) and a checksum of one entry per row is returned."""
    params = [p for p in model.parameters()]
    rows, checksum = [], 0.0
    for ex in examples:
        ids, mask, mp = batchify([ex])
        y = model(ids, mask, mp, label_ids)[0]
        for c in range(len(label_ids)):
            g = torch.autograd.grad(y[c], params, retain_graph=c + 1 < len(label_ids), allow_unused=True)
            row = torch.cat([(gi if gi is not None else torch.zeros_like(p)).reshape(-1) for gi, p in zip(g, params)])
            if keep:
                rows.append(row)
            else:
                checksum += float(row[-1])
            del g, row
    return torch.stack(rows) if keep else checksum  # [B*C, P]


def grads_functorch(model, examples, label_ids, batch, keep=False):
    """vmap(jacrev) over length-sorted batches; rows [B*C, P] per batch in the length-sorted order. keep: return
    (all rows, order); else each batch's rows are discarded after flattening and a checksum is returned."""
    fmodel, params = make_functional(model)

    def f(params, ids, mask, mp):
        return fmodel(params, ids[None], mask[None], mp[None], label_ids)[0]  # [C]

    jac = vmap(jacrev(f), in_dims=(None, 0, 0, 0))
    rows, checksum = [], 0.0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    for s in range(0, len(order), batch):
        ids, mask, mp = batchify([examples[i] for i in order[s : s + batch]])
        J = jac(params, ids, mask, mp)  # tuple of [B, C, *shape]
        R = torch.cat([j.reshape(j.shape[0] * j.shape[1], -1) for j in J], 1)
        del J
        if keep:
            rows.append(R)
        else:
            checksum += float(R[:, -1].sum())
        del R
    return (torch.cat(rows), order) if keep else checksum


def self_check():
    """Tiny-shape correctness checks; returns True when all pass."""
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    V, H, L, nh, nkv, I = 97, 16, 2, 4, 2, 24
    label_ids = torch.tensor([11, 12])
    ok = True

    def report(name, err, tol):
        nonlocal ok
        passed = err <= tol
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'} {name}: {err:.2e} (tol {tol:.0e})")

    def perturb(model):  # non-trivial norm weights and biases, so they are exercised too
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=g))
        return model

    variants = [("bert", {}), ("gpt2", {}), ("llama", {"nkv": nkv, "rope_theta": 100.0}),
                ("llama untied", {"nkv": nkv, "untied": True}), ("llama nkv=1", {"nkv": 1})]
    for name, kw in variants:
        model = perturb(build(name.split()[0], V, H, L, nh, I, **kw).eval())
        lengths = [5, 9, 3, 7, 9, 4]
        exs = [make_example(T, V, g, model.causal) for T in lengths]
        # (a) loop rows == functorch rows (undoing the length-sorted order), batches padded to the longest.
        A = grads_loop(model, exs, label_ids, keep=True)
        Bf, order = grads_functorch(model, exs, label_ids, batch=3, keep=True)
        C = len(label_ids)
        Bu = torch.empty_like(Bf)
        for k, i in enumerate(order):
            Bu[i * C : (i + 1) * C] = Bf[k * C : (k + 1) * C]
        report(f"{name}: loop vs functorch Jacobian rows (rel. max err)", float((A - Bu).abs().max() / A.abs().max()), 1e-4)
        # (b) padding does not change the logits: each example alone vs in one right-padded batch with the others.
        with torch.no_grad():
            alone = torch.cat([model(*batchify([e]), label_ids) for e in exs])
            padded = model(*batchify(exs), label_ids)
        report(f"{name}: logits alone vs padded batch (rel. max err)", float((alone - padded).abs().max() / alone.abs().max()), 1e-5)
        if name == "llama":
            # (c) GQA with nkv < nh == an nh-head model whose k/v weights are the kv weights repeated per query group.
            full = build("llama", V, H, L, nh, I, nkv=nh, rope_theta=kw["rope_theta"]).eval()
            rep, hd = nh // nkv, H // nh
            with torch.no_grad():
                src = dict(model.named_parameters())
                for n, p in full.named_parameters():
                    if n.endswith(("k_proj.weight", "v_proj.weight")):
                        w = src[n].view(nkv, hd, H).repeat_interleave(rep, 0).reshape(nh * hd, H)
                        p.copy_(w)
                    else:
                        p.copy_(src[n])
                y1 = model(*batchify(exs), label_ids)
                y2 = full(*batchify(exs), label_ids)
            report(f"llama: GQA nkv={nkv} vs repeated-kv nh={nh} model logits (rel. max err)",
                   float((y1 - y2).abs().max() / y1.abs().max()), 1e-5)
    # RoPE: attention scores depend on relative position only (shifting both q and k positions leaves q.k unchanged).
    hd, theta = 8, 100.0
    inv = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)

    def rot(t, p):
        e = torch.cat((p * inv, p * inv))
        return t * e.cos() + rotate_half(t) * e.sin()

    q, k = torch.randn(hd, generator=g), torch.randn(hd, generator=g)
    report("rope: <R(3)q, R(1)k> == <R(10)q, R(8)k>", float((rot(q, 3.0) @ rot(k, 1.0) - rot(q, 10.0) @ rot(k, 8.0)).abs()), 1e-5)
    print("ALL PASS" if ok else "SOME CHECKS FAILED")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--family", choices=["bert", "gpt2", "llama"], default="bert")
    ap.add_argument("--vocab", type=int, default=12000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, help="llama: key/value heads (grouped-query attention); default --heads")
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--rope-theta", type=float, default=10000.0, help="llama: rotary base")
    ap.add_argument("--untied", action="store_true", help="llama: separate lm_head instead of embed_tokens")
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--lengths", help="JSON {train: [...], eval: [...]} token counts")
    ap.add_argument("--sample", type=int, default=16, help="examples timed per implementation")
    ap.add_argument("--memory-gb", type=float, help="RAM the run may use (default: this machine's)")
    ap.add_argument("--batch", type=int, help="functorch vmap batch (default 8 for bert, 2 for gpt2/llama)")
    ap.add_argument("--check", action="store_true", help="tiny-shape correctness self-check, then exit")
    ap.add_argument("--malloc", choices=["tcmalloc", "system"], default="tcmalloc",
                    help="allocator (read before torch loads: see the top of the file)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        sys.exit(0 if self_check() else 1)
    if a.batch is None:
        a.batch = 8 if a.family == "bert" else 2
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if a.lengths:
        L = json.load(open(a.lengths))
        train_T, eval_T = L["train"], L["eval"]
    else:
        train_T, eval_T = [a.seq] * 32, [a.seq] * 904
    N, M, C = len(train_T), len(eval_T), 2
    model = build(a.family, a.vocab, a.hidden, a.layers, a.heads, a.intermediate,
                  nkv=a.kv_heads, rope_theta=a.rope_theta, untied=a.untied).eval()
    P = sum(p.numel() for p in model.parameters())
    label_ids = torch.tensor([11, 12])
    # A sample with the length distribution of all examples.
    allT = train_T + eval_T
    sample = [make_example(allT[(i * 997) % len(allT)], a.vocab, g, model.causal) for i in range(a.sample)]
    mean_ratio = (sum(allT) / len(allT)) / (sum(len(e[0]) for e in sample) / len(sample))
    # matmul rate for the contraction G_train [N*C, P] @ G_eval^T [P, M*C], measured as [N*C x K] @ [K x 64] with
    # K = min(P / 8, 2^21) columns (at most 2 x 64 x 2^21 float32 = 1 GiB, not [N*C, P/8] at P ~ 1e8).
    K = min(P // 8, 1 << 21)
    A = torch.randn(N * C, K)
    Bm = torch.randn(64, K)
    # best of 3: one timing can catch a load spike, and a slow rate would flatter ntk-lens
    mm_rate = 2 * A.shape[0] * A.shape[1] * 64 / best_seconds(lambda: A @ Bm.T, 3)
    del A, Bm
    # The square 1024^3 product, as bench/run.ts times ntk-lens' matMul (the two rates side by side: the BLAS gap)
    A, Bm = torch.randn(1024, 1024), torch.randn(1024, 1024)
    gemm_rate = 2 * 1024 ** 3 / best_seconds(lambda: A @ Bm, 5)
    del A, Bm
    contraction = 2 * (N * C) * P * ((N + M) * C) / mm_rate
    # What this machine can hold: G_train [N*C, P] float32 is N*C*4P bytes (32 GB for GPT-2 small), beyond 24 GiB. A
    # run that can actually finish here holds the train gradients in chunks of k examples (80 % of RAM, less the model,
    # its gradients and one evaluated example's rows) and recomputes every evaluated gradient once per chunk.
    mem = a.memory_gb * 2**30 if a.memory_gb else os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    per_example = C * 4 * P
    k = max(1, int((0.8 * mem - (2 + C) * 4 * P) // per_example))
    chunks = math.ceil(N / k)
    shape = {"vocab": a.vocab, "hidden": a.hidden, "layers": a.layers, "heads": a.heads, "intermediate": a.intermediate}
    if a.family == "llama":
        shape.update({"kv_heads": a.kv_heads or a.heads, "rope_theta": a.rope_theta, "tied": not a.untied})
    out = {"family": a.family, "shape": shape, "threads": a.threads, "parameters": P, "N": N, "M": M, "C": C,
           "mean_tokens": sum(allT) / len(allT), "sample": a.sample, "functorch_batch": a.batch,
           "contraction_seconds": contraction, "matmul_gflops": mm_rate / 1e9, "gemm_1024_gflops": gemm_rate / 1e9, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "detected"), "torch": torch.__version__, "allocator": "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "glibc",
           "memory_gb": mem / 2**30, "train_gradients_gb": N * per_example / 1e9, "train_chunk": k, "train_chunks": chunks}
    for name, fn in [("loop", lambda ex: grads_loop(model, ex, label_ids)),
                     ("functorch", lambda ex: grads_functorch(model, ex, label_ids, a.batch))]:
        fn(sample[:2])  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        fn(sample)
        s = (time.perf_counter() - t0) / len(sample) * mean_ratio
        cpu = (time.process_time() - c0) / len(sample) * mean_ratio
        total = (N + M) * s + contraction
        fits = (N + chunks * M) * s + contraction
        out[name] = {"seconds_per_example": s, "cpu_seconds_per_example": cpu, "sst2_kernel_seconds_extrapolated": total,
                     "sst2_kernel_seconds_in_memory_here": fits}
        print(f"{name:9s}: {s:.3f} s/example wall, {cpu:.3f} s cpu (C = {C} gradients of {P / 1e6:.2f}M params), "
              f"SST-2 kernel ≈ {total:.0f} s wall (= {N + M} × {s:.3f} + contraction {contraction:.1f} s), {a.threads} thread(s); "
              f"within this machine's {mem / 2**30:.1f} GiB (train gradients {N * per_example / 1e9:.1f} GB: {chunks} chunk(s) of "
              f"{min(k, N)}) ≈ {fits:.0f} s (= ({N} + {chunks} × {M}) × {s:.3f} + contraction)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
