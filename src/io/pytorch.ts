// A GPT as a folder PyTorch and Hugging Face read, and such a folder back as a GPT: GPT-2's
// `model.safetensors` (GPT2LMHeadModel's state-dict names and layouts, which are tsgrad's own: c_attn,
// c_fc and c_proj are Conv1D matrices (in, out), as tsgrad's Dense kernels, so nothing is transposed;
// the head is tied to wte and not stored, as save_pretrained does), `config.json` in GPT2Config's
// field names, the tokenizer, and a self-contained `model.py` + `README.md` for plain PyTorch.
// The tokenizer: a BPE one as GPT-2's vocab.json + merges.txt and Hugging Face's tokenizer.json; a
// character one has no GPT-2 form, so it is tsgrad's tokenizer JSON (`tokenizer.tsgrad.json`, the
// characters by id), which a BPE folder carries too. Import reads any of them, in that order.
// Not for: the LSTM language model (PyTorch's LSTM differs; it leaves through ONNX), GPT-2 variants
// tsgrad cannot run (untied head, another activation or epsilon, n_inner other than 4 n_embd), or
// file I/O beyond reading the folder (the CLI writes, atomically).

import fs from 'node:fs';
import path from 'node:path';
import { TsgradError } from '../core/errors.js';
import { formatShape, sameShape } from '../core/shape.js';
import { parseJson } from '../core/validate.js';
import { readInputFile } from '../core/files.js';
import { gpt2TokenizerFiles, hfTokenizerJson, readGpt2Tokenizer, readHfTokenizer } from '../data/tokenizer-files.js';
import { BpeTokenizer, tokenizerFromJSON, type Tokenizer } from '../data/tokenizer.js';
import { Gpt, gptConfig } from '../models/gpt.js';
import { decodeSafetensors, encodeSafetensors, MAX_FILE, type StoredTensor } from './safetensors.js';

/** tsgrad's LayerNormalization epsilon and GELU (the tanh form, Hugging Face's "gelu_new"). */
const EPSILON = 1e-5;
const ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh'];
const TSGRAD_TOKENIZER = 'tokenizer.tsgrad.json';

/** The folder's files by name, for a GPT and its tokenizer. */
export function exportPytorch(model: Gpt, tokenizer: Tokenizer): Record<string, string | Uint8Array> {
  const c = model.config;
  const config = {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2',
    vocab_size: c.vocabSize, n_positions: c.block, n_ctx: c.block, n_embd: c.embd, n_layer: c.layers, n_head: c.heads, n_inner: null,
    activation_function: 'gelu_new', resid_pdrop: c.dropout, embd_pdrop: c.dropout, attn_pdrop: 0, layer_norm_epsilon: EPSILON,
    initializer_range: 0.02, scale_attn_weights: true, tie_word_embeddings: true, torch_dtype: 'float32',
    tsgrad_tokenizer: tokenizer.kind,
  };
  const tensors: Record<string, StoredTensor> = {};
  for (const w of model.weights) tensors[w.name] = { dtype: 'float32', shape: [...w.value.shape], data: w.value.raw as Float32Array };
  const bpe = tokenizer instanceof BpeTokenizer;
  return {
    'model.safetensors': encodeSafetensors(tensors, { format: 'pt' }),
    'config.json': JSON.stringify(config, null, 2) + '\n',
    ...(bpe && { ...gpt2TokenizerFiles(tokenizer), 'tokenizer.json': hfTokenizerJson(tokenizer) }),
    [TSGRAD_TOKENIZER]: JSON.stringify(tokenizer.toJSON()) + '\n',
    'model.py': MODEL_PY,
    'README.md': readme(bpe),
  };
}

/** Whether `dir` is a folder holding a GPT-2 config.json (model_type "gpt2"). */
export function isGpt2Folder(dir: string): boolean {
  const file = path.join(dir, 'config.json');
  try {
    return fs.statSync(dir).isDirectory() && (JSON.parse(fs.readFileSync(file, 'utf8')) as { model_type?: unknown }).model_type === 'gpt2';
  } catch {
    return false;
  }
}

