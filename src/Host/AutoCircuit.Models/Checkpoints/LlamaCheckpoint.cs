using System.Buffers.Binary;
using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Loads Llama-family checkpoints: Hugging Face folders (<c>config.json</c> with
/// <c>model_type: llama</c> + safetensors or <c>pytorch_model.bin</c>) and llama2.c's legacy
/// <c>.bin</c> format.
/// </summary>
/// <remarks>
/// Rotary pairing: llama2.c (like Meta's original code) rotates dimensions (2i, 2i+1) of each head.
/// Hugging Face's conversion permutes the rows of <c>q_proj</c>/<c>k_proj</c> within each head so
/// that its "rotate half" convention, which pairs (i, i + d_head/2), computes the same attention.
/// We keep each checkpoint's weights as stored and set <see cref="TransformerConfig.RopeInterleaved"/>
/// to the convention its weights were written for (llama2.c: interleaved; Hugging Face: half).
/// </remarks>
public static class LlamaCheckpoint
{
    private const int Llama2cHeaderInts = 7;
    private const uint Llama2cVersionMagic = 0x616b3432; // "ak42": llama2.c's versioned (v1/v2) exports

    /// <summary>The config of a Hugging Face Llama <c>config.json</c>.</summary>
    /// <exception cref="AutoCircuitException">A field is missing or unsupported.</exception>
    public static (TransformerConfig Config, SpecialTokens Tokens) ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        if (cfg.Has("rope_scaling"))
        {
            throw new AutoCircuitException($"{cfg.Path}: rope_scaling {cfg.Raw("rope_scaling")} is not supported (plain rotary embeddings only).");
        }

        var act = cfg.String("hidden_act") ?? "silu";
        if (act != "silu")
        {
            throw new AutoCircuitException($"{cfg.Path}: hidden_act '{act}' is not supported (Llama's SwiGLU uses silu).");
        }

        var d = cfg.RequiredInt("hidden_size");
        var heads = cfg.RequiredInt("num_attention_heads");
        var headDim = cfg.OptionalInt("head_dim");
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Llama,
            Name = name,
            DModel = d,
            Layers = cfg.RequiredInt("num_hidden_layers"),
            Heads = heads,
            KvHeads = cfg.OptionalInt("num_key_value_heads") ?? heads,
            DMlp = cfg.RequiredInt("intermediate_size"),
            VocabSize = cfg.RequiredInt("vocab_size"),
            ContextLength = cfg.OptionalInt("max_position_embeddings") ?? 2048,
            NormEps = cfg.Double("rms_norm_eps", 1e-6),
            RopeTheta = cfg.Double("rope_theta", 10000),
            RopeInterleaved = false,
            TiedEmbeddings = cfg.Bool("tie_word_embeddings", false),
            AttnBias = cfg.Bool("attention_bias", false),
            MlpBias = cfg.Bool("mlp_bias", false),
        };
        if (headDim is int hd && hd * heads != d)
        {
            config = config with { DHead = hd }; // only when it differs: a config without head_dim must divide evenly
        }

        Gpt2Checkpoint.Validate(config, cfg.Path);
        return (config, new SpecialTokens(cfg.TokenId("bos_token_id"), cfg.TokenId("eos_token_id"), cfg.TokenId("pad_token_id")));
    }

    /// <summary>Loads a Hugging Face Llama folder onto the CPU.</summary>
    /// <exception cref="AutoCircuitException">Config or weights missing or malformed.</exception>
    public static (Transformer Model, SpecialTokens Tokens) LoadHuggingFace(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var cfg = HfConfig.Load(Path.Combine(folder, "config.json"));
        var (config, tokens) = ReadConfig(cfg, Paths.LastName(folder));
        var model = new Transformer(config) { Padding = tokens.Padding };
        try
        {
            using var scope = torch.NewDisposeScope();
            using var ckpt = CheckpointTensors.FromHuggingFaceFolder(folder);
            ckpt.StripPrefix("model."); // Hugging Face's base-model prefix, when the checkpoint has it

            ckpt.Ignore(n => n.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal));
            long dm = config.DModel, h = config.Heads, g = config.KvHeads, dh = config.DHead, ff = config.DMlp;
            var w = new Dictionary<string, Tensor>(StringComparer.Ordinal)
            {
                ["embed.W_E"] = ckpt.Take("embed_tokens.weight", config.VocabSize, dm),
                ["ln_final.w"] = ckpt.Take("norm.weight", dm),
            };
            for (var l = 0; l < config.Layers; l++)
            {
                var p = $"layers.{l}.";
                var q = $"blocks.{l}.";
                w[q + "ln1.w"] = ckpt.Take(p + "input_layernorm.weight", dm);
                w[q + "attn.W_Q"] = ckpt.Take(p + "self_attn.q_proj.weight", h * dh, dm); // [H*dh, d]
                w[q + "attn.W_K"] = ckpt.Take(p + "self_attn.k_proj.weight", g * dh, dm); // [G*dh, d]
                w[q + "attn.W_V"] = ckpt.Take(p + "self_attn.v_proj.weight", g * dh, dm); // [G*dh, d]
                w[q + "attn.W_O"] = HeadsFirst(ckpt.Take(p + "self_attn.o_proj.weight", dm, h * dh), h, dh); // [H, dh, d]
                if (config.AttnBias)
                {
                    w[q + "attn.b_Q"] = ckpt.Take(p + "self_attn.q_proj.bias", h * dh);
                    w[q + "attn.b_K"] = ckpt.Take(p + "self_attn.k_proj.bias", g * dh);
                    w[q + "attn.b_V"] = ckpt.Take(p + "self_attn.v_proj.bias", g * dh);
                    w[q + "attn.b_O"] = ckpt.Take(p + "self_attn.o_proj.bias", dm);
                }

                w[q + "ln2.w"] = ckpt.Take(p + "post_attention_layernorm.weight", dm);
                w[q + "mlp.W_gate"] = ckpt.Take(p + "mlp.gate_proj.weight", ff, dm);
                w[q + "mlp.W_in"] = ckpt.Take(p + "mlp.up_proj.weight", ff, dm);
                w[q + "mlp.W_out"] = ckpt.Take(p + "mlp.down_proj.weight", dm, ff);
                if (config.MlpBias)
                {
                    w[q + "mlp.b_gate"] = ckpt.Take(p + "mlp.gate_proj.bias", ff);
                    w[q + "mlp.b_in"] = ckpt.Take(p + "mlp.up_proj.bias", ff);
                    w[q + "mlp.b_out"] = ckpt.Take(p + "mlp.down_proj.bias", dm);
                }
            }

            if (config.TiedEmbeddings)
            {
                ckpt.Ignore(n => n == "lm_head.weight");
            }
            else
            {
                w["unembed.W_U"] = ckpt.Take("lm_head.weight", config.VocabSize, dm);
            }

            ckpt.EnsureAllUsed("Llama");
            model.LoadWeights(w, ckpt.Source);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return (model, tokens);
    }

    /// <summary>
    /// Loads a llama2.c checkpoint in the legacy format: seven int32 (dim, hidden_dim, n_layers,
    /// n_heads, n_kv_heads, vocab_size — negative when the classifier is stored separately —,
    /// seq_len), then float32 token embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3,
    /// rms_final, freq_cis real/imag (unused), and the classifier if separate. Matrices are
    /// <c>[out, in]</c>. RMSNorm eps 1e-5, rotary base 10000 on pairs (2i, 2i+1); BOS 1, EOS 2.
    /// </summary>
    /// <exception cref="AutoCircuitException">Not a legacy llama2.c file, or its size does not match its header.</exception>
    public static (Transformer Model, SpecialTokens Tokens) LoadLlama2c(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[Llama2cHeaderInts * 4];
        if (stream.Read(header) != header.Length)
        {
            throw new AutoCircuitException($"{path}: too short for a llama2.c checkpoint header ({header.Length} bytes).");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) == Llama2cVersionMagic)
        {
            throw new AutoCircuitException(
                $"{path}: a versioned llama2.c export (magic 'ak42', version {BinaryPrimitives.ReadInt32LittleEndian(header[4..])}); " +
                "only the legacy format (export with --version 0) is supported.");
        }

        var ints = new int[Llama2cHeaderInts];
        for (var i = 0; i < ints.Length; i++)
        {
            ints[i] = BinaryPrimitives.ReadInt32LittleEndian(header[(4 * i)..]);
        }

        var (dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen) = (ints[0], ints[1], ints[2], ints[3], ints[4], ints[5], ints[6]);
        var shared = vocabSigned > 0;
        var vocab = Math.Abs(vocabSigned);
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab == 0 || seqLen <= 0 || dim % heads != 0)
        {
            throw new AutoCircuitException(
                $"{path}: not a llama2.c checkpoint (header dim={dim}, hidden_dim={hidden}, n_layers={layers}, n_heads={heads}, " +
                $"n_kv_heads={kvHeads}, vocab_size={vocabSigned}, seq_len={seqLen}).");
        }

        long d = dim, hd = hidden, l = layers, dh = dim / heads, kv = kvHeads * dh, v = vocab;
        var shapes = new List<(string Name, long[] Shape)>
        {
            ("tok_embeddings", [v, d]), ("rms_att", [l, d]), ("wq", [l, d, d]), ("wk", [l, kv, d]), ("wv", [l, kv, d]),
            ("wo", [l, d, d]), ("rms_ffn", [l, d]), ("w1", [l, hd, d]), ("w2", [l, d, hd]), ("w3", [l, hd, d]),
            ("rms_final", [d]), ("freq_cis_real", [seqLen, dh / 2]), ("freq_cis_imag", [seqLen, dh / 2]),
        };
        if (!shared)
        {
            shapes.Add(("wcls", [v, d]));
        }

        var expected = header.Length + (4 * shapes.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)));
        if (stream.Length != expected)
        {
            throw new AutoCircuitException(
                $"{path}: {stream.Length} bytes, but a legacy llama2.c checkpoint with this header (dim={dim}, hidden_dim={hidden}, " +
                $"n_layers={layers}, n_heads={heads}, n_kv_heads={kvHeads}, vocab_size={vocabSigned}, seq_len={seqLen}) has {expected}.");
        }

        var config = new TransformerConfig
        {
            Family = TransformerFamily.Llama,
            Name = Path.GetFileNameWithoutExtension(path),
            DModel = dim,
            Layers = layers,
            Heads = heads,
            KvHeads = kvHeads,
            DMlp = hidden,
            VocabSize = vocab,
            ContextLength = seqLen,
            NormEps = 1e-5,
            RopeTheta = 10000,
            RopeInterleaved = true,
            TiedEmbeddings = shared,
        };
        Gpt2Checkpoint.Validate(config, path);
        var tokens = new SpecialTokens(Bos: 1, Eos: 2, Pad: null);
        var model = new Transformer(config) { Padding = tokens.Padding };
        try
        {
            using var scope = torch.NewDisposeScope();
            var raw = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (name, shape) in shapes)
            {
                var t = torch.empty(shape, dtype: ScalarType.Float32);
                stream.ReadExactly(t.bytes);
                raw[name] = t;
            }

            var w = new Dictionary<string, Tensor>(StringComparer.Ordinal)
            {
                ["embed.W_E"] = raw["tok_embeddings"],
                ["ln_final.w"] = raw["rms_final"],
            };
            for (var i = 0; i < layers; i++)
            {
                var q = $"blocks.{i}.";
                w[q + "ln1.w"] = raw["rms_att"][i];
                w[q + "attn.W_Q"] = raw["wq"][i]; // [H*dh, d]
                w[q + "attn.W_K"] = raw["wk"][i]; // [G*dh, d]
                w[q + "attn.W_V"] = raw["wv"][i];
                w[q + "attn.W_O"] = HeadsFirst(raw["wo"][i], heads, dh); // [H, dh, d]
                w[q + "ln2.w"] = raw["rms_ffn"][i];
                w[q + "mlp.W_gate"] = raw["w1"][i]; // [hidden, d]
                w[q + "mlp.W_out"] = raw["w2"][i]; // [d, hidden]
                w[q + "mlp.W_in"] = raw["w3"][i]; // [hidden, d]
            }

            if (!shared)
            {
                w["unembed.W_U"] = raw["wcls"];
            }

            model.LoadWeights(w, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return (model, tokens);
    }

    /// <summary>An output projection <c>[d, H*dh]</c> (Linear layout) as <c>[H, dh, d]</c>.</summary>
    private static Tensor HeadsFirst(Tensor wo, long heads, long dh) =>
        wo.view(wo.shape[0], heads, dh).permute(1, 2, 0); // [d, H, dh] -> [H, dh, d]
}
