#!/usr/bin/env node
// Compares our token counts with js-tiktoken's on corpus.json, the repository's own sources and
// docs, and seeded random strings mixing the character classes the split patterns care about.
//
//   node tests/tokenizer/compare.mjs <path to unit_tests> [random string count]
//
// js-tiktoken is resolved from this directory's node_modules (npm ci --prefix tests/tokenizer),
// the current directory's, or NODE_PATH. Exit codes:
// 0 all equal, 1 a mismatch (each printed), 77 js-tiktoken or the binary is missing (skip).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [binary, randomCountText = '2000'] = process.argv.slice(2);
if (!binary || !fs.existsSync(binary)) {
  console.error('usage: compare.mjs <unit_tests binary> [random count]; binary not found');
  process.exit(77);
}
const here = path.dirname(fileURLToPath(import.meta.url));
let getEncoding;
for (const base of [here, process.cwd()]) {
  try {
    ({ getEncoding } = createRequire(path.join(base, 'noop.js'))('js-tiktoken'));
    break;
  } catch {
    // try the next place
  }
}
if (!getEncoding) {
  console.error('js-tiktoken not found (npm ci --prefix tests/tokenizer): skipped');
  process.exit(77);
}
const root = path.resolve(here, '..', '..');

function sourceFiles(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, out);
    else if (/\.(cpp|hpp|md|yaml|mjs|html|sh)$/.test(entry.name)) out.push(full);
  }
  return out;
}

// Small deterministic PRNG (mulberry32) so a failure reproduces.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pools = [
  'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', ' ', '  ', '\n',
  '\r\n', '\t', "'", "'s", "'T", "'re", "'LL", '/', '.,;:!?-_()[]{}<>"*&^%$#@~`|\\+=',
  'éèêëàâäôöûüçñßøæÉÀÇ', 'абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГД', '中文字符測試漢字',
  'ひらがなカタカナー', '한국어', 'नमस्ते', 'ส วั ส ดี', 'مرحبا', '\u0301\u0302\u0308\u20dd',
  '\u01c5\u01c8\u1f88', '\u02b0\u02b2\u3005', '😀👍🏽👨‍👩‍👧🇫🇷❤️', '\u00a0\u2028\u2029\ufeff\u0085\u3000\u000b',
  '١٢٣١۲३४１２Ⅻ½²', '∑∫√≤→αβγ',
];

function randomStrings(count) {
  const next = rng(12345);
  const out = [];
  for (let i = 0; i < count; ++i) {
    const length = 1 + Math.floor(next() * 40);
    let text = '';
    for (let k = 0; k < length; ++k) {
      const pool = Array.from(pools[Math.floor(next() * pools.length)]);
      const take = 1 + Math.floor(next() * 4);
      for (let j = 0; j < take; ++j) text += pool[Math.floor(next() * pool.length)];
    }
    out.push(text);
  }
  return out;
}

const corpus = [
  ...JSON.parse(fs.readFileSync(path.join(here, 'corpus.json'), 'utf8')),
  ...['src', 'include', 'docs', 'tests/unit', 'scripts']
    .map((d) => path.join(root, d))
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => sourceFiles(d))
    .map((f) => fs.readFileSync(f, 'utf8')),
  ...randomStrings(Number(randomCountText)),
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenizer-compare-'));
const corpusPath = path.join(work, 'corpus.json');
const countsPath = path.join(work, 'counts.json');
fs.writeFileSync(corpusPath, JSON.stringify(corpus));
execFileSync(binary, ['--gtest_filter=Tokenizer.CountCorpusForComparison'], {
  env: { ...process.env, LLM_ROUTER_TOKENIZER_CORPUS: corpusPath,
         LLM_ROUTER_TOKENIZER_COUNTS: countsPath },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const ours = JSON.parse(fs.readFileSync(countsPath, 'utf8'));
fs.rmSync(work, { recursive: true });

let mismatches = 0;
for (const name of ['cl100k_base', 'o200k_base']) {
  const encoding = getEncoding(name);
  corpus.forEach((text, i) => {
    const expected = encoding.encode(text, [], []).length;
    if (ours[name][i] !== expected) {
      ++mismatches;
      console.log(`${name} #${i}: ours ${ours[name][i]}, js-tiktoken ${expected}: ` +
                  JSON.stringify(text.slice(0, 120)));
    }
  });
}
console.log(`${corpus.length} texts x 2 encodings, ${mismatches} mismatches`);
process.exit(mismatches === 0 ? 0 : 1);