/** A GPT-2 folder as a GPT with its weights and tokenizer; every file checked before anything is built. */
export function importPytorch(dir: string): { model: Gpt; tokenizer: Tokenizer } {
  const read = (name: string, max = MAX_FILE) => readInputFile(path.join(dir, name), max, 'file');
  const has = (name: string) => fs.existsSync(path.join(dir, name));
  const configFile = path.join(dir, 'config.json');
  const d = parseJson(read('config.json', 1 << 24).toString('utf8'), configFile);
  d.object();
  d.at('model_type').string(['gpt2']);
  const int = (key: string, max: number) => d.at(key).int({ min: 1, max });
  const c = {
    vocabSize: int('vocab_size', 2 ** 24), layers: int('n_layer', 1024), heads: int('n_head', 4096),
    embd: int('n_embd', 2 ** 16), block: int('n_positions', 2 ** 20),
  };
  if (c.embd % c.heads !== 0) d.at('n_head').fail(`${c.heads} does not divide n_embd ${c.embd}`);
  const unsupported = (key: string, ok: (v: unknown) => boolean, why: string) => {
    const f = d.at(key);
    if (f.present && !ok(f.value)) f.fail(`is ${JSON.stringify(f.value)}: ${why}`);
  };
  unsupported('activation_function', (v) => ACTIVATIONS.includes(v as string), 'tsgrad\'s GELU is the tanh form ("gelu_new")');
  unsupported('layer_norm_epsilon', (v) => v === EPSILON, `tsgrad's layer norms use ${EPSILON}`);
  unsupported('n_inner', (v) => v === 4 * c.embd, `tsgrad's MLP is 4 n_embd = ${4 * c.embd} wide`);
  unsupported('tie_word_embeddings', (v) => v === true, 'tsgrad\'s head is the token embedding');
  unsupported('scale_attn_weights', (v) => v === true, 'tsgrad scales attention by 1/sqrt(head size)');
  unsupported('scale_attn_by_inverse_layer_idx', (v) => v === false, 'tsgrad does not');
  const dropout = d.at('resid_pdrop').present ? d.at('resid_pdrop').number({ min: 0, max: 0.99 }) : 0;

  const tokenizer = readTokenizer(dir, has, read);
  const tokFile = has('vocab.json') ? 'vocab.json' : has('tokenizer.json') ? 'tokenizer.json' : TSGRAD_TOKENIZER;
  if (tokenizer.vocabSize !== c.vocabSize) {
    throw new TsgradError(`${path.join(dir, tokFile)}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${c.vocabSize}`);
  }

  const weightsFile = path.join(dir, 'model.safetensors');
  const bytes = read('model.safetensors');
  const { tensors } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), weightsFile);
  // GPT2Model (no head) saves without the "transformer." prefix; older transformers save the
  // causal masks as attn.bias / attn.masked_bias buffers; lm_head.weight, if stored, is wte.
  const prefixed = 'transformer.wte.weight' in tensors ? '' : 'transformer.';
  const stored = new Map<string, StoredTensor>();
  for (const [name, t] of Object.entries(tensors)) {
    if (/\.attn\.(masked_)?bias$/.test(name)) continue;
    stored.set(name === 'lm_head.weight' ? name : prefixed + name, t);
  }
  const expected = expectedShapes(c);
  for (const [name, shape] of expected) {
    const t = stored.get(name);
    if (!t) throw new TsgradError(`${weightsFile}: tensor "${name}" is missing (config.json asks for ${c.layers} layers of ${c.embd} channels)`);
    if (t.dtype !== 'float32' || !sameShape(t.shape, shape)) {
      throw new TsgradError(`${weightsFile}: tensor "${name}" is ${t.dtype} ${formatShape(t.shape)}, but config.json asks for float32 ${formatShape(shape)}`);
    }
  }
  const head = stored.get('lm_head.weight');
  if (head) {
    const wte = stored.get('transformer.wte.weight')!.data;
    if (!sameShape(head.shape, [c.vocabSize, c.embd]) || head.data.some((v, i) => v !== wte[i])) {
      throw new TsgradError(`${weightsFile}: lm_head.weight differs from transformer.wte.weight; tsgrad's GPT ties them`);
    }
  }
  const extra = [...stored.keys()].find((n) => n !== 'lm_head.weight' && !expected.has(n));
  if (extra) throw new TsgradError(`${weightsFile}: tensor "${extra}" is not part of a ${c.layers}-layer GPT-2`);

  const model = new Gpt(gptConfig({ ...c, dropout }));
  for (const w of model.weights) (w.value.raw as Float32Array).set(stored.get(w.name)!.data as Float32Array);
  return { model, tokenizer };
}

