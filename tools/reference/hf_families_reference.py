#!/usr/bin/env python3
"""Tiny random checkpoints of the Hugging Face decoder families and their reference logits.

Plain torch (Debian's python3-torch 1.13 is enough); no transformers. For each family below this
script writes a seeded random-init checkpoint in the exact layout Hugging Face (HF) checkpoints use
(config.json with the field names real configs use, safetensors with the real tensor names) into
tests/Fixtures/models/<name>/, and the logits of an independent forward pass (all positions, every
row of the batch) into tests/Fixtures/models/reference/<name>.json, in the JSON style of
gpt2_llama_reference.py: {"model", "cases": [{"name", "tokens" [B][T], "logits" [B][T][V]}]} plus
fields that help debugging (inv_freq of each RoPE table, the residual stream of row 0 after every
layer, the float32-vs-float64 difference of this reference).

    python3 tools/reference/hf_families_reference.py            # from the repository root

The forward passes below are written from HF transformers' modeling files (read, not copied; the
maths is restated here in plain torch). The C# implementation should follow tools/reference/
FAMILIES.md, which states the same per family in a few lines.

Which HF code each piece follows
--------------------------------
- RoPE tables: modeling_rope_utils.py, `_compute_default_rope_parameters`,
  `_compute_linear_scaling_rope_parameters`, `_compute_dynamic_ntk_parameters` (+ the
  `dynamic_rope_update` decorator of the model's RotaryEmbedding), `_compute_yarn_parameters`,
  `_compute_llama3_parameters`; the model's `*RotaryEmbedding.forward` (cat(freqs, freqs), cos/sin
  times `attention_scaling`) and `apply_rotary_pos_emb` / `rotate_half`.
- llama: models/llama/modeling_llama.py (LlamaRMSNorm, LlamaAttention incl. attention_bias on q/k/v/o,
  LlamaMLP incl. mlp_bias, LlamaDecoderLayer, LlamaModel, LlamaForCausalLM), `repeat_kv`,
  `eager_attention_forward`.
- qwen2: models/qwen2/modeling_qwen2.py (q/k/v Linear with bias=True, o_proj without; otherwise Llama).
- qwen3: models/qwen3/modeling_qwen3.py (Qwen3Attention: q_norm/k_norm = RMSNorm(head_dim) applied to
  each head's q and k after the projection, before RoPE).
- mistral: models/mistral/modeling_mistral.py (Llama maths + sliding_window in the causal mask of every
  layer; the mask itself is masking_utils' `sliding_window_overlay`).
- gemma2: models/gemma2/modeling_gemma2.py (Gemma2RMSNorm, Gemma2MLP, Gemma2Attention with
  `query_pre_attn_scalar` and `attn_logit_softcapping` in `eager_attention_forward`, Gemma2DecoderLayer
  with four norms, Gemma2Model's `normalizer`, Gemma2ForCausalLM's `final_logit_softcapping`);
  configuration_gemma2.py for the default `layer_types`.
- gemma3 (text model, model_type gemma3_text): models/gemma3/modeling_gemma3.py (Gemma3RMSNorm,
  Gemma3TextScaledWordEmbedding, Gemma3Attention with q_norm/k_norm, Gemma3RotaryEmbedding for global
  layers and the local one built from `rope_local_base_freq` with default RoPE, Gemma3DecoderLayer,
  Gemma3ForCausalLM); configuration_gemma3.py (Gemma3TextConfig: `sliding_window_pattern` ->
  `layer_types`).
- gpt_neox: models/gpt_neox/modeling_gpt_neox.py (GPTNeoXAttention's fused query_key_value and
  partial rotary, GPTNeoXMLP, GPTNeoXLayer's `use_parallel_residual`, GPTNeoXForCausalLM's embed_out).
- olmo2: models/olmo2/modeling_olmo2.py (Olmo2RMSNorm, Olmo2Attention with q_norm/k_norm over the whole
  projection, Olmo2DecoderLayer's post-norm placement).

Conventions that are easy to get wrong (each is exercised by a fixture here)
--------------------------------------------------------------------------------
- nn.Linear weights are [out, in]: y = x @ W.T + b (GPT-2's Conv1D is the only transposed one).
- RoPE is rotate-half (NOT llama2.c/Meta interleaved): for a rotated width r, pairs are (i, i + r/2),
  angle_i = pos * inv_freq[i], inv_freq[i] = 1 / base^(2i/r), i < r/2; out = x*cos + rotate_half(x)*sin
  with rotate_half(x) = cat(-x[r/2:], x[:r/2]) and cos/sin = cat(cos(angle), cos(angle)).
  The rotated width r is head_dim (explicit `head_dim` when the config has it; NOT hidden/heads), and
  for gpt_neox r = int(head_size * rotary_pct); the other head_size - r dims pass through unchanged.
- HF computes inv_freq in float32 (this script does too; the llama3 and yarn thresholds are compared
  in float32), then angles, cos and sin in float32 with autocast off, then multiplies cos and sin by
  `attention_scaling` (yarn's attention factor; 1 otherwise), i.e. q.k gains attention_factor^2.
- rope_scaling (config key "rope_type", or the legacy key "type"):
  * linear: inv_freq /= factor.
  * dynamic (NTK): only when the sequence is longer than max_position_embeddings. HF uses
    seq_len = max(position_ids) + 1 of the current forward pass; if seq_len > max_position_embeddings:
    base' = base * (factor * seq_len / max_position_embeddings - (factor - 1)) ^ (r / (r - 2)),
    inv_freq = 1 / base'^(2i/r); otherwise the default table. (HF's module is stateful: it keeps the
    grown table until a call with seq_len < max_position_embeddings resets it; the reference here is
    the stateless rule, one forward pass at a time.)
  * yarn: L = rope_scaling.original_max_position_embeddings (else max_position_embeddings);
    beta_fast = 32, beta_slow = 1 unless given; dim_of(rot) = r * ln(L / (rot * 2 pi)) / (2 ln base);
    low = max(floor(dim_of(beta_fast)), 0), high = min(ceil(dim_of(beta_slow)), r - 1) (no floor/ceil
    when rope_scaling.truncate is false); ramp_i = clamp((i - low) / (high - low), 0, 1) for
    i < r/2 (high += 0.001 when equal); extrapolation weight e_i = 1 - ramp_i;
    inv_freq = (inv_base / factor) * (1 - e) + inv_base * e; attention_factor =
    rope_scaling.attention_factor, else 0.1 * ln(factor) + 1 (factor <= 1 -> 1; with mscale and
    mscale_all_dim: (0.1 mscale ln f + 1) / (0.1 mscale_all_dim ln f + 1)). Some transformers versions
    take factor = max_position_embeddings / original_max_position_embeddings when the latter is in
    rope_scaling; the fixture keeps both equal so either reading gives the same numbers.
  * llama3: inv = default table; wavelen = 2 pi / inv; L = original_max_position_embeddings;
    wavelen > L / low_freq_factor: inv / factor; wavelen < L / high_freq_factor: inv unchanged;
    otherwise smooth = (L / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor),
    inv' = (1 - smooth) * inv / factor + smooth * inv. The fixture has all three bands.
- Attention: scores = (q . k) * scale; scale = head_dim^-0.5, except gemma2/gemma3:
  query_pre_attn_scalar^-0.5 (different from head_dim^-0.5 in the fixtures, as in gemma-2-27b).
  Soft-capping (gemma2): scores = cap * tanh(scores / cap), applied after the scale and BEFORE the
  causal/window mask. HF's sdpa path ignores attn_logit_softcapping: eager is the reference.
  GQA: KV head j serves query heads j*g .. j*g+g-1 (g = heads / kv_heads; repeat_kv, not tile).
  Softmax in float32.
- Sliding window w: query position q sees key position k iff k <= q and q - k < w (w keys including
  itself; HF's eager/sdpa mask, masking_utils' sliding_window_overlay; its flash-attention path has
  attended w + 1 keys, transformers issues #29623 / #39408). gemma2: layer i is sliding iff i is even (layer_types default: (i + 1) % 2 != 0);
  gemma3: sliding iff (i + 1) % sliding_window_pattern != 0; an explicit `layer_types` list
  ("sliding_attention" / "full_attention") wins. mistral: every layer. Window and RoPE both use token
  positions 0..T-1 here (no padding).
- RMSNorm variants (all: x * rsqrt(mean(x^2) + eps), computed in float32):
  llama/qwen2/qwen3/mistral: w * (normed cast back to the input dtype);
  olmo2: (w * normed) in float32, then cast;  gemma2/gemma3: normed * (1 + w) in float32, then cast.
  (Identical in float32 compute; they differ in bf16/f16 compute.) gemma stores w as an offset from 1.
- Gemma embeddings: embed(ids) * sqrt(hidden_size), where the normalizer is a tensor in the MODEL dtype
  (gemma2: torch.tensor(hidden_size ** 0.5, dtype=hidden.dtype); gemma3: the embed_scale buffer cast to
  the weight dtype). In bf16 compute sqrt(48) = 6.9282 becomes 6.9375; the reference here computes in
  float32/float64, so the exact sqrt. Gemma always ties lm_head to embed_tokens.
- Final logit soft-capping (gemma2; gemma3 when set): logits = cap * tanh(logits / cap).
- GELU: gemma's hidden_activation "gelu_pytorch_tanh" is the tanh approximation
  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); gpt_neox's "gelu" is the exact erf GELU.
  llama/qwen/mistral/olmo2 "silu". Gated MLP: down(act(gate(x)) * up(x)).
- gpt_neox fused query_key_value: weight [3*hidden, hidden] whose output rows are per head
  [head 0: q(head_size), k(head_size), v(head_size); head 1: q, k, v; ...], i.e. view the output as
  [heads, 3, head_size] (NOT [3, heads, head_size] like GPT-2's c_attn). Same for the bias.
  Parallel residual: x + attn(ln1(x)) + mlp(ln2(x)); sequential: x' = x + attn(ln1(x));
  x' + mlp(ln2(x')). LayerNorm with bias, eps layer_norm_eps. Untied embed_out. Checkpoints may
  carry buffers `attention.bias` (BOOL causal mask), `attention.masked_bias`,
  `attention.rotary_emb.inv_freq`: a loader must ignore them (the fixture has them).
- olmo2: no input norms; x = x + post_attention_layernorm(attn(x)); x = x + post_feedforward_layernorm(
  mlp(x)); q_norm is RMSNorm over all heads*head_dim of q_proj's output (k_norm: kv_heads*head_dim),
  applied before splitting into heads and before RoPE.
- Tied embeddings: tie_word_embeddings true (llama-3.2, qwen2.5-0.5B, qwen3 small, gemma) -> there is no
  lm_head.weight tensor; logits = final_norm(x) @ embed_tokens.weight.T.
- bf16 checkpoints (dtype "BF16" in the safetensors header): the reference upcasts the stored bf16
  values exactly to float32 (then float64); it does not compute in bf16.
- Sharded checkpoints: model.safetensors.index.json {"metadata": {"total_size"}, "weight_map":
  {tensor: file}}; the files are model-0000k-of-0000n.safetensors.

The reference is computed in float64 from the stored weights; the same code in float32 is run too and
its largest difference is recorded as "float32_max_abs_diff" (expect ~1e-6; the C# test tolerance is
1e-4 absolute).
"""
import json
import math
import struct
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "Fixtures" / "models"
F = torch.nn.functional


