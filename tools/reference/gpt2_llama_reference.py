#!/usr/bin/env python3
"""Independent PyTorch reference for AutoCircuit for .NET's transformer parity tests.

Plain torch (1.13 works); no transformers, no TransformerLens. It

1. creates small seeded random checkpoints in Hugging Face layout (config.json + model.safetensors,
   written by this script; one GPT-2 as a zipped pytorch_model.bin state dict with the
   `transformer.` prefix) under tests/Fixtures/models/,
2. computes their logits with the reference forward passes below (Hugging Face's GPT-2 and Llama
   math, written from their definitions: fused c_attn, rotate-half RoPE with repeat_kv for
   grouped-query attention) for plain and left-padded batches, and
3. when ../shared/models is present, computes reference numbers for fake-gpt2 (a subset of the
   logits: 50257 columns would be too large) and for stories260K (llama2.c legacy format,
   interleaved RoPE), including its greedy continuation from BOS.

Left padding follows TransformerLens (which auto-circuit's data path uses): the leading run of pad
tokens of a row is masked as keys, except its last token when the pad id is also the BOS id;
positions count from the first attended token (cumsum(mask) - 1, clamped at 0); query rows with no
key get a zero attention pattern.

Usage (from the repository root):
    python3 tools/reference/gpt2_llama_reference.py [--shared ../shared]
"""
import argparse
import io
import json
import math
import struct
import zipfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "Fixtures" / "models"


# ----------------------------------------------------------------------------- files

def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        a, b = info["data_offsets"]
        buf = bytearray(data[8 + n + a:8 + n + b])
        out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(info["shape"]).clone()
    return out


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")


def rounded(t):
    """Nested lists of floats with 8 significant digits (float32 precision, compact JSON)."""
    if t.dim() == 0:
        return float(f"{t.item():.8g}")
    return [rounded(x) for x in t]


# ----------------------------------------------------------------------------- masks

def padding_mask(tokens, pad_id, pad_is_bos):
    """[B, S] bool: TransformerLens' left-padding attention mask."""
    if pad_id is None:
        return torch.ones_like(tokens, dtype=torch.bool)
    leading = torch.cumsum((tokens != pad_id).long(), dim=1) == 0
    mask = ~leading
    if pad_is_bos:
        bos = (leading.long().sum(1) - 1).clamp(min=0)
        mask[torch.arange(tokens.shape[0]), bos] = True
    return mask


def positions_of(mask):
    return (mask.long().cumsum(1) - 1).clamp(min=0)


def attention(q, k, v, mask):
    """q, k, v: [B, H, T, dh]; mask: [B, T] keys. Returns [B, H, T, dh]."""
    t = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    allowed = causal[None, None] & mask[:, None, None, :]
    scores = scores.masked_fill(~allowed, float("-inf"))
    pattern = torch.softmax(scores, dim=-1)
    pattern = torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern)
    return pattern @ v


# ----------------------------------------------------------------------------- GPT-2

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {"gelu_new": gelu_new, "gelu": torch.nn.functional.gelu, "relu": torch.relu}