function readTokenizer(dir: string, has: (f: string) => boolean, read: (f: string, max?: number) => Buffer): Tokenizer {
  const where = (f: string) => path.join(dir, f);
  if (has('vocab.json') || has('merges.txt')) {
    if (!has('merges.txt')) throw new TsgradError(`${where('vocab.json')}: merges.txt is missing next to it`);
    if (!has('vocab.json')) throw new TsgradError(`${where('merges.txt')}: vocab.json is missing next to it`);
    return readGpt2Tokenizer(read('vocab.json', 1 << 28), read('merges.txt', 1 << 28), { vocabFile: where('vocab.json'), mergesFile: where('merges.txt') });
  }
  if (has('tokenizer.json')) return readHfTokenizer(read('tokenizer.json', 1 << 28), where('tokenizer.json'));
  if (has(TSGRAD_TOKENIZER)) return tokenizerFromJSON(read(TSGRAD_TOKENIZER, 1 << 28).toString('utf8'), where(TSGRAD_TOKENIZER));
  throw new TsgradError(`${dir}: no tokenizer (vocab.json + merges.txt, tokenizer.json or ${TSGRAD_TOKENIZER})`);
}

/** Every GPT-2 weight of config `c` with its shape, in GPT-2's order. */
function expectedShapes(c: { vocabSize: number; layers: number; embd: number; block: number }): Map<string, number[]> {
  const C = c.embd;
  const m = new Map<string, number[]>([['transformer.wte.weight', [c.vocabSize, C]], ['transformer.wpe.weight', [c.block, C]]]);
  for (let i = 0; i < c.layers; i++) {
    const p = `transformer.h.${i}`;
    const entries: [string, number[]][] = [
      ['ln_1.weight', [C]], ['ln_1.bias', [C]], ['attn.c_attn.weight', [C, 3 * C]], ['attn.c_attn.bias', [3 * C]],
      ['attn.c_proj.weight', [C, C]], ['attn.c_proj.bias', [C]], ['ln_2.weight', [C]], ['ln_2.bias', [C]],
      ['mlp.c_fc.weight', [C, 4 * C]], ['mlp.c_fc.bias', [4 * C]], ['mlp.c_proj.weight', [4 * C, C]], ['mlp.c_proj.bias', [C]],
    ];
    for (const [n, s] of entries) m.set(`${p}.${n}`, s);
  }
  m.set('transformer.ln_f.weight', [C]).set('transformer.ln_f.bias', [C]);
  return m;
}

function readme(bpe: boolean): string {
  return `# A tsgrad GPT for PyTorch

Exported by \`tsgrad export --format pytorch\`. GPT-2's architecture (pre-norm blocks, tanh GELU,
layer norm epsilon 1e-5, head tied to the token embedding), in the layout Hugging Face's
\`GPT2LMHeadModel\` saves (\`from_pretrained(folder)\` is meant to read it; tsgrad's tests use \`model.py\`).

- \`model.safetensors\`: the weights, named and laid out as GPT2LMHeadModel's state dict
  (\`transformer.h.0.attn.c_attn.weight\` is a Conv1D matrix (in, out)); float32.
- \`config.json\`: GPT2Config's fields.
${bpe
    ? `- \`vocab.json\` + \`merges.txt\` (GPT-2's pair) and \`tokenizer.json\` (Hugging Face): the byte-level BPE tokenizer;
  \`tokenizer.tsgrad.json\`: the same in tsgrad's form.`
    : `- \`tokenizer.tsgrad.json\`: a character tokenizer, which has no GPT-2 form: \`chars[i]\` is token i,
  so \`ids = [chars.index(ch) for ch in text]\`.`}
