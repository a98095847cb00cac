#!/usr/bin/env node
// Converts the BPE rank tables of the npm package js-tiktoken (MIT) into the compact binary
// files read by src/tokenizer (config/tokenizers/<encoding>.bpe). Run once when upgrading:
//   npm install --prefix /tmp/tt js-tiktoken
//   node scripts/convert-tokenizers.mjs /tmp/tt/node_modules/js-tiktoken config/tokenizers
//
// Format (little-endian):
//   "LRBPE001"                      8-byte magic
//   u32 rank_count                  ranks are 0 .. rank_count-1; a hole has length 0
//   u32 special_count
//   special_count x { u8 length, bytes, u32 rank }
//   rank_count x { u8 length, bytes }   the token's bytes, in rank order
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, outDir] = process.argv.slice(2);
if (!packageDir || !outDir) {
  console.error('usage: convert-tokenizers.mjs <js-tiktoken dir> <output dir>');
  process.exit(2);
}

function ranksOf(bpeRanks) {
  const tokens = [];
  for (const line of bpeRanks.split('\n')) {
    if (!line) continue;
    const [, offsetText, ...encoded] = line.split(' ');
    const offset = Number.parseInt(offsetText, 10);
    encoded.forEach((token, i) => tokens.push([offset + i, Buffer.from(token, 'base64')]));
  }
  return tokens;
}

function u32(value) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function byteString(bytes) {
  if (bytes.length === 0 || bytes.length > 255) throw new Error(`bad token length ${bytes.length}`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

async function convert(encoding) {
  const file = path.join(packageDir, 'dist', 'ranks', `${encoding}.js`);
  const data = (await import(pathToFileURL(file).href)).default;
  const tokens = ranksOf(data.bpe_ranks);
  const rankCount = tokens.reduce((max, [rank]) => Math.max(max, rank), -1) + 1;
  const byRank = new Array(rankCount).fill(null);
  for (const [rank, bytes] of tokens) byRank[rank] = bytes;
  const specials = Object.entries(data.special_tokens);
  const parts = [Buffer.from('LRBPE001', 'latin1'), u32(rankCount), u32(specials.length)];
  for (const [text, rank] of specials) parts.push(byteString(Buffer.from(text, 'utf8')), u32(rank));
  for (const bytes of byRank) parts.push(bytes ? byteString(bytes) : Buffer.from([0]));
  const out = Buffer.concat(parts);
  fs.writeFileSync(path.join(outDir, `${encoding}.bpe`), out);
  const holes = byRank.filter((b) => b === null).length;
  console.log(`${encoding}: ${tokens.length} ranks (${holes} holes), ${specials.length} special, ` +
              `${out.length} bytes; pattern ${data.pat_str}`);
}

fs.mkdirSync(outDir, { recursive: true });
for (const encoding of ['cl100k_base', 'o200k_base']) await convert(encoding);
