using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Gemma 2 (<c>gemma2</c>) and Gemma 3's text model (<c>gemma3_text</c>): embeddings times sqrt(d), RMSNorm with
/// <c>1 + w</c>, norms before and after attention and MLP, GeGLU (tanh GELU), <c>query_pre_attn_scalar</c>,
/// soft-capped attention scores and logits, alternating sliding-window and global layers; Gemma 3 adds per-head q/k
/// norms and its own RoPE base for the sliding layers. Missing fields take Hugging Face's class defaults
/// (<c>Gemma2Config</c>, <c>Gemma3TextConfig</c>); an explicit <c>null</c> turns a soft cap off.
/// </summary>
internal sealed class HfGemmaFamily : HfFamily
{
    public override IReadOnlyList<string> ModelTypes { get; } = ["gemma2", "gemma3_text"];

    public override string BasePrefix => "model.";

    public override TransformerConfig ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var gemma3 = cfg.String("model_type") == "gemma3_text";
        if (cfg.Bool("attention_bias", false))
        {
            // The norm after attention is split over the heads as a scale (see Attention): an output bias would not split.
            throw cfg.Unsupported("attention_bias", "false");
        }

        var activationField = cfg.Has("hidden_activation") ? "hidden_activation" : "hidden_act";
        var common = HfConfigs.Common(cfg, name);
        var window = cfg.IsNull("sliding_window") ? (int?)null : cfg.OptionalInt("sliding_window") ?? 4096;
        var (theta, scaling, localTheta) = Rope(cfg, gemma3);
        var config = common with
        {
            Family = TransformerFamily.Llama,
            DHead = cfg.OptionalInt("head_dim") ?? 256,
            NormEps = cfg.Double("rms_norm_eps", 1e-6),
            NormWeightOffset = 1,
            NormPlacement = NormPlacement.Sandwich,
            Activation = HfConfigs.Activation(cfg, activationField, "gelu_pytorch_tanh"),
            EmbedScale = Math.Sqrt(common.DModel),
            AttnScale = 1.0 / Math.Sqrt(cfg.Double("query_pre_attn_scalar", 256)),
            AttnSoftcap = Cap(cfg, "attn_logit_softcapping", gemma3 ? null : 50.0),
            FinalSoftcap = Cap(cfg, "final_logit_softcapping", gemma3 ? null : 30.0),
            SlidingWindow = window,
            SlidingLayers = window is null ? null : SlidingLayers(cfg, common.Layers, gemma3),
            RopeTheta = theta,
            RopeScaling = scaling,
            RopeLocalTheta = localTheta,
            QkNorm = gemma3 ? QkNorm.PerHead : QkNorm.None,
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", true),
        };
        return HfConfigs.Validated(config, cfg);
    }

    public override IEnumerable<WeightSource> Weights(TransformerConfig config) => HfLlamaLayout.Weights(config);

    private static double? Cap(HfConfig cfg, string field, double? fallback) =>
        cfg.IsNull(field) ? null : cfg.OptionalDouble(field) ?? fallback;

    /// <summary>
    /// Which layers slide: <c>layer_types</c> when given, else Gemma 2's even layers, Gemma 3's all but every
    /// <c>sliding_window_pattern</c>-th (default 6).
    /// </summary>
    private static bool[] SlidingLayers(HfConfig cfg, int layers, bool gemma3)
    {
        if (cfg.Strings("layer_types") is { } types)
        {
            if (types.Count != layers || types.Any(t => t is not ("sliding_attention" or "full_attention")))
            {
                throw new AutoCircuitException(
                    $"{cfg.Path}: layer_types must list {layers} entries, each sliding_attention or full_attention; found {cfg.Raw("layer_types")}.");
            }

            return types.Select(t => t == "sliding_attention").ToArray();
        }

        var pattern = gemma3 ? cfg.OptionalInt("sliding_window_pattern") ?? 6 : 2;
        if (pattern <= 0)
        {
            throw cfg.Unsupported("sliding_window_pattern", "a positive number of layers");
        }

        return Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0).ToArray();
    }

    /// <summary>
    /// The global layers' base and scaling; Gemma 3's sliding layers use <c>rope_local_base_freq</c> without scaling
    /// (transformers v5 writes both under <c>rope_parameters</c>, by layer type).
    /// </summary>
    private static (double Theta, RopeScaling? Scaling, double? LocalTheta) Rope(HfConfig cfg, bool gemma3)
    {
        if (cfg.Section("rope_parameters") is { } byType && byType.Section("full_attention") is { } full)
        {
            var local = byType.Section("sliding_attention");
            return (full.Double("rope_theta", 10000), HfRope.Scaling(full), gemma3 ? local?.Double("rope_theta", 10000) ?? 10000 : null);
        }

        var (theta, scaling) = HfRope.Read(cfg);
        return (theta, scaling, gemma3 ? cfg.Double("rope_local_base_freq", 10000) : null);
    }
}
