"""A PyTorch twin of `ntk-lens pretrain` (src/engine/pretrain/): the same post-LayerNorm BERT with a tied decoder,
the same packed blocks (read from the run's work folder), 15% masking with 80/10/10, AdamW with warm-up and linear
decay, clipping at 1. Its random numbers differ from the engine's (masks, data order, init), so curves agree in
distribution, not step by step. Used to compare throughput and to try schedules quickly (bench/RESULTS.md), e.g.
  /usr/bin/python3 bench/pytorch_mlm.py --lr 1e-3 --total 30000 --steps 30000 --eval-every 1000
  /usr/bin/python3 bench/pytorch_mlm.py --init .cache/pretrain/ckpt/step-0005663/params.safetensors --lr 1e-3
Prints one JSON line per evaluation: held-out loss and accuracy on the first 64 held-out blocks (fixed masks).
--preln (pre-LayerNorm) and --T < 128 (shorter blocks) are for diagnosis only: the engine trains neither.
"""
import sys, json, math, time, argparse, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument('--lr', type=float, default=5e-4); p.add_argument('--warmup', type=int, default=300)
p.add_argument('--total', type=int, default=6000); p.add_argument('--steps', type=int, default=1000)
p.add_argument('--batch', type=int, default=32); p.add_argument('--T', type=int, default=128)
p.add_argument('--layers', type=int, default=4); p.add_argument('--hidden', type=int, default=128)
p.add_argument('--heads', type=int, default=2); p.add_argument('--ffn', type=int, default=512)
p.add_argument('--preln', action='store_true'); p.add_argument('--eps', type=float, default=1e-12)
p.add_argument('--b2', type=float, default=0.98); p.add_argument('--threads', type=int, default=1)
p.add_argument('--eval-every', type=int, default=100); p.add_argument('--init', default='')
p.add_argument('--blocks', default='.cache/pretrain/blocks-T128'); p.add_argument('--tag', default='run')
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(0); np.random.seed(0)
V, PAD, UNK, CLS, SEP, MASK = 12000, 0, 1, 2, 3, 4
import os
d = a.blocks.rstrip('/') + '/'
train = np.fromfile(d + 'train.u16', dtype=np.uint16).reshape(-1, 128).astype(np.int64)
held = np.fromfile(d + 'heldout.u16', dtype=np.uint16).reshape(-1, 128).astype(np.int64)[:64]
if a.T < 128:
    k = 128 // a.T; train = train.reshape(-1, a.T); held = held.reshape(-1, a.T)
H = a.hidden
class Layer(nn.Module):
    def __init__(s):
        super().__init__(); s.qkv = nn.Linear(H, 3 * H); s.o = nn.Linear(H, H); s.ln1 = nn.LayerNorm(H, eps=a.eps)
        s.f1 = nn.Linear(H, a.ffn); s.f2 = nn.Linear(a.ffn, H); s.ln2 = nn.LayerNorm(H, eps=a.eps)
    def attn(s, x):
        B, T, _ = x.shape; q, k, v = s.qkv(x).view(B, T, 3, a.heads, H // a.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v) if hasattr(F, 'scaled_dot_product_attention') else torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // a.heads), -1) @ v
        return s.o(y.transpose(1, 2).reshape(B, T, H))
    def forward(s, x):
        if a.preln:
            x = x + s.attn(s.ln1(x)); return x + s.f2(F.gelu(s.f1(s.ln2(x))))
        x = s.ln1(x + s.attn(x)); return s.ln2(x + s.f2(F.gelu(s.f1(x))))
class Bert(nn.Module):
    def __init__(s):
        super().__init__(); s.tok = nn.Embedding(V, H); s.pos = nn.Embedding(128, H); s.typ = nn.Embedding(2, H)
        s.ln = nn.LayerNorm(H, eps=a.eps); s.layers = nn.ModuleList([Layer() for _ in range(a.layers)])
        s.tr = nn.Linear(H, H); s.trln = nn.LayerNorm(H, eps=a.eps); s.bias = nn.Parameter(torch.zeros(V))
        s.fln = nn.LayerNorm(H, eps=a.eps) if a.preln else None
        for m in s.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)): nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear): nn.init.zeros_(m.bias)
    def forward(s, ids, pos):
        T = ids.shape[1]; x = s.ln(s.tok(ids) + s.pos.weight[:T] + s.typ.weight[0])
        for l in s.layers: x = l(x)
        if s.fln is not None: x = s.fln(x)
        h = x.reshape(-1, H)[pos]; h = s.trln(F.gelu(s.tr(h)))
        return h @ s.tok.weight.t() + s.bias