# ----------------------------------------------------------------------------- files

def bf16_round(t):
    """Round float32 to the nearest bfloat16 (ties to even), returned as float32."""
    return t.to(torch.float32).to(torch.bfloat16).to(torch.float32)


def tensor_bytes(t, dtype):
    t = t.detach().contiguous()
    if dtype == "F32":
        return t.to(torch.float32).numpy().tobytes()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
    if dtype == "BOOL":
        return t.to(torch.bool).numpy().tobytes()
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtypes):
    """tensors: name -> tensor; dtypes: name -> "F32" | "BF16" | "BOOL". Real files carry
    {"__metadata__": {"format": "pt"}} and list the tensors in the order of their offsets."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t, dtypes[name])
        header[name] = {"dtype": dtypes[name], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    return offset


def read_safetensors(path):
    """Reads back what write_safetensors wrote (F32, BF16, BOOL), as float32 / bool tensors."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = bytearray(data[8 + n + a:8 + n + b])
        if info["dtype"] == "F32":
            t = torch.frombuffer(buf, dtype=torch.float32) if buf else torch.zeros(0)
        elif info["dtype"] == "BF16":
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16).to(torch.float32)
        elif info["dtype"] == "BOOL":
            t = torch.frombuffer(buf, dtype=torch.bool)
        else:
            raise ValueError(info["dtype"])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")


