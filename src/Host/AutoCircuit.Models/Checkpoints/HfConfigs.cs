using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>What the Hugging Face families' config readers share.</summary>
internal static class HfConfigs
{
    /// <summary>
    /// The sizes every decoder config states under the same names (<c>hidden_size</c>, <c>num_hidden_layers</c>,
    /// <c>num_attention_heads</c>, <c>num_key_value_heads</c>, <c>head_dim</c>, <c>intermediate_size</c>,
    /// <c>vocab_size</c>, <c>max_position_embeddings</c>); the family sets the rest.
    /// </summary>
    public static TransformerConfig Common(HfConfig cfg, string name)
    {
        var heads = cfg.RequiredInt("num_attention_heads");
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Llama,
            Name = name,
            Architecture = cfg.String("model_type"),
            DModel = cfg.RequiredInt("hidden_size"),
            Layers = cfg.RequiredInt("num_hidden_layers"),
            Heads = heads,
            KvHeads = cfg.OptionalInt("num_key_value_heads") ?? heads,
            DMlp = cfg.RequiredInt("intermediate_size"),
            VocabSize = cfg.RequiredInt("vocab_size"),
            ContextLength = cfg.OptionalInt("max_position_embeddings") ?? 2048,
        };
        return cfg.OptionalInt("head_dim") is int hd ? config with { DHead = hd } : config;
    }

    /// <summary>The special token ids of the config.</summary>
    public static SpecialTokens Tokens(HfConfig cfg) =>
        new(cfg.TokenId("bos_token_id"), cfg.TokenId("eos_token_id"), cfg.TokenId("pad_token_id"));

    /// <summary><paramref name="config"/> after <see cref="TransformerConfig.Validate"/>, its complaints naming the file.</summary>
    /// <exception cref="AutoCircuitException">The values do not fit together.</exception>
    public static TransformerConfig Validated(TransformerConfig config, HfConfig cfg)
    {
        try
        {
            config.Validate();
            return config;
        }
        catch (ArgumentException e)
        {
            throw new AutoCircuitException($"{cfg.Path}: {e.Message}", e);
        }
    }

    /// <summary>An activation by its Hugging Face name.</summary>
    /// <exception cref="AutoCircuitException">One we do not implement (the message lists those we do).</exception>
    public static MlpActivation Activation(HfConfig cfg, string field, string fallback) => (cfg.String(field) ?? fallback) switch
    {
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => MlpActivation.GeluNew,
        "gelu" => MlpActivation.Gelu,
        "relu" => MlpActivation.Relu,
        "silu" or "swish" => MlpActivation.Silu,
        _ => throw cfg.Unsupported(field, "gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu"),
    };
}
