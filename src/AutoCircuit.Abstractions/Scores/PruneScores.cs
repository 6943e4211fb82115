using System.Collections;
using AutoCircuit.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// A score for every edge: one tensor per destination module, of exactly that module's mask shape
/// (<c>[seq?][head?][src]</c>). Importance is <c>|score|</c>. Replaces auto-circuit's
/// <c>Dict[str, Tensor]</c>, with shapes checked once, at construction, naming the module.
/// </summary>
public sealed class PruneScores : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly Dictionary<string, Tensor> _scores;

    private PruneScores(ModelGraph graph, Dictionary<string, Tensor> scores)
    {
        Graph = graph;
        _scores = scores;
    }

    /// <summary>The graph the scores belong to.</summary>
    public ModelGraph Graph { get; }

    /// <summary>Number of scored edges.</summary>
    public int EdgeCount => Graph.EdgeCount;

    /// <inheritdoc />
    public int Count => _scores.Count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => Graph.DestModules.Select(m => m.ModuleName);

    /// <inheritdoc />
    public IEnumerable<Tensor> Values => Graph.DestModules.Select(m => _scores[m.ModuleName]);

    /// <summary>The score tensor of a destination module (shared, not a copy).</summary>
    public Tensor this[string key] =>
        _scores.TryGetValue(key, out var t)
            ? t
            : throw new KeyNotFoundException($"No scores for '{key}': it is not a destination module of this graph.");

    /// <summary>The score tensor of a destination module (shared, not a copy).</summary>
    public Tensor this[DestinationModule module] => this[module?.ModuleName ?? throw new ArgumentNullException(nameof(module))];

    /// <summary>A new set of scores filled with <paramref name="value"/>, on <paramref name="device"/> (CPU by default).</summary>
    public static PruneScores Filled(ModelGraph graph, double value = 0, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var m in graph.DestModules)
        {
            dict[m.ModuleName] = torch.full(m.MaskShape, value, dtype: dtype, device: device).DetachFromDisposeScope();
        }

        return new PruneScores(graph, dict);
    }

    /// <summary>
    /// Wraps per-module tensors as scores, checking that every destination module is present, no
    /// other key is, and each tensor has exactly the module's mask shape (no broadcasting).
    /// Takes ownership of the tensors (they are detached from any dispose scope).
    /// </summary>
    /// <exception cref="ArgumentException">A module is missing, unknown, or has the wrong shape.</exception>
    public static PruneScores FromTensors(ModelGraph graph, IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var key in tensors.Keys)
        {
            if (!graph.TryGetDestModule(key, out _))
            {
                throw new ArgumentException(
                    $"Scores given for '{key}', which is not a destination module of this graph " +
                    $"(destination modules: {string.Join(", ", graph.DestModules.Select(m => m.ModuleName))}).");
            }
        }

        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var m in graph.DestModules)
        {
            if (!tensors.TryGetValue(m.ModuleName, out var t))
            {
                throw new ArgumentException($"No scores given for destination module '{m.ModuleName}' {m.DescribeShape()}.");
            }

            CheckShape(m, t);
            dict[m.ModuleName] = t.DetachFromDisposeScope();
        }

        return new PruneScores(graph, dict);
    }

    /// <summary>Checks that a tensor has exactly a module's mask shape.</summary>
    /// <exception cref="ArgumentException">Naming the module, the expected and the found shape.</exception>
    public static void CheckShape(DestinationModule module, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.shape.SequenceEqual(module.MaskShape))
        {
            throw new ArgumentException(
                $"Scores for '{module.ModuleName}' must have shape {module.DescribeShape()} " +
                $"but have [{string.Join(", ", tensor.shape)}].");
        }
    }

    /// <summary>The score of one edge (reads one scalar: fine for reports, not for hot loops).</summary>
    public float ScoreOf(Edge edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        using var v = this[edge.Dest.ModuleName][edge.PatchIndex.Select(i => TensorIndex.Single(i)).ToArray()];
        return v.to_type(ScalarType.Float32).ToSingle();
    }

    /// <summary>Sets the score of one edge.</summary>
    public void Set(Edge edge, double value)
    {
        ArgumentNullException.ThrowIfNull(edge);
        using var _ = torch.no_grad();
        this[edge.Dest.ModuleName][edge.PatchIndex.Select(i => TensorIndex.Single(i)).ToArray()] =
            torch.tensor(value, dtype: this[edge.Dest.ModuleName].dtype);
    }

    /// <summary>All scores in flat order (<see cref="ModelGraph.FlatEdges"/>), signed: <c>[n_edges]</c>.</summary>
    public Tensor Flatten()
    {
        var parts = Graph.DestModules.Select(m => _scores[m.ModuleName].flatten()).ToArray();
        try
        {
            return torch.cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts)
            {
                p.Dispose();
            }
        }
    }

    /// <summary><c>|scores|</c> sorted in descending order (auto-circuit's <c>desc_prune_scores</c>).</summary>
    public Tensor SortedAbsDescending()
    {
        using var flat = Flatten();
        using var abs = flat.abs();
        var (values, indices) = abs.sort(descending: true);
        indices.Dispose();
        return values;
    }

    /// <summary>
    /// The edges ordered by <c>|score|</c>, largest first (ties keep flat order), with their signed scores.
    /// Reads the scores to the CPU once.
    /// </summary>
    public IReadOnlyList<(Edge Edge, float Score)> RankedEdges(int? take = null)
    {
        using var flat = Flatten();
        using var cpu = flat.to_type(ScalarType.Float32).cpu();
        var values = cpu.data<float>().ToArray();
        var order = Enumerable.Range(0, values.Length)
            .OrderByDescending(i => MathF.Abs(values[i]))
            .ThenBy(i => i);
        var flatEdges = Graph.FlatEdges;
        var query = order.Select(i => (flatEdges[i], values[i]));
        return (take is int k ? query.Take(k) : query).ToList();
    }

    /// <summary>Whether any score is NaN or infinite.</summary>
    public bool HasNonFinite()
    {
        foreach (var t in _scores.Values)
        {
            using var finite = t.isfinite();
            using var all = finite.all();
            if (!all.ToBoolean())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A copy of the scores on another device / dtype.</summary>
    public PruneScores To(Device device, ScalarType? dtype = null)
    {
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, v) in _scores)
        {
            var moved = dtype is ScalarType dt ? v.to(dt, device, copy: true) : v.to(device, copy: true);
            dict[k] = moved.detach().DetachFromDisposeScope();
        }

        return new PruneScores(Graph, dict);
    }

    /// <summary>A copy of the scores on the CPU as float32.</summary>
    public PruneScores ToCpu() => To(torch.CPU, ScalarType.Float32);

    /// <inheritdoc />
    public bool ContainsKey(string key) => _scores.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out Tensor value) => _scores.TryGetValue(key, out value!);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() =>
        Graph.DestModules.Select(m => new KeyValuePair<string, Tensor>(m.ModuleName, _scores[m.ModuleName])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _scores.Values)
        {
            t.Dispose();
        }

        _scores.Clear();
    }
}