def rounded(t):
    """Nested lists of floats with 8 significant digits (float32 precision, compact JSON)."""
    if t.dim() == 0:
        return float(f"{t.item():.8g}")
    return [rounded(x) for x in t]


def save_checkpoint(folder, cfg, tensors, dtype="F32", extra=None, shards=1):
    """Writes config.json and the weights (dtype for every floating tensor; `extra` are buffers a real
    checkpoint carries: name -> (tensor, dtype)); returns the weights as the loader would see them."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.safetensors*"):
        old.unlink()
    write_json(folder / "config.json", cfg)
    allt = dict(tensors)
    dtypes = {k: dtype for k in tensors}
    for k, (t, dt) in (extra or {}).items():
        allt[k], dtypes[k] = t, dt
    if shards == 1:
        write_safetensors(folder / "model.safetensors", allt, dtypes)
    else:
        names = list(allt)
        per = math.ceil(len(names) / shards)
        weight_map, total = {}, 0
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: allt[k] for k in names[s * per:(s + 1) * per]}
            total += write_safetensors(folder / file, part, dtypes)
            weight_map.update({k: file for k in part})
        write_json(folder / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})
    loaded = {}
    for f in sorted(folder.glob("*.safetensors")):
        loaded.update(read_safetensors(f))
    for k in tensors:  # round-trip check: what was written is what the reference uses
        expect = bf16_round(tensors[k]) if dtype == "BF16" else tensors[k].float()
        assert torch.equal(loaded[k], expect), k
    return {k: loaded[k] for k in tensors}


# ----------------------------------------------------------------------------- RoPE (float32, as HF)

def default_inv_freq(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def rope_table(scaling, base, dim, max_pos, seq_len):
    """(inv_freq float32 [dim/2], attention_factor) for rope_scaling dict `scaling` (None = default)."""
    kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
    if kind in (None, "default"):
        return default_inv_freq(base, dim), 1.0
    if kind == "linear":
        return default_inv_freq(base, dim) / scaling["factor"], 1.0
    if kind == "dynamic":
        factor = scaling["factor"]
        if seq_len <= max_pos:
            return default_inv_freq(base, dim), 1.0
        base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return default_inv_freq(base, dim), 1.0
    if kind == "yarn":
        factor = scaling["factor"]
        orig = scaling.get("original_max_position_embeddings") or max_pos
        attn = scaling.get("attention_factor")
        if attn is None:
            def mscale(s, m=1.0):
                return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0
            ms, msa = scaling.get("mscale"), scaling.get("mscale_all_dim")
            attn = float(mscale(factor, ms) / mscale(factor, msa)) if ms and msa else mscale(factor)
        beta_fast = scaling.get("beta_fast") or 32
        beta_slow = scaling.get("beta_slow") or 1

        def dim_of(rot):
            return (dim * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(base))

        low, high = dim_of(beta_fast), dim_of(beta_slow)
        if scaling.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
        extra = 1.0 - ramp
        inv = (1.0 / (factor * pos_freqs)) * (1 - extra) + (1.0 / pos_freqs) * extra
        return inv, attn
    if kind == "llama3":
        inv = default_inv_freq(base, dim)
        factor, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
        return torch.where(medium, smoothed, scaled), 1.0
    raise ValueError(f"rope type {kind}")


def llama3_bands(scaling, base, dim):
    inv = default_inv_freq(base, dim)
    wavelen = 2 * math.pi / inv
    old = scaling["original_max_position_embeddings"]
    low_band = wavelen > old / scaling["low_freq_factor"]
    high_band = wavelen < old / scaling["high_freq_factor"]
    return {"unchanged": int(high_band.sum()), "smoothed": int((~low_band & ~high_band).sum()), "divided": int(low_band.sum())}


def apply_rope(x, inv_freq, attn_factor, rot):
    """x [B, H, T, dh]; rotate-half on the first `rot` dims, positions 0..T-1."""
    t = x.shape[2]
    ang = torch.arange(t, dtype=x.dtype)[:, None] * inv_freq.to(x.dtype)[None, :]  # [T, rot/2]
    cos = torch.cat([ang.cos(), ang.cos()], -1) * attn_factor
    sin = torch.cat([ang.sin(), ang.sin()], -1) * attn_factor
    xr, xp = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = torch.cat([-xr[..., half:], xr[..., :half]], -1)
    return torch.cat([xr * cos + rotated * sin, xp], -1)


# ----------------------------------------------------------------------------- blocks

def rms_norm(x, w, eps, offset=0.0):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (offset + w)


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def attention(q, k, v, scale, window=None, softcap=None):
    """q [B, H, T, dh], k/v [B, KVH, T, dh] (grouped: KV head j serves query heads j*g..j*g+g-1)."""
    h, kvh, t = q.shape[1], k.shape[1], q.shape[2]
    k = k.repeat_interleave(h // kvh, dim=1)
    v = v.repeat_interleave(h // kvh, dim=1)
    s = (q @ k.transpose(-1, -2)) * scale
    if softcap is not None:
        s = softcap * torch.tanh(s / softcap)
    qi = torch.arange(t)[:, None]
    ki = torch.arange(t)[None, :]
    allowed = ki <= qi
    if window is not None:
        allowed = allowed & (qi - ki < window)
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def heads(x, n, dh):
    b, t, _ = x.shape
    return x.view(b, t, n, dh).transpose(1, 2)


def merge(z):
    b, h, t, dh = z.shape
    return z.transpose(1, 2).reshape(b, t, h * dh)


# ----------------------------------------------------------------------------- forward passes

def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def llama_like(w, cfg, tokens, family, trace):
    """llama, mistral, qwen2, qwen3 (LlamaForCausalLM-shaped)."""
    h, kvh, dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)
    eps, dt = cfg["rms_norm_eps"], w["model.embed_tokens.weight"].dtype
    inv, af = rope_table(cfg.get("rope_scaling"), cfg.get("rope_theta", 10000.0), dh,
                         cfg["max_position_embeddings"], tokens.shape[1])
    trace["inv_freq"], trace["attention_scaling"] = inv, af
    window = cfg.get("sliding_window") if family == "mistral" else None
    bias = family == "qwen2" or cfg.get("attention_bias", False)
    mlp_bias = cfg.get("mlp_bias", False)
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: w.get(p + n)  # noqa: E731
        a = rms_norm(x, g("input_layernorm.weight"), eps)
        q = heads(linear(a, g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias") if bias else None), h, dh)
        k = heads(linear(a, g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias") if bias else None), kvh, dh)
        v = heads(linear(a, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias") if bias else None), kvh, dh)
        if family == "qwen3":  # per-head RMSNorm over head_dim, before RoPE
            q = rms_norm(q, g("self_attn.q_norm.weight"), eps)
            k = rms_norm(k, g("self_attn.k_norm.weight"), eps)
        q, k = apply_rope(q, inv, af, dh), apply_rope(k, inv, af, dh)
        z = merge(attention(q, k, v, dh ** -0.5, window))
        o_bias = g("self_attn.o_proj.bias") if (bias and family != "qwen2") else None
        x = x + linear(z, g("self_attn.o_proj.weight"), o_bias)
        m = rms_norm(x, g("post_attention_layernorm.weight"), eps)
        mb = (lambda n: g(n)) if mlp_bias else (lambda n: None)  # noqa: E731
        act = F.silu(linear(m, g("mlp.gate_proj.weight"), mb("mlp.gate_proj.bias"))) * linear(m, g("mlp.up_proj.weight"), mb("mlp.up_proj.bias"))
        x = x + linear(act, g("mlp.down_proj.weight"), mb("mlp.down_proj.bias"))
        trace["resid_post"].append(x[0])
    x = rms_norm(x, w["model.norm.weight"], eps)
    unembed = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ unembed.T


def gemma_layer_types(cfg):
    if cfg.get("layer_types"):
        return cfg["layer_types"]
    pattern = cfg.get("sliding_window_pattern", 6) if cfg["model_type"] == "gemma3_text" else 2
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(cfg["num_hidden_layers"])]


def gemma(w, cfg, tokens, trace):
    """gemma2 and gemma3_text."""
    g3 = cfg["model_type"] == "gemma3_text"
    h, kvh, dh, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["hidden_size"]
    eps, t = cfg["rms_norm_eps"], tokens.shape[1]
    emb = w["model.embed_tokens.weight"]
    glob = rope_table(cfg.get("rope_scaling"), cfg.get("rope_theta", 10000.0), dh, cfg["max_position_embeddings"], t)
    local = rope_table(None, cfg.get("rope_local_base_freq", 10000.0), dh, cfg["max_position_embeddings"], t) if g3 else glob
    trace["inv_freq"], trace["attention_scaling"] = glob[0], glob[1]
    if g3:
        trace["inv_freq_local"] = local[0]
    types = gemma_layer_types(cfg)
    trace["layer_types"] = types
    x = emb[tokens] * torch.tensor(d ** 0.5, dtype=emb.dtype)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: w[p + n]  # noqa: E731
        sliding = types[i] == "sliding_attention"
        inv, af = local if (g3 and sliding) else glob
        a = rms_norm(x, g("input_layernorm.weight"), eps, 1.0)
        q = heads(linear(a, g("self_attn.q_proj.weight")), h, dh)
        k = heads(linear(a, g("self_attn.k_proj.weight")), kvh, dh)
        v = heads(linear(a, g("self_attn.v_proj.weight")), kvh, dh)
        if g3:
            q = rms_norm(q, g("self_attn.q_norm.weight"), eps, 1.0)
            k = rms_norm(k, g("self_attn.k_norm.weight"), eps, 1.0)
        q, k = apply_rope(q, inv, af, dh), apply_rope(k, inv, af, dh)
        z = merge(attention(q, k, v, cfg["query_pre_attn_scalar"] ** -0.5,
                            cfg["sliding_window"] if sliding else None, cfg.get("attn_logit_softcapping")))
        z = linear(z, g("self_attn.o_proj.weight"))
        x = x + rms_norm(z, g("post_attention_layernorm.weight"), eps, 1.0)
        m = rms_norm(x, g("pre_feedforward_layernorm.weight"), eps, 1.0)
        m = linear(gelu_tanh(linear(m, g("mlp.gate_proj.weight"))) * linear(m, g("mlp.up_proj.weight")), g("mlp.down_proj.weight"))
        x = x + rms_norm(m, g("post_feedforward_layernorm.weight"), eps, 1.0)
        trace["resid_post"].append(x[0])
    x = rms_norm(x, w["model.norm.weight"], eps, 1.0)
    logits = x @ emb.T
    cap = cfg.get("final_logit_softcapping")
    trace["logits_before_softcap_absmax"] = float(logits.abs().max())
    return logits if cap is None else cap * torch.tanh(logits / cap)


def gpt_neox(w, cfg, tokens, trace):
    h, d = cfg["num_attention_heads"], cfg["hidden_size"]
    hs = d // h
    rot = int(hs * cfg["rotary_pct"])
    eps, b, t = cfg["layer_norm_eps"], tokens.shape[0], tokens.shape[1]
    inv, af = rope_table(cfg.get("rope_scaling"), cfg.get("rotary_emb_base", 10000.0), rot, cfg["max_position_embeddings"], t)
    trace["inv_freq"], trace["attention_scaling"] = inv, af
    x = w["gpt_neox.embed_in.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        g = lambda n: w[p + n]  # noqa: E731
        a = F.layer_norm(x, (d,), g("input_layernorm.weight"), g("input_layernorm.bias"), eps)
        qkv = linear(a, g("attention.query_key_value.weight"), g("attention.query_key_value.bias"))
        qkv = qkv.view(b, t, h, 3, hs).permute(3, 0, 2, 1, 4)  # per head [q | k | v]
        q, k, v = (apply_rope(qkv[0], inv, af, rot), apply_rope(qkv[1], inv, af, rot), qkv[2])
        attn = linear(merge(attention(q, k, v, hs ** -0.5)), g("attention.dense.weight"), g("attention.dense.bias"))

        def mlp(y):
            y = F.layer_norm(y, (d,), g("post_attention_layernorm.weight"), g("post_attention_layernorm.bias"), eps)
            y = F.gelu(linear(y, g("mlp.dense_h_to_4h.weight"), g("mlp.dense_h_to_4h.bias")))
            return linear(y, g("mlp.dense_4h_to_h.weight"), g("mlp.dense_4h_to_h.bias"))

        if cfg["use_parallel_residual"]:
            x = x + attn + mlp(x)
        else:
            x = x + attn
            x = x + mlp(x)
        trace["resid_post"].append(x[0])
    x = F.layer_norm(x, (d,), w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    return x @ w["embed_out.weight"].T


def olmo2(w, cfg, tokens, trace):
    h, kvh, dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)
    eps = cfg["rms_norm_eps"]
    inv, af = rope_table(cfg.get("rope_scaling"), cfg.get("rope_theta", 10000.0), dh, cfg["max_position_embeddings"], tokens.shape[1])
    trace["inv_freq"], trace["attention_scaling"] = inv, af
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: w[p + n]  # noqa: E731
        q = rms_norm(linear(x, g("self_attn.q_proj.weight")), g("self_attn.q_norm.weight"), eps)  # whole projection
        k = rms_norm(linear(x, g("self_attn.k_proj.weight")), g("self_attn.k_norm.weight"), eps)
        v = linear(x, g("self_attn.v_proj.weight"))
        q, k, v = heads(q, h, dh), heads(k, kvh, dh), heads(v, kvh, dh)
        q, k = apply_rope(q, inv, af, dh), apply_rope(k, inv, af, dh)
        z = linear(merge(attention(q, k, v, dh ** -0.5)), g("self_attn.o_proj.weight"))
        x = x + rms_norm(z, g("post_attention_layernorm.weight"), eps)
        m = linear(F.silu(linear(x, g("mlp.gate_proj.weight"))) * linear(x, g("mlp.up_proj.weight")), g("mlp.down_proj.weight"))
        x = x + rms_norm(m, g("post_feedforward_layernorm.weight"), eps)
        trace["resid_post"].append(x[0])
    x = rms_norm(x, w["model.norm.weight"], eps)
    return x @ w["lm_head.weight"].T


def forward(cfg, w, tokens, trace):
    mt = cfg["model_type"]
    if mt in ("llama", "mistral", "qwen2", "qwen3"):
        return llama_like(w, cfg, tokens, mt, trace)
    if mt in ("gemma2", "gemma3_text"):
        return gemma(w, cfg, tokens, trace)
    if mt == "gpt_neox":
        return gpt_neox(w, cfg, tokens, trace)
    if mt == "olmo2":
        return olmo2(w, cfg, tokens, trace)
    raise ValueError(mt)


# ----------------------------------------------------------------------------- random weights

class Rand:
    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, *shape, s=0.2):
        return torch.randn(*shape, generator=self.gen) * s


def random_llama_like(cfg, seed, family):
    r = Rand(seed)
    d, h, kvh, ff, vocab = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size"))
    dh = head_dim_of(cfg)
    bias = family == "qwen2" or cfg.get("attention_bias", False)
    w = {"model.embed_tokens.weight": r(vocab, d, s=0.3)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + r(d, s=0.1)
        for n, rows in (("q", h * dh), ("k", kvh * dh), ("v", kvh * dh)):
            w[p + f"self_attn.{n}_proj.weight"] = r(rows, d, s=0.15 if n != "v" else 0.3)
            if bias:
                w[p + f"self_attn.{n}_proj.bias"] = r(rows, s=0.2)
        w[p + "self_attn.o_proj.weight"] = r(d, h * dh)
        if bias and family != "qwen2":
            w[p + "self_attn.o_proj.bias"] = r(d, s=0.1)
        if family == "qwen3":
            w[p + "self_attn.q_norm.weight"] = 1 + r(dh, s=0.2)
            w[p + "self_attn.k_norm.weight"] = 1 + r(dh, s=0.2)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d, s=0.1)
        w[p + "mlp.gate_proj.weight"] = r(ff, d)
        w[p + "mlp.up_proj.weight"] = r(ff, d)
        w[p + "mlp.down_proj.weight"] = r(d, ff)
        if cfg.get("mlp_bias", False):
            w[p + "mlp.gate_proj.bias"] = r(ff, s=0.1)
            w[p + "mlp.up_proj.bias"] = r(ff, s=0.1)
            w[p + "mlp.down_proj.bias"] = r(d, s=0.1)
    w["model.norm.weight"] = 1 + r(d, s=0.1)
    if not cfg.get("tie_word_embeddings", False):
        w["lm_head.weight"] = r(vocab, d, s=0.3)
    return w


def random_gemma(cfg, seed):
    r = Rand(seed)
    d, h, kvh, ff, vocab, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size", "head_dim"))
    g3 = cfg["model_type"] == "gemma3_text"
    w = {"model.embed_tokens.weight": r(vocab, d, s=0.3)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = r(d, s=0.2)  # stored as offsets from 1
        w[p + "self_attn.q_proj.weight"] = r(h * dh, d, s=0.25)
        w[p + "self_attn.k_proj.weight"] = r(kvh * dh, d, s=0.25)
        w[p + "self_attn.v_proj.weight"] = r(kvh * dh, d, s=0.3)
        w[p + "self_attn.o_proj.weight"] = r(d, h * dh)
        if g3:
            w[p + "self_attn.q_norm.weight"] = r(dh, s=0.3)
            w[p + "self_attn.k_norm.weight"] = r(dh, s=0.3)
        w[p + "post_attention_layernorm.weight"] = r(d, s=0.2)
        w[p + "pre_feedforward_layernorm.weight"] = r(d, s=0.2)
        w[p + "mlp.gate_proj.weight"] = r(ff, d, s=0.3)
        w[p + "mlp.up_proj.weight"] = r(ff, d, s=0.3)
        w[p + "mlp.down_proj.weight"] = r(d, ff)
        w[p + "post_feedforward_layernorm.weight"] = r(d, s=0.2)
    w["model.norm.weight"] = r(d, s=0.2)
    return w


def random_gpt_neox(cfg, seed):
    r = Rand(seed)
    d, ff, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    w = {"gpt_neox.embed_in.weight": r(vocab, d, s=0.3)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + r(d, s=0.1)
        w[p + "input_layernorm.bias"] = r(d, s=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d, s=0.1)
        w[p + "post_attention_layernorm.bias"] = r(d, s=0.1)
        w[p + "attention.query_key_value.weight"] = r(3 * d, d, s=0.15)
        w[p + "attention.query_key_value.bias"] = r(3 * d, s=0.2)
        w[p + "attention.dense.weight"] = r(d, d)
        w[p + "attention.dense.bias"] = r(d, s=0.1)
        w[p + "mlp.dense_h_to_4h.weight"] = r(ff, d)
        w[p + "mlp.dense_h_to_4h.bias"] = r(ff, s=0.1)
        w[p + "mlp.dense_4h_to_h.weight"] = r(d, ff)
        w[p + "mlp.dense_4h_to_h.bias"] = r(d, s=0.1)
    w["gpt_neox.final_layer_norm.weight"] = 1 + r(d, s=0.1)
    w["gpt_neox.final_layer_norm.bias"] = r(d, s=0.1)
    w["embed_out.weight"] = r(vocab, d, s=0.3)
    return w


def gpt_neox_buffers(cfg):
    """Non-parameter buffers old GPT-NeoX checkpoints carry; loaders must skip them."""
    n, hs = cfg["max_position_embeddings"], cfg["hidden_size"] // cfg["num_attention_heads"]
    rot = int(hs * cfg["rotary_pct"])
    out = {}
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}.attention."
        out[p + "bias"] = (torch.tril(torch.ones(n, n, dtype=torch.bool)).view(1, 1, n, n), "BOOL")
        out[p + "masked_bias"] = (torch.tensor(-1e9), "F32")
        out[p + "rotary_emb.inv_freq"] = (default_inv_freq(cfg["rotary_emb_base"], rot), "F32")
    return out


def random_olmo2(cfg, seed):
    r = Rand(seed)
    d, h, kvh, ff, vocab = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size"))
    dh = head_dim_of(cfg)
    w = {"model.embed_tokens.weight": r(vocab, d, s=0.3)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "self_attn.q_proj.weight"] = r(h * dh, d, s=0.3)
        w[p + "self_attn.k_proj.weight"] = r(kvh * dh, d, s=0.3)
        w[p + "self_attn.v_proj.weight"] = r(kvh * dh, d, s=0.3)
        w[p + "self_attn.o_proj.weight"] = r(d, h * dh)
        w[p + "self_attn.q_norm.weight"] = 1 + r(h * dh, s=0.2)
        w[p + "self_attn.k_norm.weight"] = 1 + r(kvh * dh, s=0.2)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d, s=0.2)
        w[p + "mlp.gate_proj.weight"] = r(ff, d)
        w[p + "mlp.up_proj.weight"] = r(ff, d)
        w[p + "mlp.down_proj.weight"] = r(d, ff)
        w[p + "post_feedforward_layernorm.weight"] = 1 + r(d, s=0.2)
    w["model.norm.weight"] = 1 + r(d, s=0.1)
    w["lm_head.weight"] = r(vocab, d, s=0.3)
    return w


# ----------------------------------------------------------------------------- configs

def llama_cfg(**over):
    cfg = {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "head_dim": 16, "hidden_act": "silu", "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 128, "mlp_bias": False,
        "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": "4.45.0",
        "use_cache": True, "vocab_size": 96,
    }
    cfg.update(over)
    return cfg


FIXTURES = []


def fixture(fn):
    FIXTURES.append(fn)
    return fn


@fixture
def fx_llama_llama3():
    # Llama-3.2 style: tied embeddings (no lm_head tensor), explicit head_dim 16 != 32/4, GQA 4/2, llama3 RoPE
    # with all three frequency bands (theta 10000, 8 frequencies, original context 64).
    cfg = llama_cfg(bos_token_id=0, eos_token_id=1, tie_word_embeddings=True, vocab_size=128,
                    max_position_embeddings=512, rope_theta=10000.0,
                    rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                  "original_max_position_embeddings": 64, "rope_type": "llama3"})
    return "llama-random-llama3", cfg, random_llama_like(cfg, 11, "llama"), {}


@fixture
def fx_llama_linear():
    # Legacy key "type"; attention_bias (q, k, v AND o_proj) and mlp_bias switched on; untied lm_head.
    cfg = llama_cfg(head_dim=None, rope_scaling={"type": "linear", "factor": 2.5}, attention_bias=True, mlp_bias=True,
                    num_key_value_heads=4, rms_norm_eps=1e-06)
    del cfg["head_dim"]
    return "llama-random-linear", cfg, random_llama_like(cfg, 12, "llama"), {}


@fixture
def fx_llama_dynamic():
    # max_position_embeddings 8 < the 12-token case (scaled) and > the 6-token case (default table).
    cfg = llama_cfg(rope_scaling={"rope_type": "dynamic", "factor": 3.0}, max_position_embeddings=8, rope_theta=1000.0)
    return "llama-random-dynamic", cfg, random_llama_like(cfg, 13, "llama"), {"cases": [("long", 12), ("short", 6)]}


@fixture
def fx_llama_yarn():
    # factor == max_position_embeddings / original_max_position_embeddings (1024 / 256), default betas:
    # low = 0, high = 4 for head_dim 16 and theta 10000, so the ramp is 0, .25, .5, .75, 1, 1, 1, 1.
    cfg = llama_cfg(max_position_embeddings=1024,
                    rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 256})
    return "llama-random-yarn", cfg, random_llama_like(cfg, 14, "llama"), {}


@fixture
def fx_qwen2():
    # Qwen2.5-0.5B layout: q/k/v biases (no o_proj bias), tied embeddings, sliding window off; stored in bf16.
    cfg = {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 0,
        "hidden_act": "silu", "hidden_size": 48, "initializer_range": 0.02, "intermediate_size": 96,
        "max_position_embeddings": 128, "max_window_layers": 2, "model_type": "qwen2", "num_attention_heads": 6,
        "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None,
        "rope_theta": 1000000.0, "sliding_window": 128, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.43.1", "use_cache": True, "use_sliding_window": False, "vocab_size": 128,
    }
    return "qwen2-random", cfg, random_llama_like(cfg, 21, "qwen2"), {"dtype": "BF16"}


@fixture
def fx_qwen3():
    # Qwen3-0.6B layout: explicit head_dim 16 (4 heads x 16 = 64 != hidden 32), q_norm/k_norm per head, tied.
    cfg = {
        "architectures": ["Qwen3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 0, "eos_token_id": 1, "head_dim": 16, "hidden_act": "silu", "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 128, "max_window_layers": 2,
        "model_type": "qwen3", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000, "sliding_window": None,
        "tie_word_embeddings": True, "torch_dtype": "float32", "transformers_version": "4.51.0", "use_cache": True,
        "use_sliding_window": False, "vocab_size": 100,
    }
    return "qwen3-random", cfg, random_llama_like(cfg, 31, "qwen3"), {}


@fixture
def fx_mistral():
    # Mistral-7B-v0.1 layout: sliding_window 4 < 12 tokens, GQA 4/1, untied; written as two shards + index.
    cfg = {
        "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 64,
        "max_position_embeddings": 256, "model_type": "mistral", "num_attention_heads": 4, "num_hidden_layers": 2,
        "num_key_value_heads": 1, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4,
        "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": "4.42.0", "use_cache": True,
        "vocab_size": 96,
    }
    return "mistral-random", cfg, random_llama_like(cfg, 41, "mistral"), {"shards": 2}


@fixture
def fx_gemma2():
    # gemma-2 layout: head_dim 16 with hidden 32 / 4 heads, query_pre_attn_scalar 24 (scale != head_dim^-0.5),
    # both soft-caps small enough to bite, layers 0 and 2 sliding with window 4 < 12 tokens.
    cfg = {
        "architectures": ["Gemma2ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "attn_logit_softcapping": 3.0, "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": 1,
        "final_logit_softcapping": 4.0, "head_dim": 16, "hidden_act": "gelu_pytorch_tanh",
        "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 32, "initializer_range": 0.02,
        "intermediate_size": 48, "max_position_embeddings": 256, "model_type": "gemma2", "num_attention_heads": 4,
        "num_hidden_layers": 3, "num_key_value_heads": 2, "pad_token_id": 0, "query_pre_attn_scalar": 24,
        "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "sliding_window": 4, "torch_dtype": "float32",
        "transformers_version": "4.42.4", "use_cache": True, "vocab_size": 96,
    }
    return "gemma2-random", cfg, random_gemma(cfg, 51), {}


@fixture
def fx_gemma3():
    # gemma-3-1b layout (gemma3_text): sliding_window_pattern 3 -> layers 0, 1 sliding (window 4, local RoPE base
    # 10000, default scaling), layer 2 global (rope_theta 1e6 with linear scaling 2); q/k norm; hidden 48 so the
    # bf16 normalizer differs from the exact sqrt; no soft-capping (null, as real gemma3 configs); stored in bf16.
    cfg = {
        "architectures": ["Gemma3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "attn_logit_softcapping": None, "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": [1, 95],
        "final_logit_softcapping": None, "head_dim": 16, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 48,
        "initializer_range": 0.02, "intermediate_size": 64, "layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
        "max_position_embeddings": 512, "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": 3,
        "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 32, "rms_norm_eps": 1e-06,
        "rope_local_base_freq": 10000.0, "rope_scaling": {"factor": 2.0, "rope_type": "linear"}, "rope_theta": 1000000.0,
        "sliding_window": 4, "sliding_window_pattern": 3, "torch_dtype": "bfloat16", "transformers_version": "4.50.0",
        "use_cache": True, "vocab_size": 96,
    }
    return "gemma3-random", cfg, random_gemma(cfg, 61), {"dtype": "BF16"}


@fixture
def fx_gpt_neox():
    # Pythia layout: fused per-head [q|k|v] query_key_value, rotary_pct 0.25 of head_size 16 (4 dims rotated),
    # parallel residual, untied embed_out, plus the legacy buffers.
    cfg = {
        "architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "gelu",
        "hidden_size": 48, "initializer_range": 0.02, "intermediate_size": 64, "layer_norm_eps": 1e-05,
        "max_position_embeddings": 16, "model_type": "gpt_neox", "num_attention_heads": 3, "num_hidden_layers": 2,
        "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": "4.24.0", "use_cache": True, "use_parallel_residual": True, "vocab_size": 96,
    }
    return "gpt_neox-random", cfg, random_gpt_neox(cfg, 71), {"extra": gpt_neox_buffers(cfg)}


@fixture
def fx_olmo2():
    # OLMo-2 layout: post-norms only, q_norm over 4 x 8 = 32 and k_norm over 2 x 8 = 16 values, untied.
    cfg = {
        "architectures": ["Olmo2ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "eos_token_id": 1, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
        "intermediate_size": 64, "max_position_embeddings": 128, "model_type": "olmo2", "num_attention_heads": 4,
        "num_hidden_layers": 2, "num_key_value_heads": 2, "pad_token_id": 3, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 500000, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": "4.48.0", "use_cache": True, "vocab_size": 100,
    }
    return "olmo2-random", cfg, random_olmo2(cfg, 81), {}


# ----------------------------------------------------------------------------- main

def tokens_for(cfg, seed, length, batch=2):
    gen = torch.Generator().manual_seed(seed)
    t = torch.randint(0, cfg["vocab_size"], (batch, length), generator=gen)
    bos = cfg.get("bos_token_id")
    if bos is not None:
        t[:, 0] = bos
    return t


def run(cfg, w, tokens, dtype):
    trace = {"resid_post": []}
    logits = forward(cfg, {k: v.to(dtype) for k, v in w.items()}, tokens, trace)
    return logits, trace


def self_check():
    """Properties the fixtures are meant to exercise, and agreement with gpt2_llama_reference.py."""
    cfg = fx_llama_llama3()[1]
    bands = llama3_bands(cfg["rope_scaling"], cfg["rope_theta"], head_dim_of(cfg))
    assert min(bands.values()) >= 1, bands
    cfg = fx_llama_yarn()[1]
    inv, af = rope_table(cfg["rope_scaling"], cfg["rope_theta"], 16, cfg["max_position_embeddings"], 12)
    ratio = inv / default_inv_freq(cfg["rope_theta"], 16)
    want = 1 - torch.tensor([0, .25, .5, .75, 1, 1, 1, 1]) * 0.75  # e*1 + (1-e)/4 with e = 1 - ramp
    assert torch.allclose(ratio, want, atol=1e-6), ratio
    assert abs(af - (0.1 * math.log(4) + 1)) < 1e-12
    cfg = fx_llama_dynamic()[1]
    short, _ = rope_table(cfg["rope_scaling"], cfg["rope_theta"], 16, cfg["max_position_embeddings"], 6)
    long, _ = rope_table(cfg["rope_scaling"], cfg["rope_theta"], 16, cfg["max_position_embeddings"], 12)
    assert torch.equal(short, default_inv_freq(cfg["rope_theta"], 16)) and not torch.equal(long, short)
    # mistral, window 4, 2 layers: position p depends on tokens p-6..p only.
    _, cfg, w, _ = fx_mistral()
    w = {k: v.double() for k, v in w.items()}
    a = tokens_for(cfg, 1, 12)
    b = a.clone()
    b[:, 2] = (b[:, 2] + 1) % cfg["vocab_size"]
    la, lb = (llama_like(w, cfg, x, "mistral", {"resid_post": []}) for x in (a, b))
    assert torch.equal(la[:, 9:], lb[:, 9:]) and not torch.equal(la[:, 8], lb[:, 8])
    # The default-RoPE path agrees with the older reference on its llama-random fixture.
    old = OUT / "llama-random"
    if (old / "model.safetensors").exists():
        cfg = json.loads((old / "config.json").read_text())
        w = {k: v.double() for k, v in read_safetensors(old / "model.safetensors").items()}
        case = json.loads((OUT / "reference" / "llama-random.json").read_text())["cases"][0]
        got = llama_like(w, cfg, torch.tensor(case["tokens"]), "llama", {"resid_post": []})
        err = float((got - torch.tensor(case["logits"], dtype=torch.float64)).abs().max())
        assert err < 1e-5, err
        print(f"llama-random via this script vs gpt2_llama_reference.py: max abs diff {err:.2e}")


def main():
    torch.set_grad_enabled(False)
    self_check()
    ref = OUT / "reference"
    summary = []
    for make in FIXTURES:
        name, cfg, tensors, opt = make()
        folder = OUT / name
        dtype = opt.get("dtype", "F32")
        w = save_checkpoint(folder, cfg, tensors, dtype, opt.get("extra"), opt.get("shards", 1))
        cases, worst, debug = [], 0.0, None
        for i, (case_name, length) in enumerate(opt.get("cases", [("plain", 12)])):
            tokens = tokens_for(cfg, 1000 + 17 * i + len(name), length)
            logits, trace = run(cfg, w, tokens, torch.float64)
            logits32, _ = run(cfg, w, tokens, torch.float32)
            worst = max(worst, float((logits - logits32.double()).abs().max()))
            cases.append({"name": case_name, "tokens": tokens.tolist(), "logits": rounded(logits)})
            entry = {"case": case_name, "inv_freq": rounded(trace["inv_freq"]), "attention_scaling": trace["attention_scaling"]}
            if "inv_freq_local" in trace:
                entry["inv_freq_local"] = rounded(trace["inv_freq_local"])
            if "layer_types" in trace:
                entry["layer_types"] = trace["layer_types"]
            if i == 0:
                entry["resid_post_row0"] = [rounded(x) for x in trace["resid_post"]]
                if "logits_before_softcap_absmax" in trace:
                    entry["logits_before_softcap_absmax"] = round(trace["logits_before_softcap_absmax"], 4)
            debug = (debug or []) + [entry]
        out = {
            "model": name, "model_type": cfg["model_type"], "stored_dtype": dtype,
            "shards": opt.get("shards", 1), "reference_dtype": "float64",
            "float32_max_abs_diff": float(f"{worst:.3g}"), "cases": cases, "debug": debug,
        }
        rs = cfg.get("rope_scaling")
        if rs and rs.get("rope_type") == "llama3":
            out["llama3_bands"] = llama3_bands(rs, cfg["rope_theta"], head_dim_of(cfg))
        if cfg["model_type"] in ("gemma2", "gemma3_text"):
            d = cfg["hidden_size"]
            out["embed_scale"] = {"float32": float(torch.tensor(d ** 0.5, dtype=torch.float32)),
                                  "bfloat16": float(torch.tensor(d ** 0.5, dtype=torch.bfloat16))}
        write_json(ref / f"{name}.json", out)
        size = sum(f.stat().st_size for f in folder.iterdir())
        summary.append((name, size, (ref / f"{name}.json").stat().st_size, worst))
    print(f"{'fixture':24} {'folder bytes':>12} {'ref bytes':>10} {'f32 vs f64':>10}")
    for name, size, rsize, worst in summary:
        print(f"{name:24} {size:12d} {rsize:10d} {worst:10.2e}")


if __name__ == "__main__":
    main()
