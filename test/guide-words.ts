// The numbers that the guide's language-model and captioner chapters (docs/guide/10-*, 11-*, in
// English and Chinese) state in their prose and tables are the ones their examples print, and each
// table row's arithmetic (`| 128 * 384 + 384 = 49,536 |`) is right. test/guide.test.ts checks the
// marked code and output blocks themselves.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EDITIONS, printed, read } from './guide-examples.js';

const grouped = (n: number | string) => Number(n).toLocaleString('en-US');

/** Each table row `| a * b + c = N |`: its value, after checking its arithmetic. */
function rows(markdown: string, where: string): number[] {
  return [...markdown.matchAll(/\| ([\d *+]+) = ([\d,]+) \|/g)].map(([, expr, value]) => {
    const sum = expr.split('+').reduce((s, term) => s + term.split('*').reduce((p, f) => p * Number(f), 1), 0);
    assert.equal(sum, Number(value.replace(/,/g, '')), `${where}: ${expr} = ${value}`);
    return sum;
  });
}

test('chapter 10: the GPT\'s parameters by hand are the library\'s, and the prose quotes the examples', () => {
  const total = printed('examples/tiny-gpt.ts', 'parameters:');
  const parts = ['transformer.wte.', 'transformer.wpe.', 'transformer.h.0.', 'transformer.ln_f.'].map((p) => Number(printed('examples/tiny-gpt.ts', p)));
  const tiny = printed('examples/tiny-gpt.ts', 'tiny GPT:').match(/(\d+) parameters/)![1];
  const losses = printed('examples/tiny-gpt.ts', 'loss by step').match(/\d+: [\d.]+/g)!;
  const lnV = printed('examples/tiny-gpt.ts', 'loss by step').match(/= ([\d.]+)/)![1];
  const weights = JSON.parse(printed('examples/attention.ts', 'weights:')) as number[][];
  for (const edition of EDITIONS) {
    const md = read(edition, '10-language-model.md');
    const where = `${edition}/10-language-model.md`;
    const values = rows(md, where);
    assert.equal(values.length, 11, `${where}: the table's rows with arithmetic`);
    for (const part of parts) assert.ok(values.includes(part), `${where}: no row gives ${part}`);
    // wte, wpe, the 4 blocks, ln_f (the rows between are one block's parts and their sum).
    assert.equal(values[0] + values[1] + values[9] + values[10], Number(total), `${where}: the parts add up to ${total}`);
    assert.equal(values.slice(2, 8).reduce((s, v) => s + v, 0), values[8], `${where}: a block's parts add up to a block`);
    assert.ok(md.includes(`**${grouped(total)}**`), `${where}: the table's total is not ${total}`);
    assert.ok(md.includes(`= ${grouped(tiny)}\``), `${where}: the tiny GPT's ${tiny} parameters`);
    assert.ok(md.includes(`${printed('examples/tokenizers.ts', 'char vocabulary:').split(' ')[0]} `), `${where}: the Brown corpus's characters`);
    assert.ok(md.includes(losses.at(-1)!.split(': ')[1]), `${where}: the tiny GPT's last loss ${losses.at(-1)}`);
    assert.ok(md.includes(lnV), `${where}: ln V = ${lnV}`);
    for (const w of weights[1].slice(0, 2)) assert.ok(md.includes(String(w)), `${where}: the second position's weight ${w}`);
  }
});

test('chapter 11: the captioner\'s parameters by hand are the library\'s, and the prose quotes the example', () => {
  const total = printed('examples/captioner.ts', 'tiny captioner:').match(/default: (\d+)/)![1];
  const first = printed('examples/captioner.ts', 'images').match(/numbers (\d+)/)![1];
  const features = printed('examples/captioner.ts', 'tokens').match(/visual features (\S+);/)![1].split('x');
  const lnV = printed('examples/captioner.ts', 'loss by step').match(/(ln \d+ = [\d.]+)/)![1];
  for (const edition of EDITIONS) {
    const md = read(edition, '11-captioner.md');
    const where = `${edition}/11-captioner.md`;
    const values = rows(md, where);
    assert.equal(values.length, 10, `${where}: the table's rows with arithmetic`);
    // The parts without a sub-total: three convolutions, the projection, the encoder's positions and
    // norm, the embeddings, the 2 blocks, ln_f.
    const sum = [0, 1, 2, 3, 4, 5, 8, 9].reduce((s, i) => s + values[i], 0);
    assert.equal(sum, Number(total), `${where}: the parts add up to ${total}`);
    assert.ok(md.includes(`**${grouped(total)}**`), `${where}: the table's total is not ${total}`);
    assert.ok(md.includes(first), `${where}: the first test image's number ${first}`);
    assert.ok(md.includes(`${features[1]} 列`) || md.includes(`${features[1]} columns`), `${where}: ${features[1]} visual positions`);
    assert.ok(md.includes(lnV), `${where}: ${lnV}`);
  }
});
