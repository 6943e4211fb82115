using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// The tensor layout every Llama-style Hugging Face checkpoint shares (Llama, Mistral, Qwen2/3, Gemma 2/3, OLMo-2):
/// <c>model.embed_tokens</c>, <c>model.layers.{i}.self_attn.{q,k,v,o}_proj</c>, <c>.mlp.{gate,up,down}_proj</c>,
/// <c>model.norm</c>, <c>lm_head</c>. The families differ in which norms a layer has (named after their place), biases
/// and q/k norms, all read from the config.
/// </summary>
internal static class HfLlamaLayout
{
    /// <summary>The layout of a model with <paramref name="c"/>.</summary>
    public static IEnumerable<WeightSource> Weights(TransformerConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        long d = c.DModel, h = c.Heads, g = c.KvHeads, dh = c.DHead, ff = c.DMlp, v = c.VocabSize;
        yield return new("embed.W_E", "model.embed_tokens.weight", [v, d]);

        // Hugging Face names a layer's norms after where they sit: post_attention_layernorm is ln2 in Llama (before the
        // MLP, after attention) but ln1_post in Gemma and OLMo-2 (on the attention's output).
        var (ln1, ln1Post, ln2, ln2Post) = c.NormPlacement switch
        {
            NormPlacement.Pre => ("input_layernorm", null, "post_attention_layernorm", null),
            NormPlacement.Sandwich => ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"),
            _ => ((string?)null, "post_attention_layernorm", (string?)null, "post_feedforward_layernorm"),
        };
        var (qNorm, kNorm) = c.QkNorm == QkNorm.Whole ? (h * dh, g * dh) : (dh, dh);
        for (var l = 0; l < c.Layers; l++)
        {
            var p = $"model.layers.{l}.";
            var q = $"blocks.{l}.";
            if (ln1 is not null)
            {
                yield return new(q + "ln1.w", p + ln1 + ".weight", [d]);
            }

            yield return new(q + "attn.W_Q", p + "self_attn.q_proj.weight", [h * dh, d]);
            yield return new(q + "attn.W_K", p + "self_attn.k_proj.weight", [g * dh, d]);
            yield return new(q + "attn.W_V", p + "self_attn.v_proj.weight", [g * dh, d]);
            yield return new(q + "attn.W_O", p + "self_attn.o_proj.weight", [d, h * dh], HfFamily.HeadsFirst(h, dh));
            if (c.AttnBias)
            {
                yield return new(q + "attn.b_Q", p + "self_attn.q_proj.bias", [h * dh]);
                yield return new(q + "attn.b_K", p + "self_attn.k_proj.bias", [g * dh]);
                yield return new(q + "attn.b_V", p + "self_attn.v_proj.bias", [g * dh]);
            }

            if (c.AttnOutBias)
            {
                yield return new(q + "attn.b_O", p + "self_attn.o_proj.bias", [d]);
            }

            if (c.QkNorm != QkNorm.None)
            {
                yield return new(q + "attn.q_norm.w", p + "self_attn.q_norm.weight", [qNorm]);
                yield return new(q + "attn.k_norm.w", p + "self_attn.k_norm.weight", [kNorm]);
            }

            if (ln1Post is not null)
            {
                yield return new(q + "ln1_post.w", p + ln1Post + ".weight", [d]);
            }

            if (ln2 is not null)
            {
                yield return new(q + "ln2.w", p + ln2 + ".weight", [d]);
            }

            yield return new(q + "mlp.W_gate", p + "mlp.gate_proj.weight", [ff, d]);
            yield return new(q + "mlp.W_in", p + "mlp.up_proj.weight", [ff, d]);
            yield return new(q + "mlp.W_out", p + "mlp.down_proj.weight", [d, ff]);
            if (c.MlpBias)
            {
                yield return new(q + "mlp.b_gate", p + "mlp.gate_proj.bias", [ff]);
                yield return new(q + "mlp.b_in", p + "mlp.up_proj.bias", [ff]);
                yield return new(q + "mlp.b_out", p + "mlp.down_proj.bias", [d]);
            }

            if (ln2Post is not null)
            {
                yield return new(q + "ln2_post.w", p + ln2Post + ".weight", [d]);
            }
        }

        yield return new("ln_final.w", "model.norm.weight", [d]);
        if (!c.TiedEmbeddings)
        {
            yield return new("unembed.W_U", "lm_head.weight", [v, d]);
        }
    }
}
