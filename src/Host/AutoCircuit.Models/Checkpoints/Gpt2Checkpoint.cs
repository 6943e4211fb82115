using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>Special token ids a checkpoint declares (used for padding and generation).</summary>
/// <param name="Bos">Beginning-of-sequence id, if any.</param>
/// <param name="Eos">End-of-sequence id, if any.</param>
/// <param name="Pad">Padding id, if declared.</param>
public sealed record SpecialTokens(long? Bos, long? Eos, long? Pad)
{
    /// <summary>The left-padding rule TransformerLens would use: pad = pad ?? eos; pad doubles as BOS when the ids agree.</summary>
    public TokenPadding? Padding => (Pad ?? Eos) is long pad ? new TokenPadding(pad, pad == Bos) : null;
}

/// <summary>
/// Loads a Hugging Face GPT-2 folder (<c>config.json</c> + <c>model.safetensors</c> or
/// <c>pytorch_model.bin</c>; tensor names with or without the <c>transformer.</c> prefix). HF's
/// Conv1D layers store their weights <c>[in, out]</c>: <c>c_attn</c> <c>[d, 3d]</c> (Q|K|V along
/// the output axis), <c>c_proj</c> <c>[d, d]</c>, <c>mlp.c_fc</c> <c>[d, d_mlp]</c>,
/// <c>mlp.c_proj</c> <c>[d_mlp, d]</c>; they are transposed into our <c>[out, in]</c> layout.
/// </summary>
public static class Gpt2Checkpoint
{
    /// <summary>The config of a GPT-2 <c>config.json</c>.</summary>
    /// <exception cref="AutoCircuitException">A field is missing or has a value we do not support.</exception>
    public static (TransformerConfig Config, SpecialTokens Tokens) ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var d = cfg.RequiredInt("n_embd", "hidden_size");
        var activation = cfg.String("activation_function") ?? "gelu_new";
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
            DMlp = cfg.OptionalInt("n_inner") ?? 4 * d,
            VocabSize = cfg.RequiredInt("vocab_size"),
            ContextLength = cfg.RequiredInt("n_positions", "max_position_embeddings", "n_ctx"),
            NormEps = cfg.Double("layer_norm_epsilon", 1e-5),
            Activation = activation switch
            {
                "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => MlpActivation.GeluNew,
                "gelu" => MlpActivation.Gelu,
                "relu" => MlpActivation.Relu,
                _ => throw new AutoCircuitException(
                    $"{cfg.Path}: activation_function '{activation}' is not supported (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu)."),
            },
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", true),
            AttnBias = true,
            MlpBias = true,
        };
        Validate(config, cfg.Path);
        return (config, new SpecialTokens(cfg.TokenId("bos_token_id"), cfg.TokenId("eos_token_id"), cfg.TokenId("pad_token_id")));
    }

    /// <summary>Loads the folder onto the CPU.</summary>
    /// <exception cref="AutoCircuitException">Config or weights missing or malformed; the message names the file and field/tensor.</exception>
    public static (Transformer Model, SpecialTokens Tokens) Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var cfg = HfConfig.Load(Path.Combine(folder, "config.json"));
        var (config, tokens) = ReadConfig(cfg, Paths.LastName(folder));
        var model = new Transformer(config) { Padding = tokens.Padding };
        try
        {
            using var scope = torch.NewDisposeScope();
            using var ckpt = CheckpointTensors.FromHuggingFaceFolder(folder);
            ckpt.StripPrefix("transformer."); // Hugging Face's base-model prefix, when the checkpoint has it

            // Causal-mask buffers that older checkpoints saved with the weights.
            ckpt.Ignore(n => (n.EndsWith(".attn.bias", StringComparison.Ordinal) && n.StartsWith("h.", StringComparison.Ordinal)) ||
                             n.EndsWith(".attn.masked_bias", StringComparison.Ordinal));
            long dm = config.DModel, h = config.Heads, dh = config.DHead, mlp = config.DMlp, v = config.VocabSize;
            var w = new Dictionary<string, Tensor>(StringComparer.Ordinal)
            {
                ["embed.W_E"] = ckpt.Take("wte.weight", v, dm),
                ["pos_embed.W_pos"] = ckpt.Take("wpe.weight", config.ContextLength, dm),
                ["ln_final.w"] = ckpt.Take("ln_f.weight", dm),
                ["ln_final.b"] = ckpt.Take("ln_f.bias", dm),
            };
            for (var l = 0; l < config.Layers; l++)
            {
                var p = $"h.{l}.";
                var q = $"blocks.{l}.";
                w[q + "ln1.w"] = ckpt.Take(p + "ln_1.weight", dm);
                w[q + "ln1.b"] = ckpt.Take(p + "ln_1.bias", dm);
                var cAttn = ckpt.Take(p + "attn.c_attn.weight", dm, 3 * dm); // [d, 3d] = [in, Q|K|V]
                var cAttnBias = ckpt.Take(p + "attn.c_attn.bias", 3 * dm); // [3d]
                var names = new[] { "Q", "K", "V" };
                for (var i = 0; i < 3; i++)
                {
                    w[$"{q}attn.W_{names[i]}"] = cAttn.narrow(1, i * dm, dm).t(); // [H*dh, d]
                    w[$"{q}attn.b_{names[i]}"] = cAttnBias.narrow(0, i * dm, dm); // [H*dh]
                }

                w[q + "attn.W_O"] = ckpt.Take(p + "attn.c_proj.weight", dm, dm).view(h, dh, dm); // [H*dh, d] -> [H, dh, d]
                w[q + "attn.b_O"] = ckpt.Take(p + "attn.c_proj.bias", dm);
                w[q + "ln2.w"] = ckpt.Take(p + "ln_2.weight", dm);
                w[q + "ln2.b"] = ckpt.Take(p + "ln_2.bias", dm);
                w[q + "mlp.W_in"] = ckpt.Take(p + "mlp.c_fc.weight", dm, mlp).t(); // [d, d_mlp] -> [d_mlp, d]
                w[q + "mlp.b_in"] = ckpt.Take(p + "mlp.c_fc.bias", mlp);
                w[q + "mlp.W_out"] = ckpt.Take(p + "mlp.c_proj.weight", mlp, dm).t(); // [d_mlp, d] -> [d, d_mlp]
                w[q + "mlp.b_out"] = ckpt.Take(p + "mlp.c_proj.bias", dm);
            }

            if (config.TiedEmbeddings)
            {
                // Hugging Face ties lm_head to wte and ignores a stored copy.
                ckpt.Ignore(n => n == "lm_head.weight");
            }
            else
            {
                w["unembed.W_U"] = ckpt.Take("lm_head.weight", v, dm);
            }

            ckpt.EnsureAllUsed("GPT-2");
            model.LoadWeights(w, ckpt.Source);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return (model, tokens);
    }

    internal static void Validate(TransformerConfig config, string path)
    {
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new AutoCircuitException($"{path}: {e.Message}", e);
        }
    }
}
