using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// OLMo-2 (<c>Olmo2ForCausalLM</c>): no norm before attention or MLP, RMSNorm on their outputs
/// (<c>post_attention_layernorm</c>, <c>post_feedforward_layernorm</c>), and q/k RMSNorm over the whole projection.
/// </summary>
internal sealed class HfOlmo2Family : HfFamily
{
    public override IReadOnlyList<string> ModelTypes { get; } = ["olmo2"];

    public override string BasePrefix => "model.";

    public override TransformerConfig ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        if ((cfg.String("hidden_act") ?? "silu") != "silu")
        {
            throw cfg.Unsupported("hidden_act", "silu");
        }

        if (cfg.Bool("attention_bias", false))
        {
            // The norm after attention is split over the heads as a scale (see Attention): an output bias would not split.
            throw cfg.Unsupported("attention_bias", "false");
        }

        var (theta, scaling) = HfRope.Read(cfg);
        var config = HfConfigs.Common(cfg, name) with
        {
            Family = TransformerFamily.Llama,
            NormEps = cfg.Double("rms_norm_eps", 1e-5),
            NormPlacement = NormPlacement.Post,
            QkNorm = QkNorm.Whole,
            RopeTheta = theta,
            RopeScaling = scaling,
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", false),
        };
        return HfConfigs.Validated(config, cfg);
    }

    public override IEnumerable<WeightSource> Weights(TransformerConfig config) => HfLlamaLayout.Weights(config);
}
