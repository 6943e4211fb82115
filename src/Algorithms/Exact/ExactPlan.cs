using AutoCircuit.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Exact;

/// <summary>Where copy <c>i = e·B + b</c> (candidate edge <c>e</c>, prompt <c>b</c>) reads and patches, per module.</summary>
internal sealed class ExactPlan
{
    public ExactPlan(IReadOnlyList<Edge> edges, int first, int count, long batchSize, Device device)
    {
        var n = count * batchSize;
        var slots = new long[n];
        var srcRows = new Dictionary<string, List<(long Row, long Head)>>(StringComparer.Ordinal);
        var destRows = new Dictionary<string, List<(long Row, long Head, long Seq)>>(StringComparer.Ordinal);
        for (var e = 0; e < count; e++)
        {
            var edge = edges[first + e];
            for (long b = 0; b < batchSize; b++)
            {
                var i = (e * batchSize) + b;
                slots[i] = edge.Src.SrcIndex;
                Add(srcRows, edge.Src.ModuleName, (i, edge.Src.HeadIndex ?? -1));
                Add(destRows, edge.Dest.ModuleName, (i, edge.Dest.HeadIndex ?? -1, edge.SeqIndex ?? -1));
            }
        }

        Tensor T(IEnumerable<long> values) => torch.tensor(values.ToArray(), device: device);
        Slots = T(slots);
        Prompts = T(Enumerable.Range(0, (int)n).Select(i => i % batchSize));
        Sources = srcRows.ToDictionary(kv => kv.Key, kv => new Target(
            T(kv.Value.Select(v => v.Row)),
            kv.Value[0].Head < 0 ? null : T(kv.Value.Select(v => v.Head)),
            null));
        Destinations = destRows.ToDictionary(kv => kv.Key, kv => new Target(
            T(kv.Value.Select(v => v.Row)),
            kv.Value[0].Head < 0 ? null : T(kv.Value.Select(v => v.Head)),
            kv.Value[0].Seq < 0 ? null : T(kv.Value.Select(v => v.Seq))));
    }

    public Tensor Slots { get; }

    public Tensor Prompts { get; }

    public Dictionary<string, Target> Sources { get; }

    public Dictionary<string, Target> Destinations { get; }

    private static void Add<T>(Dictionary<string, List<T>> map, string key, T value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        list.Add(value);
    }
}

/// <summary>Copies (rows) of one module, with their heads and token positions; <see cref="At"/> indexes
/// <c>[rows, seq, head?, d]</c> to <c>[n, seq, d]</c> (or <c>[n, d]</c> at one position each).</summary>
internal sealed record Target(Tensor Rows, Tensor? Heads, Tensor? Positions)
{
    public TensorIndex[] At { get; } =
    [
        TensorIndex.Tensor(Rows),
        Positions is null ? TensorIndex.Colon : TensorIndex.Tensor(Positions),
        .. Heads is null ? Array.Empty<TensorIndex>() : [TensorIndex.Tensor(Heads)],
    ];
}
