using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Llama (<c>LlamaForCausalLM</c>: Llama 2/3, rope scaling, tied embeddings, explicit <c>head_dim</c>), Mistral (a
/// sliding window on every layer), Qwen2 (Q/K/V biases) and Qwen3 (per-head q/k RMSNorm): the same maths, read from
/// four <c>model_type</c>s.
/// </summary>
internal sealed class HfLlamaFamily : HfFamily
{
    public override IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2", "qwen3"];

    public override string BasePrefix => "model.";

    public override TransformerConfig ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var type = cfg.String("model_type")!;
        if ((cfg.String("hidden_act") ?? "silu") != "silu")
        {
            throw cfg.Unsupported("hidden_act", "silu");
        }

        if (type is "qwen2" or "qwen3" && cfg.Bool("use_sliding_window", false))
        {
            // Real Qwen2.5/Qwen3 configs keep it off; on, it would window only the layers past max_window_layers.
            throw cfg.Unsupported("use_sliding_window", "false");
        }

        var (theta, scaling) = HfRope.Read(cfg);
        var config = HfConfigs.Common(cfg, name) with
        {
            Family = TransformerFamily.Llama,
            NormEps = cfg.Double("rms_norm_eps", 1e-6),
            RopeTheta = theta,
            RopeScaling = scaling,
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", false),

            // Qwen2 always has Q/K/V biases and none on O; Llama's attention_bias puts one on all four.
            AttnBias = type == "qwen2" || cfg.Bool("attention_bias", false),
            AttnOutBias = type != "qwen2" && cfg.Bool("attention_bias", false),
            MlpBias = type == "llama" && cfg.Bool("mlp_bias", false),
            QkNorm = type == "qwen3" ? QkNorm.PerHead : QkNorm.None,
            SlidingWindow = type == "mistral" ? cfg.OptionalInt("sliding_window") : null,
        };
        return HfConfigs.Validated(config, cfg);
    }

    public override IEnumerable<WeightSource> Weights(TransformerConfig config) => HfLlamaLayout.Weights(config);
}
