"""The whole of `tsgrad gpt train --steps N` in PyTorch, for bench/whole-gpt.ts: the same character
GPT (bench/pytorch_gpt.py's model), trained as tsgrad trains it, as one process from launch to exit:
read the text, build the character vocabulary, hold out the last 10% for validation, train N steps
on random windows (batch 32, block 128) with AdamW (lr 6e-3, betas 0.9/0.99, weight decay 0.1 on
matrices, a linear warm-up of 100 steps then a cosine to a tenth), clipping at global norm 1, then
the validation loss on 8 fixed batches, a checkpoint (torch.save) and a 300-character sample at
temperature 0.8 (nanoGPT's generate: the window recomputed for every token).
Usage: python3 bench/pytorch_gpt_train.py TEXT_FILE STEPS [threads=2] [checkpoint_dir=/tmp]"""
import json, math, os, sys, time
t_launch = time.time()
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_gpt import GPT, BLOCK, BATCH, adamw

text_file, steps = sys.argv[1], int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
out_dir = sys.argv[4] if len(sys.argv) > 4 else '/tmp'
torch.set_num_threads(threads)
torch.manual_seed(0)
text = open(text_file, encoding='utf-8').read()
chars = sorted(set(text))
table = np.zeros(max(map(ord, chars)) + 1, dtype=np.int64)
table[[ord(c) for c in chars]] = np.arange(len(chars))
ids = torch.from_numpy(table[np.frombuffer(text.encode('utf-32-le'), dtype=np.uint32)])
cut = int(len(ids) * 0.9)
train, val = ids[:cut], ids[cut:]
model = GPT(len(chars))
lr, warm, floor = 6e-3, 100, 0.1
opt = adamw(model, lr)
for group in opt.param_groups:
    group['betas'] = (0.9, 0.99)
g = torch.Generator().manual_seed(2)


def batch(data, starts):
    rows = starts[:, None] + torch.arange(BLOCK + 1)
    w = data[rows]
    return w[:, :-1], w[:, 1:]


t_first = time.time()
for i in range(steps):
    rate = lr * (i + 1) / warm if i < warm else lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (i - warm) / max(1, steps - warm))))
    for group in opt.param_groups:
        group['lr'] = rate
    x, y = batch(train, torch.randint(0, len(train) - BLOCK - 1, (BATCH,), generator=g))
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
t_trained = time.time()
with torch.no_grad():
    starts = torch.randint(0, len(val) - BLOCK - 1, (8 * BATCH,), generator=torch.Generator().manual_seed(3))
    val_loss = sum(model(*batch(val, starts[b * BATCH:(b + 1) * BATCH])).item() for b in range(8)) / 8
    torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict()}, os.path.join(out_dir, 'pytorch-gpt.pt'))
    idx = torch.tensor([[chars.index('\n')]])
    for _ in range(300):
        logits = model.logits(idx[:, -BLOCK:])[:, -1, :] / 0.8
        idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
sample = ''.join(chars[i] for i in idx[0].tolist())
t_end = time.time()
print(json.dumps({
    'valLoss': val_loss, 'startSeconds': t_first - t_launch, 'trainSeconds': t_trained - t_first, 'endSeconds': t_end - t_trained,
    'version': f'torch {torch.__version__}', 'threads': torch.get_num_threads(), 'sample': sample[:60],
}))