def mask(blocks, rng):
    ids = blocks.copy(); sel = (rng.random(ids.shape) < 0.15) & (ids > MASK)
    r = rng.random(ids.shape); lab = ids[sel]
    ids[sel & (r < 0.8)] = MASK; rnd = sel & (r >= 0.8) & (r < 0.9); ids[rnd] = rng.integers(5, V, rnd.sum())
    return torch.from_numpy(ids), torch.from_numpy(np.flatnonzero(sel)), torch.from_numpy(lab)
m = Bert()
if a.init:
    import struct
    f = open(a.init, 'rb'); n = struct.unpack('<Q', f.read(8))[0]; hd = json.loads(f.read(n)); raw = f.read()
    W = {k: torch.from_numpy(np.frombuffer(raw[v['data_offsets'][0]:v['data_offsets'][1]], dtype=np.float32).reshape(v['shape']).copy()) for k, v in hd.items() if k != '__metadata__'}
    e = 'bert.embeddings.'; sd = {'tok.weight': W[e+'word_embeddings.weight'], 'pos.weight': W[e+'position_embeddings.weight'], 'typ.weight': W[e+'token_type_embeddings.weight'],
          'ln.weight': W[e+'LayerNorm.weight'], 'ln.bias': W[e+'LayerNorm.bias'], 'tr.weight': W['cls.predictions.transform.dense.weight'], 'tr.bias': W['cls.predictions.transform.dense.bias'],
          'trln.weight': W['cls.predictions.transform.LayerNorm.weight'], 'trln.bias': W['cls.predictions.transform.LayerNorm.bias'], 'bias': W['cls.predictions.bias']}
    for i in range(a.layers):
        L = f'bert.encoder.layer.{i}.'; P = f'layers.{i}.'
        sd[P+'qkv.weight'] = torch.cat([W[L+f'attention.self.{x}.weight'] for x in ('query', 'key', 'value')]); sd[P+'qkv.bias'] = torch.cat([W[L+f'attention.self.{x}.bias'] for x in ('query', 'key', 'value')])
        for a_, b_ in [('o', 'attention.output.dense'), ('ln1', 'attention.output.LayerNorm'), ('f1', 'intermediate.dense'), ('f2', 'output.dense'), ('ln2', 'output.LayerNorm')]:
            sd[P+a_+'.weight'] = W[L+b_+'.weight']; sd[P+a_+'.bias'] = W[L+b_+'.bias']
    print(m.load_state_dict(sd))
nd = [p for n, p in m.named_parameters() if p.dim() < 2 and 'bias' in n or 'ln' in n]
ids_nd = {id(p) for p in nd}
opt = torch.optim.AdamW([{'params': [p for p in m.parameters() if id(p) not in ids_nd], 'weight_decay': 0.01},
                         {'params': nd, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, a.b2), eps=1e-6)
sched = lambda s: s / a.warmup if s < a.warmup else max(0.0, (a.total - s) / (a.total - a.warmup))
hr = np.random.default_rng(123); hx, hp, hy = mask(held, hr)
rng = np.random.default_rng(1); order = rng.permutation(len(train)); cur = 0; t0 = time.time()
def evaluate():
    m.eval()
    with torch.no_grad(): z = m(hx, hp); l = F.cross_entropy(z, hy).item(); acc = (z.argmax(-1) == hy).float().mean().item()
    m.train(); return l, acc
for step in range(a.steps + 1):
    if step % a.eval_every == 0:
        l, acc = evaluate(); print(json.dumps({'tag': a.tag, 'step': step, 'held': round(l, 4), 'acc': round(acc, 4), 'sec': round(time.time() - t0, 1)}), flush=True)
    if step == a.steps: break
    if cur + a.batch > len(order): order = rng.permutation(len(train)); cur = 0
    x, pos, y = mask(train[order[cur:cur + a.batch]], rng); cur += a.batch
    for g in opt.param_groups: g['lr'] = a.lr * sched(step)
    loss = F.cross_entropy(m(x, pos), y); opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
