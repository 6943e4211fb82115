using static TorchSharp.torch;

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// Keys and values of every attention layer for a prefix shared by a batch of prompts
/// (auto-circuit's <c>tail_divergence</c>, TransformerLens' frozen <c>HookedTransformerKeyValueCache</c>).
/// Forward passes over the tails (<see cref="Transformer.Forward(Tensor, PrefixCache?)"/>) attend to
/// the cached prefix and give the same outputs at the tail positions as the uncached run over
/// prefix + tail. The prefix is computed once, unpatched and without hooks; it is not part of the
/// graph. Immutable once built; owned by whoever built it.
/// </summary>
public sealed class PrefixCache : IDisposable
{
    private readonly List<(Tensor Keys, Tensor Values)> _layers;

    internal PrefixCache(Tensor tokens, List<(Tensor Keys, Tensor Values)> layers)
    {
        Tokens = tokens;
        _layers = layers;
    }

    /// <summary>The prefix token ids, <c>[B, P]</c> (needed for the padding mask and positions of the tails).</summary>
    public Tensor Tokens { get; }

    /// <summary>Batch size the cache was built for; tails must have the same.</summary>
    public long BatchSize => Tokens.size(0);

    /// <summary>Prefix length P.</summary>
    public long Length => Tokens.size(1);

    /// <summary>Keys of one layer after rotary, <c>[B, P, G, d_head]</c> (G = key/value heads).</summary>
    internal Tensor Keys(int layer) => _layers[layer].Keys;

    /// <summary>Values of one layer, <c>[B, P, G, d_head]</c>.</summary>
    internal Tensor Values(int layer) => _layers[layer].Values;

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        foreach (var (k, v) in _layers)
        {
            k.Dispose();
            v.Dispose();
        }
    }
}
