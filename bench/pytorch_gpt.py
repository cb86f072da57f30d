"""The character GPT in PyTorch, for `tsgrad bench --compare`: nanoGPT's model (pre-norm blocks,
fused qkv Linear(C, 3C), causal attention, MLP C -> 4C GELU(tanh) -> C, learned positions, final
LayerNorm, head tied to the token embedding, no dropout), AdamW (lr 1e-3, weight decay 0.1),
cross-entropy over every position, gradient clipping at global norm 1. Prints one JSON object:
training tokens/s after warm-up. Speed does not depend on the text, so the tokens are random ids
over the Brown corpus's 85 characters. Attention is written out (q kᵀ, masked_fill, softmax, @ v):
PyTorch 1.13 has no F.scaled_dot_product_attention. Not a quality benchmark.
Run with OPENBLAS_NUM_THREADS=1 and torch.set_num_threads(2) (set below), its fastest set-up here.
Usage: python3 bench/pytorch_gpt.py [threads=2] [steps=20] [warmup=3]"""
import json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, LAYERS, HEADS, EMBD, BLOCK, BATCH = 85, 4, 4, 128, 128, 32


class Block(nn.Module):
    def __init__(self, c, heads, block):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.register_buffer('mask', torch.tril(torch.ones(block, block, dtype=torch.bool)).logical_not())

    def attn(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)  # (B, T, C) each
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(self.mask[:t, :t], float('-inf')), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)  # (B, nh, T, hs) -> (B, T, C)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self, vocab=VOCAB):
        super().__init__()
        self.vocab = vocab
        self.wte, self.wpe = nn.Embedding(vocab, EMBD), nn.Embedding(BLOCK, EMBD)
        self.h = nn.ModuleList(Block(EMBD, HEADS, BLOCK) for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(EMBD)
        for n, p in self.named_parameters():  # GPT-2's init: N(0, 0.02) matrices, zero biases
            if p.dim() == 2:
                nn.init.normal_(p, 0, 0.02)
            elif n.endswith('bias'):
                nn.init.zeros_(p)

    def logits(self, idx):
        t = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # head tied to the token embedding

    def forward(self, idx, targets):
        return F.cross_entropy(self.logits(idx).view(-1, self.vocab), targets.reshape(-1))


def adamw(model, lr):
    decay = [p for p in model.parameters() if p.dim() >= 2]  # weight decay on matrices only (nanoGPT)
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}], lr=lr)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT()
    opt = adamw(model, 1e-3)
    g = torch.Generator().manual_seed(0)
    data = torch.randint(0, VOCAB, (16, BATCH, BLOCK + 1), generator=g)
    inputs, targets = data[:, :, :-1].contiguous(), data[:, :, 1:].contiguous()  # (16, B, T) each

    def step(i):
        loss = model(inputs[i % len(data)], targets[i % len(data)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        loss = step(warmup + i)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        'tokensPerSecond': BATCH * BLOCK * steps / seconds, 'stepMs': 1000 * seconds / steps, 'loss': loss,
        'params': sum(p.numel() for p in model.parameters()), 'version': f'torch {torch.__version__}', 'threads': torch.get_num_threads(),
    }))


if __name__ == '__main__':
    main()