def gpt2_logits(sd, cfg, tokens, pad_id=None, pad_is_bos=False):
    """Hugging Face GPT2LMHeadModel's forward (Conv1D weights [in, out]), TransformerLens padding."""
    g = lambda name: sd[name]  # noqa: E731
    d, h = cfg["n_embd"], cfg["n_head"]
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = ACTIVATIONS[cfg.get("activation_function", "gelu_new")]
    mask = padding_mask(tokens, pad_id, pad_is_bos)
    x = g("wte.weight")[tokens] + g("wpe.weight")[positions_of(mask)]
    b, t = tokens.shape
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        a = torch.nn.functional.layer_norm(x, (d,), g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps)
        qkv = a @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in qkv.split(d, dim=2))
        z = attention(q, k, v, mask).transpose(1, 2).reshape(b, t, d)
        x = x + z @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        m = torch.nn.functional.layer_norm(x, (d,), g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps)
        m = act(m @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias"))
        x = x + m @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    x = torch.nn.functional.layer_norm(x, (d,), g("ln_f.weight"), g("ln_f.bias"), eps)
    unembed = sd["lm_head.weight"] if not cfg.get("tie_word_embeddings", True) else g("wte.weight")
    return x @ unembed.T


def random_gpt2(seed, n_layer, n_head, n_embd, n_inner, vocab, n_positions):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *shape, s=0.2: torch.randn(*shape, generator=gen) * s  # noqa: E731
    d, inner = n_embd, n_inner or 4 * n_embd
    sd = {"wte.weight": r(vocab, d), "wpe.weight": r(n_positions, d, s=0.1)}
    for i in range(n_layer):
        p = f"h.{i}."
        sd[p + "ln_1.weight"] = 1 + r(d, s=0.1)
        sd[p + "ln_1.bias"] = r(d, s=0.05)
        sd[p + "attn.c_attn.weight"] = r(d, 3 * d)
        sd[p + "attn.c_attn.bias"] = r(3 * d, s=0.05)
        sd[p + "attn.c_proj.weight"] = r(d, d)
        sd[p + "attn.c_proj.bias"] = r(d, s=0.05)
        sd[p + "ln_2.weight"] = 1 + r(d, s=0.1)
        sd[p + "ln_2.bias"] = r(d, s=0.05)
        sd[p + "mlp.c_fc.weight"] = r(d, inner)
        sd[p + "mlp.c_fc.bias"] = r(inner, s=0.05)
        sd[p + "mlp.c_proj.weight"] = r(inner, d)
        sd[p + "mlp.c_proj.bias"] = r(d, s=0.05)
    sd["ln_f.weight"] = 1 + r(d, s=0.1)
    sd["ln_f.bias"] = r(d, s=0.05)
    return sd


def gpt2_config(n_layer, n_head, n_embd, n_inner, vocab, n_positions, activation="gelu_new"):
    return {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": activation,
        "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "n_inner": n_inner, "vocab_size": vocab,
        "n_positions": n_positions, "n_ctx": n_positions, "layer_norm_epsilon": 1e-5,
        "bos_token_id": vocab - 1, "eos_token_id": vocab - 1, "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False, "torch_dtype": "float32",
    }


# ----------------------------------------------------------------------------- Llama

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, theta, interleaved):
    """x: [B, H, T, dh]; pos: [B, T]."""
    dh = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.int64).float() / dh))
    ang = pos[:, None, :, None].float() * inv_freq  # [B, 1, T, dh/2]
    cos, sin = ang.cos(), ang.sin()
    if interleaved:  # llama2.c: pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)
    half = dh // 2  # Hugging Face: rotate_half, pairs (i, i + dh/2)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def llama_logits(w, cfg, tokens, pad_id=None, pad_is_bos=False, interleaved=False):
    """Hugging Face LlamaForCausalLM's forward (nn.Linear weights [out, in]); repeat_kv for GQA."""
    d, h, kvh = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh, eps, theta = d // h, cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    mask = padding_mask(tokens, pad_id, pad_is_bos)
    pos = positions_of(mask)
    b, t = tokens.shape
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (a @ w[p + "self_attn.q_proj.weight"].T).view(b, t, h, dh).transpose(1, 2)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).view(b, t, kvh, dh).transpose(1, 2)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).view(b, t, kvh, dh).transpose(1, 2)
        q, k = rope(q, pos, theta, interleaved), rope(k, pos, theta, interleaved)
        k, v = k.repeat_interleave(h // kvh, dim=1), v.repeat_interleave(h // kvh, dim=1)
        z = attention(q, k, v, mask).transpose(1, 2).reshape(b, t, h * dh)
        x = x + z @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(m @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (m @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    unembed = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ unembed.T


def random_llama(seed, cfg):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *shape, s=0.2: torch.randn(*shape, generator=gen) * s  # noqa: E731
    d, h, kvh, ff, vocab = (cfg[k] for k in (
        "hidden_size", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size"))
    dh = d // h
    w = {"model.embed_tokens.weight": r(vocab, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + r(d, s=0.1)
        w[p + "self_attn.q_proj.weight"] = r(h * dh, d)
        w[p + "self_attn.k_proj.weight"] = r(kvh * dh, d)
        w[p + "self_attn.v_proj.weight"] = r(kvh * dh, d)
        w[p + "self_attn.o_proj.weight"] = r(d, h * dh)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d, s=0.1)
        w[p + "mlp.gate_proj.weight"] = r(ff, d)
        w[p + "mlp.up_proj.weight"] = r(ff, d)
        w[p + "mlp.down_proj.weight"] = r(d, ff)
    w["model.norm.weight"] = 1 + r(d, s=0.1)
    w["lm_head.weight"] = r(vocab, d)
    return w


# ----------------------------------------------------------------------------- llama2.c

def read_llama2c(path):
    """The legacy llama2.c checkpoint: 7 int32 header, then float32 weights (see shared/models/README.md)."""
    data = Path(path).read_bytes()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("<7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    floats = torch.frombuffer(bytearray(data[28:]), dtype=torch.float32)
    dh, pos = dim // heads, 0

    def take(*shape):
        nonlocal pos
        n = math.prod(shape)
        out = floats[pos:pos + n].reshape(shape).clone()
        pos += n
        return out

    emb = take(vocab, dim)
    rms_att, wq, wk, wv = take(layers, dim), take(layers, dim, dim), take(layers, kv_heads * dh, dim), take(layers, kv_heads * dh, dim)
    wo, rms_ffn = take(layers, dim, dim), take(layers, dim)
    w1, w2, w3 = take(layers, hidden, dim), take(layers, dim, hidden), take(layers, hidden, dim)
    rms_final = take(dim)
    take(seq_len, dh // 2)  # freq_cis_real (unused)
    take(seq_len, dh // 2)  # freq_cis_imag (unused)
    wcls = emb if shared else take(vocab, dim)
    w = {"model.embed_tokens.weight": emb, "model.norm.weight": rms_final, "lm_head.weight": wcls}
    for i in range(layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = rms_att[i]
        w[p + "self_attn.q_proj.weight"], w[p + "self_attn.k_proj.weight"] = wq[i], wk[i]
        w[p + "self_attn.v_proj.weight"], w[p + "self_attn.o_proj.weight"] = wv[i], wo[i]
        w[p + "post_attention_layernorm.weight"] = rms_ffn[i]
        w[p + "mlp.gate_proj.weight"], w[p + "mlp.down_proj.weight"], w[p + "mlp.up_proj.weight"] = w1[i], w2[i], w3[i]
    cfg = {"hidden_size": dim, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
           "num_hidden_layers": layers, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}
    return w, cfg


def read_llama2c_vocab(path, vocab):
    data = Path(path).read_bytes()
    pos, pieces = 4, []
    for _ in range(vocab):
        _score, n = struct.unpack("<fi", data[pos:pos + 8])
        pieces.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    return pieces


def llama2c_decode(pieces, ids):
    out, prev = b"", 1
    for i in ids:
        piece = pieces[i]
        if prev == 1 and piece.startswith(b" "):
            piece = piece[1:]
        if piece.startswith(b"<0x") and piece.endswith(b">") and len(piece) == 6:
            piece = bytes([int(piece[3:5], 16)])
        out += piece
        prev = i
    return out.decode("utf-8", errors="replace")


def greedy(logits_fn, tokens, steps):
    seq = list(tokens)
    for _ in range(steps):
        seq.append(int(logits_fn(torch.tensor([seq]))[0, -1].argmax()))
    return seq[len(tokens):]


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared/ folder with models/")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    ref = OUT / "reference"

    # GPT-2, model.safetensors without prefix, tied unembedding, gelu_new.
    cfg = gpt2_config(n_layer=3, n_head=4, n_embd=32, n_inner=64, vocab=100, n_positions=32)
    sd = random_gpt2(1, 3, 4, 32, 64, 100, 32)
    folder = OUT / "gpt2-random"
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", cfg)
    write_safetensors(folder / "model.safetensors", sd)
    plain = torch.tensor([[99, 3, 14, 15, 92, 65, 35], [99, 89, 79, 32, 38, 46, 26]])
    padded = torch.tensor([[99, 3, 14, 15, 92, 65, 35], [99, 99, 99, 26, 53, 58, 97]])
    write_json(ref / "gpt2-random.json", {
        "model": "gpt2-random",
        "cases": [
            {"name": "plain", "tokens": plain.tolist(), "logits": rounded(gpt2_logits(sd, cfg, plain))},
            {"name": "left-padded", "pad_id": 99, "pad_is_bos": True, "tokens": padded.tolist(),
             "logits": rounded(gpt2_logits(sd, cfg, padded, 99, True))},
        ],
    })

    # GPT-2 as pytorch_model.bin (zip + pickle) with the transformer. prefix, a separate lm_head,
    # the causal-mask buffers old checkpoints carry, and the erf GELU.
    cfg = gpt2_config(n_layer=2, n_head=2, n_embd=16, n_inner=None, vocab=100, n_positions=16, activation="gelu")
    cfg["tie_word_embeddings"] = False
    sd = random_gpt2(2, 2, 2, 16, None, 100, 16)
    sd["lm_head.weight"] = torch.randn(100, 16, generator=torch.Generator().manual_seed(3)) * 0.2
    folder = OUT / "gpt2-random-bin"
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", cfg)
    state = {("" if k == "lm_head.weight" else "transformer.") + k: v for k, v in sd.items()}
    for i in range(2):
        state[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(16, 16)).view(1, 1, 16, 16)
        state[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save(state, folder / "pytorch_model.bin")
    plain = torch.tensor([[99, 7, 1, 42, 8], [99, 55, 0, 13, 21]])
    write_json(ref / "gpt2-random-bin.json", {
        "model": "gpt2-random-bin",
        "cases": [{"name": "plain", "tokens": plain.tolist(), "logits": rounded(gpt2_logits(sd, cfg, plain))}],
    })

    # Llama (Hugging Face layout): grouped-query attention, rotate-half RoPE, rope_theta from config.
    cfg = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 48,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
        "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 500000.0, "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "attention_bias": False, "torch_dtype": "float32",
    }
    w = random_llama(4, cfg)
    folder = OUT / "llama-random"
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", cfg)
    write_safetensors(folder / "model.safetensors", w)
    plain = torch.tensor([[1, 3, 14, 15, 92, 65, 35], [1, 89, 79, 32, 38, 46, 26]])
    padded = torch.tensor([[1, 3, 14, 15, 92, 65, 35], [2, 2, 1, 26, 53, 58, 97]])
    write_json(ref / "llama-random.json", {
        "model": "llama-random",
        "cases": [
            {"name": "plain", "tokens": plain.tolist(), "logits": rounded(llama_logits(w, cfg, plain))},
            {"name": "left-padded", "pad_id": 2, "pad_is_bos": False, "tokens": padded.tolist(),
             "logits": rounded(llama_logits(w, cfg, padded, 2, False))},
        ],
    })

    shared = Path(args.shared) / "models"
    if not shared.is_dir():
        print(f"{shared} not found: skipped the fake-gpt2 and stories260K references")
        return

    # fake-gpt2: 50257 columns per position are too many for a fixture; keep every 251st column,
    # the argmax and the log-sum-exp of each position, and a greedy continuation.
    cfg = json.loads((shared / "fake-gpt2" / "config.json").read_text())
    sd = {k.removeprefix("transformer."): v for k, v in read_safetensors(shared / "fake-gpt2" / "model.safetensors").items()}
    ioi = [2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284]
    tokens = torch.tensor([ioi])
    logits = gpt2_logits(sd, cfg, tokens)[0]
    columns = list(range(0, cfg["vocab_size"], 251))
    write_json(ref / "fake-gpt2.json", {
        "model": "fake-gpt2", "tokens": ioi, "columns": columns,
        "logits_at_columns": rounded(logits[:, columns]),
        "argmax": logits.argmax(-1).tolist(), "logsumexp": rounded(logits.logsumexp(-1)),
        "greedy_5": greedy(lambda x: gpt2_logits(sd, cfg, x), ioi, 5),
    })

    # stories260K (llama2.c legacy format, interleaved RoPE).
    w, cfg = read_llama2c(shared / "stories260K" / "stories260K.bin")
    run = lambda x: llama_logits(w, cfg, x, interleaved=True)  # noqa: E731
    tokens = [1, 403, 407, 261, 378, 430, 267, 331]
    story = greedy(run, [1], 40)
    pieces = read_llama2c_vocab(shared / "stories260K" / "tok512.bin", 512)
    text = llama2c_decode(pieces, story)  # prev token = BOS: the first piece loses its leading space
    expected = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
    assert text.startswith(expected), text
    write_json(ref / "stories260K.json", {
        "model": "stories260K", "tokens": tokens, "logits": rounded(run(torch.tensor([tokens]))[0]),
        "greedy_from_bos": story, "greedy_text": text,
    })
    print("greedy from BOS:", repr(text))


if __name__ == "__main__":
    main()
