using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// GPT-NeoX (<c>GPTNeoXForCausalLM</c>, Pythia): LayerNorm, partial rotary embeddings (<c>rotary_pct</c>), attention
/// and MLP in parallel (<c>use_parallel_residual</c>), a fused <c>query_key_value</c> projection laid out per head
/// (<c>[head 0: q, k, v; head 1: q, k, v; ...]</c>, unlike GPT-2's all-q-then-all-k), an untied <c>embed_out</c>.
/// </summary>
internal sealed class HfGptNeoXFamily : HfFamily
{
    public override IReadOnlyList<string> ModelTypes { get; } = ["gpt_neox"];

    public override string BasePrefix => "gpt_neox.";

    public override IReadOnlyCollection<string> RootNames => ["embed_out.weight"];

    public override TransformerConfig ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var common = HfConfigs.Common(cfg, name);
        var pct = cfg.OptionalDouble("rotary_pct") ?? cfg.Double("partial_rotary_factor", 1.0);
        var rotary = (int)(common.DHead * pct); // Hugging Face truncates: int(head_size * rotary_pct)
        if (rotary < 2 || rotary % 2 != 0)
        {
            throw cfg.Unsupported(cfg.Has("rotary_pct") ? "rotary_pct" : "partial_rotary_factor", $"a fraction giving an even rotary width of 2..{common.DHead} dimensions");
        }

        var (theta, scaling) = HfRope.Read(cfg, cfg.Has("rotary_emb_base") ? "rotary_emb_base" : "rope_theta");
        var bias = cfg.Bool("attention_bias", true);
        var config = common with
        {
            Family = TransformerFamily.GptNeoX,
            KvHeads = common.Heads, // no grouped-query attention (num_key_value_heads is not a GPT-NeoX field)
            NormEps = cfg.Double("layer_norm_eps", 1e-5),
            Activation = HfConfigs.Activation(cfg, "hidden_act", "gelu"),
            RotaryDim = rotary,
            RopeTheta = theta,
            RopeScaling = scaling,
            ParallelAttnMlp = cfg.Bool("use_parallel_residual", true),
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", false),
            AttnBias = bias,
            AttnOutBias = bias,
            MlpBias = true,
        };
        return HfConfigs.Validated(config, cfg);
    }

    public override IEnumerable<WeightSource> Weights(TransformerConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        long d = c.DModel, h = c.Heads, dh = c.DHead, ff = c.DMlp, v = c.VocabSize;
        yield return new("embed.W_E", "gpt_neox.embed_in.weight", [v, d]);
        for (var l = 0; l < c.Layers; l++)
        {
            var p = $"gpt_neox.layers.{l}.";
            var q = $"blocks.{l}.";
            yield return new(q + "ln1.w", p + "input_layernorm.weight", [d]);
            yield return new(q + "ln1.b", p + "input_layernorm.bias", [d]);
            for (var i = 0; i < 3; i++)
            {
                // Output rows [H, 3, dh]: slot i of every head is Q, K or V.
                var slot = i;
                var letter = "QKV"[i];
                yield return new($"{q}attn.W_{letter}", p + "attention.query_key_value.weight", [3 * h * dh, d],
                    w => w.view(h, 3, dh, d).select(1, slot).reshape(h * dh, d));
                if (c.AttnBias)
                {
                    yield return new($"{q}attn.b_{letter}", p + "attention.query_key_value.bias", [3 * h * dh],
                        b => b.view(h, 3, dh).select(1, slot).reshape(h * dh));
                }
            }

            yield return new(q + "attn.W_O", p + "attention.dense.weight", [d, h * dh], HeadsFirst(h, dh));
            if (c.AttnOutBias)
            {
                yield return new(q + "attn.b_O", p + "attention.dense.bias", [d]);
            }

            yield return new(q + "ln2.w", p + "post_attention_layernorm.weight", [d]);
            yield return new(q + "ln2.b", p + "post_attention_layernorm.bias", [d]);
            yield return new(q + "mlp.W_in", p + "mlp.dense_h_to_4h.weight", [ff, d]);
            yield return new(q + "mlp.b_in", p + "mlp.dense_h_to_4h.bias", [ff]);
            yield return new(q + "mlp.W_out", p + "mlp.dense_4h_to_h.weight", [d, ff]);
            yield return new(q + "mlp.b_out", p + "mlp.dense_4h_to_h.bias", [d]);
        }

        yield return new("ln_final.w", "gpt_neox.final_layer_norm.weight", [d]);
        yield return new("ln_final.b", "gpt_neox.final_layer_norm.bias", [d]);
        if (!c.TiedEmbeddings)
        {
            yield return new("unembed.W_U", "embed_out.weight", [v, d]);
        }
    }

    /// <summary>Old checkpoints carry the causal mask and rotary table as buffers: <c>attention.bias</c> (bool),
    /// <c>attention.masked_bias</c>, <c>attention.rotary_emb.inv_freq</c>.</summary>
    public override bool IsIgnored(string tensor, TransformerConfig config) =>
        base.IsIgnored(tensor, config) ||
        (tensor.StartsWith("gpt_neox.layers.", StringComparison.Ordinal) &&
         (tensor.EndsWith(".attention.bias", StringComparison.Ordinal) || tensor.EndsWith(".attention.masked_bias", StringComparison.Ordinal)));
}