- \`model.py\`: the model in plain PyTorch (no other package), with a safetensors reader and writer.

Load it and continue training:

\`\`\`python
import sys; sys.path.insert(0, "this-folder")
import torch, model as gpt
m = gpt.load("this-folder")                      # a torch.nn.Module
opt = torch.optim.AdamW(m.parameters(), lr=3e-4)
logits, loss = m(x, y)                           # x, y: token ids (batch, time), time <= n_positions
loss.backward(); opt.step()
print(gpt.val_loss(m, ids))                      # mean nats/token over windows, as tsgrad gpt eval
gpt.save(m, "trained")                           # model.safetensors + config.json; copy the tokenizer files
\`\`\`

Back to tsgrad: \`tsgrad import trained --out run\`, then \`tsgrad gpt eval run --text FILE\` or
\`tsgrad gpt generate run\`.
`;
}

const MODEL_PY = `"""A tsgrad GPT in plain PyTorch: GPT-2's architecture, read from this folder's model.safetensors
and config.json (Hugging Face GPT2LMHeadModel's names and layouts). No package besides torch."""
import json, math, os, struct
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        dtype = DTYPES[t["dtype"]]
        size = torch.empty(0, dtype=dtype).element_size()
        flat = torch.frombuffer(data, dtype=dtype, count=(end - begin) // size, offset=8 + n + begin) if end > begin else torch.empty(0, dtype=dtype)
        out[name] = flat.reshape(t["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        try:
            b = t.numpy().tobytes()
        except (RuntimeError, ImportError):
            import array
            b = array.array("f", t.flatten().tolist()).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in chunks:
            f.write(b)
    os.replace(path + ".tmp", path)


class Conv1D(nn.Module):  # GPT-2's linear layer: weight (in, out)
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu(x):  # the tanh form ("gelu_new"), as tsgrad
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, C = c["n_head"], c["n_embd"]
        self.c_attn, self.c_proj = Conv1D(C, 3 * C), Conv1D(C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.n_head)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))  # (B, nh, T, hs) -> (B, T, C)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["n_embd"]
        self.c_fc, self.c_proj = Conv1D(C, 4 * C), Conv1D(4 * C, C)

    def forward(self, x):
        return self.c_proj(gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        self.ln_1, self.attn = nn.LayerNorm(C, eps=eps), Attention(c)
        self.ln_2, self.mlp = nn.LayerNorm(C, eps=eps), MLP(c)
        self.drop = nn.Dropout(c.get("resid_pdrop", 0.0))

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.drop(self.mlp(self.ln_2(x)))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        C, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocab_size"], C), wpe=nn.Embedding(c["n_positions"], C),
            h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]), ln_f=nn.LayerNorm(C, eps=eps)))
        self.drop = nn.Dropout(c.get("embd_pdrop", 0.0))

    def forward(self, idx, targets=None):
        """Token ids (B, T) -> logits (B, T, vocab), and the mean cross-entropy when targets (B, T) are given."""
        tr = self.transformer
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(tr.wte(idx) + tr.wpe(pos))
        for block in tr.h:
            x = block(x)
        logits = tr.ln_f(x) @ tr.wte.weight.t()  # the head is tied to the token embedding
        loss = None if targets is None else F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss


def load(folder):
    """The GPT of a folder (config.json + model.safetensors)."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = GPT(config)
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    state = {k: v for k, v in state.items() if k != "lm_head.weight" and not k.endswith((".attn.bias", ".attn.masked_bias"))}
    model.load_state_dict(state)
    return model


def save(model, folder):
    """model.safetensors and config.json into folder, for tsgrad import (copy the tokenizer files too)."""
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict())
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(model.config, f, indent=2)


@torch.no_grad()
def val_loss(model, ids, batch=32):
    """Mean nats per predicted token over ids, in windows of n_positions (then a shorter last one), as tsgrad gpt eval."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    block, predicted, nats, start = model.config["n_positions"], len(ids) - 1, 0.0, 0
    was = model.training
    model.eval()
    while start < predicted:
        full = min(batch, (predicted - start) // block)
        n, length = (full, block) if full > 0 else (1, predicted - start)
        x = torch.stack([ids[start + i * length:start + (i + 1) * length] for i in range(n)])
        y = torch.stack([ids[start + i * length + 1:start + (i + 1) * length + 1] for i in range(n)])
        logits, _ = model(x)
        nats += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        start += n * length
    model.train(was)
    return nats / predicted
`;
