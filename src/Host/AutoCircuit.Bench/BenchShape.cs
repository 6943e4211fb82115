using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Bench;

/// <summary>A GPT-2-shaped random model and the batch it is measured on.</summary>
/// <param name="Name">Label in reports (<c>small</c>, <c>gpt2</c>, or the custom shape).</param>
/// <param name="Layers">Blocks.</param>
/// <param name="Heads">Attention heads per block.</param>
/// <param name="DModel">Residual width; the MLP is 4x as wide, as in GPT-2.</param>
/// <param name="Vocab">Vocabulary size (reduced from GPT-2's 50257 by default to save time and memory).</param>
/// <param name="Batch">Prompts per batch.</param>
/// <param name="Seq">Tokens per prompt.</param>
internal sealed record BenchShape(string Name, int Layers, int Heads, int DModel, int Vocab, int Batch, int Seq)
{
    /// <summary>Runs in seconds here: 2 layers x 4 heads x 64, vocab 512, batch 8 x seq 16.</summary>
    public static BenchShape Small { get; } = new("small", 2, 4, 64, 512, 8, 16);

    /// <summary>
    /// GPT-2 small's blocks (12 layers x 12 heads x 768, MLP 3072) with the vocabulary reduced to 8192
    /// (GPT-2: 50257; the unembedding is the only part that changes, and a smaller one makes the patching
    /// overhead a larger share of the forward pass, not a smaller one), batch 4 x seq 16 on the CPU.
    /// </summary>
    public static BenchShape Gpt2 { get; } = new("gpt2", 12, 12, 768, 8192, 4, 16);

    /// <summary>The transformer configuration (GPT-2 family).</summary>
    public TransformerConfig Config => new()
    {
        Family = TransformerFamily.Gpt2,
        DModel = DModel,
        Layers = Layers,
        Heads = Heads,
        DMlp = 4 * DModel,
        VocabSize = Vocab,
        ContextLength = Math.Max(Seq, 1024),
        AttnBias = true,
        MlpBias = true,
        Name = $"bench-{Name}",
    };

    /// <summary>Parameters of the model (weights and biases).</summary>
    public long Parameters
    {
        get
        {
            long d = DModel, l = Layers;
            var block = (4 * d * d) + (4 * d) + (8 * d * d) + (5 * d) + (4 * d);
            return (Vocab * d) + (Config.ContextLength * d) + (l * block) + (2 * d);
        }
    }

    /// <summary>
    /// Multiply-adds of one plain forward pass over a batch: per token and layer the Q, K, V and output projections
    /// (<c>4 d^2</c>) and the MLP (<c>2 d d_mlp</c>), the unembedding (<c>d vocab</c>), and per layer the attention scores
    /// and mix (<c>2 heads seq^2 d_head</c> per prompt). Norms, biases and activations are not counted.
    /// </summary>
    public double ModelMultiplyAdds
    {
        get
        {
            double d = DModel, tokens = (double)Batch * Seq;
            var perToken = (Layers * ((4 * d * d) + (2 * d * 4 * d))) + (d * Vocab);
            var attention = (double)Layers * Batch * 2 * Heads * Seq * Seq * (d / Heads);
            return (tokens * perToken) + attention;
        }
    }

    /// <summary>
    /// Parses <c>small</c>, <c>gpt2</c> or <c>LxHxD</c> (layers x heads x d_model, e.g. <c>24x16x1024</c>).
    /// </summary>
    /// <exception cref="AutoCircuitException">Anything else.</exception>
    public static BenchShape Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        if (t == "small")
        {
            return Small;
        }

        if (t is "gpt2" or "gpt2-small")
        {
            return Gpt2;
        }

        var parts = t.Split('x');
        if (parts.Length == 3 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
        {
            var n = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            if (n[2] % n[1] != 0)
            {
                throw new AutoCircuitException($"--shape {text}: d_model {n[2]} is not divisible by {n[1]} heads.");
            }

            return Gpt2 with { Name = t, Layers = n[0], Heads = n[1], DModel = n[2] };
        }

        throw new AutoCircuitException($"--shape {text}: expected small, gpt2 or LAYERSxHEADSxDMODEL (e.g. 12x12x768).");
    }

    /// <summary>A one-line description.</summary>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Name}: {Layers} layers x {Heads} heads x d_model {DModel} (MLP {4 * DModel}), vocab {Vocab}, batch {Batch} x seq {Seq}, " +
        $"{Parameters / 1e6:0.#}M parameters");
}
