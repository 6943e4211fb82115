using System.Buffers.Binary;
using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Loads llama2.c's legacy <c>.bin</c> checkpoints (Hugging Face Llama folders: <see cref="HfCheckpoint"/>).
/// </summary>
/// <remarks>
/// Rotary pairing: llama2.c (like Meta's original code) rotates dimensions (2i, 2i+1) of each head.
/// Hugging Face's conversion permutes the rows of <c>q_proj</c>/<c>k_proj</c> within each head so
/// that its "rotate half" convention, which pairs (i, i + d_head/2), computes the same attention.
/// We keep each checkpoint's weights as stored and set <see cref="TransformerConfig.RopeInterleaved"/>
/// to the convention its weights were written for (llama2.c: interleaved; Hugging Face: half).
/// </remarks>
internal static class LlamaCheckpoint
{
    private const int Llama2cHeaderInts = 7;
    private const uint Llama2cVersionMagic = 0x616b3432; // "ak42": llama2.c's versioned (v1/v2) exports

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
        var vocab = vocabSigned == int.MinValue ? 0 : Math.Abs(vocabSigned); // -2^31 has no positive counterpart
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

        long expected;
        try
        {
            expected = checked(header.Length + (4 * shapes.Sum(s => s.Shape.Aggregate(1L, (a, b) => checked(a * b)))));
        }
        catch (OverflowException)
        {
            expected = -1; // more than 2^63 bytes: no file matches
        }

        if (stream.Length != expected)
        {
            throw new AutoCircuitException(
                $"{path}: {stream.Length} bytes, but a legacy llama2.c checkpoint with this header (dim={dim}, hidden_dim={hidden}, " +
                $"n_layers={layers}, n_heads={heads}, n_kv_heads={kvHeads}, vocab_size={vocabSigned}, seq_len={seqLen}) has {(expected < 0 ? "more than 2^63" : expected)}.");
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
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new AutoCircuitException($"{path}: {e.Message}", e);
        }
        ModelBudget.EnsureFits(config, path, stream.Length, "the file");

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
        wo.view(wo.size(0), heads, dh).permute(1, 2, 0); // [d, H, dh] -> [H, dh, d]
}
