using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// GPT-2 (<c>GPT2LMHeadModel</c>; tensor names with or without the <c>transformer.</c> prefix). Its Conv1D layers store
/// weights <c>[in, out]</c>: <c>c_attn</c> <c>[d, 3d]</c> (Q|K|V along the output axis), <c>c_proj</c> <c>[d, d]</c>,
/// <c>mlp.c_fc</c> <c>[d, d_mlp]</c>, <c>mlp.c_proj</c> <c>[d_mlp, d]</c>; they are transposed into our
/// <c>[out, in]</c> layout.
/// </summary>
internal sealed class HfGpt2Family : HfFamily
{
    public override IReadOnlyList<string> ModelTypes { get; } = ["gpt2"];

    public override string BasePrefix => "transformer.";

    public override TransformerConfig ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var d = cfg.RequiredInt("n_embd", "hidden_size");
        cfg.Require("scale_attn_weights", true, "unscaled attention is not supported");
        cfg.Require("scale_attn_by_inverse_layer_idx", false, "layer-scaled attention is not supported");
        cfg.Require("add_cross_attention", false, "cross-attention is not supported");
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            Name = name,
            DModel = d,
            Layers = cfg.RequiredInt("n_layer", "num_hidden_layers"),
            Heads = cfg.RequiredInt("n_head", "num_attention_heads"),
            DMlp = cfg.OptionalInt("n_inner") ?? (d <= int.MaxValue / 4 ? 4 * d
                : throw new AutoCircuitException($"{cfg.Path}: n_embd {d} is too large (4 x n_embd, the MLP width, must fit in 32 bits).")),
            VocabSize = cfg.RequiredInt("vocab_size"),
            ContextLength = cfg.RequiredInt("n_positions", "max_position_embeddings", "n_ctx"),
            NormEps = cfg.Double("layer_norm_epsilon", 1e-5),
            Activation = HfConfigs.Activation(cfg, "activation_function", "gelu_new"),
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", true),
            AttnBias = true,
            MlpBias = true,
        };
        return HfConfigs.Validated(config, cfg);
    }

    public override IEnumerable<WeightSource> Weights(TransformerConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        long d = c.DModel, h = c.Heads, dh = c.DHead, mlp = c.DMlp, v = c.VocabSize;
        yield return new("embed.W_E", "transformer.wte.weight", [v, d]);
        yield return new("pos_embed.W_pos", "transformer.wpe.weight", [c.ContextLength, d]);
        for (var l = 0; l < c.Layers; l++)
        {
            var p = $"transformer.h.{l}.";
            var q = $"blocks.{l}.";
            yield return new(q + "ln1.w", p + "ln_1.weight", [d]);
            yield return new(q + "ln1.b", p + "ln_1.bias", [d]);
            for (var i = 0; i < 3; i++)
            {
                var offset = i * d;
                var letter = "QKV"[i];
                yield return new($"{q}attn.W_{letter}", p + "attn.c_attn.weight", [d, 3 * d], w => w.narrow(1, offset, d).t()); // [H*dh, d]
                yield return new($"{q}attn.b_{letter}", p + "attn.c_attn.bias", [3 * d], b => b.narrow(0, offset, d));
            }

            yield return new(q + "attn.W_O", p + "attn.c_proj.weight", [d, d], w => w.view(h, dh, d)); // [H*dh, d] -> [H, dh, d]
            yield return new(q + "attn.b_O", p + "attn.c_proj.bias", [d]);
            yield return new(q + "ln2.w", p + "ln_2.weight", [d]);
            yield return new(q + "ln2.b", p + "ln_2.bias", [d]);
            yield return new(q + "mlp.W_in", p + "mlp.c_fc.weight", [d, mlp], w => w.t()); // [d, d_mlp] -> [d_mlp, d]
            yield return new(q + "mlp.b_in", p + "mlp.c_fc.bias", [mlp]);
            yield return new(q + "mlp.W_out", p + "mlp.c_proj.weight", [mlp, d], w => w.t()); // [d_mlp, d] -> [d, d_mlp]
            yield return new(q + "mlp.b_out", p + "mlp.c_proj.bias", [d]);
        }

        yield return new("ln_final.w", "transformer.ln_f.weight", [d]);
        yield return new("ln_final.b", "transformer.ln_f.bias", [d]);
        if (!c.TiedEmbeddings)
        {
            yield return new("unembed.W_U", "lm_head.weight", [v, d]);
        }
    }

    /// <summary>Causal-mask buffers that older checkpoints saved with the weights; a tied head's stored copy.</summary>
    public override bool IsIgnored(string tensor, TransformerConfig config) =>
        base.IsIgnored(tensor, config) ||
        (tensor.StartsWith("transformer.h.", StringComparison.Ordinal) &&
         (tensor.EndsWith(".attn.bias", StringComparison.Ordinal) || tensor.EndsWith(".attn.masked_bias", StringComparison.Ordinal)));
}
