using System.Collections;
using AutoCircuit.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// A score for every edge: one <see cref="DestinationScores"/> per destination module, each owning one
/// tensor of exactly that module's mask shape (<c>[seq?][head?][src]</c>). Importance is <c>|score|</c>.
/// Replaces auto-circuit's <c>Dict[str, Tensor]</c>: shapes are checked once, at construction, naming the
/// module, and the typed view (<see cref="Destinations"/>, <see cref="For{T}(DestinationModule)"/>) gives each
/// destination's scores as the kind its axes call for (<see cref="SrcScores"/>, <see cref="HeadSrcScores"/>,
/// <see cref="SeqSrcScores"/>, <see cref="SeqHeadSrcScores"/>).
/// </summary>
/// <remarks>
/// The dictionary view (module name → tensor) is kept for code that reads tensors directly; writing
/// through it (<c>scores[module].add_(t)</c>) bypasses the shape checks and broadcasts like any tensor, so
/// algorithms should write through <see cref="Destinations"/>.
/// </remarks>
public sealed class PruneScores : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly DestinationScores[] _destinations;
    private readonly Dictionary<string, DestinationScores> _byName;

    private PruneScores(ModelGraph graph, DestinationScores[] destinations)
    {
        Graph = graph;
        _destinations = destinations;
        _byName = destinations.ToDictionary(d => d.Name, StringComparer.Ordinal);
    }

    /// <summary>The graph the scores belong to.</summary>
    public ModelGraph Graph { get; }

    /// <summary>Number of scored edges.</summary>
    public int EdgeCount => Graph.EdgeCount;

    /// <summary>
    /// The scores of every destination module, in graph order, each as the kind its axes call for. Use
    /// <see cref="DestinationScores.Match{TResult}"/> or a <c>switch</c> on the type for per-kind code.
    /// </summary>
    public IReadOnlyList<DestinationScores> Destinations => _destinations;

    /// <inheritdoc />
    public int Count => _destinations.Length;

    /// <inheritdoc />
    public IEnumerable<string> Keys => _destinations.Select(d => d.Name);

    /// <inheritdoc />
    public IEnumerable<Tensor> Values => _destinations.Select(d => d.Tensor);

    /// <summary>The score tensor of a destination module (shared, not a copy).</summary>
    public Tensor this[string key] => For(key).Tensor;

    /// <summary>The score tensor of a destination module (shared, not a copy).</summary>
    public Tensor this[DestinationModule module] => For(module).Tensor;

    /// <summary>The scores of a destination module.</summary>
    /// <exception cref="KeyNotFoundException">The graph has no such destination module.</exception>
    public DestinationScores For(string moduleName) =>
        _byName.TryGetValue(moduleName, out var d)
            ? d
            : throw new KeyNotFoundException($"No scores for '{moduleName}': it is not a destination module of this graph.");

    /// <summary>The scores of a destination module.</summary>
    public DestinationScores For(DestinationModule module) =>
        For(module?.ModuleName ?? throw new ArgumentNullException(nameof(module)));

    /// <summary>The scores of a destination module, as the kind <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The module's axes call for another kind (the message names both).</exception>
    public T For<T>(DestinationModule module)
        where T : DestinationScores
    {
        var scores = For(module);
        return scores as T ?? throw new InvalidOperationException(
            $"Destination '{scores.Name}' has axes {scores.Destination.DescribeShape()}: its scores are " +
            $"{scores.GetType().Name}, not {typeof(T).Name}.");
    }

    /// <summary>The destinations whose scores are of kind <typeparamref name="T"/>, in graph order.</summary>
    public IEnumerable<T> OfKind<T>()
        where T : DestinationScores => _destinations.OfType<T>();

    /// <summary>A new set of scores filled with <paramref name="value"/>, on <paramref name="device"/> (CPU by default).</summary>
    public static PruneScores Filled(ModelGraph graph, double value = 0, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return new PruneScores(
            graph, graph.DestModules.Select(m => DestinationScores.Filled(m, value, device, dtype)).ToArray());
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

        foreach (var m in graph.DestModules)
        {
            if (!tensors.TryGetValue(m.ModuleName, out var t))
            {
                throw new ArgumentException($"No scores given for destination module '{m.ModuleName}' {m.DescribeShape()}.");
            }

            DestinationScores.CheckTensor(m, t);
        }

        // Checked first, so that a failure leaves every tensor with its caller.
        return new PruneScores(
            graph, graph.DestModules.Select(m => DestinationScores.Create(m, tensors[m.ModuleName])).ToArray());
    }

    /// <summary>
    /// Assembles scores from one <see cref="DestinationScores"/> per destination module of <paramref name="graph"/>
    /// (in any order), taking ownership of them.
    /// </summary>
    /// <exception cref="ArgumentException">A module is missing, given twice, or not of this graph.</exception>
    public static PruneScores FromDestinations(ModelGraph graph, IEnumerable<DestinationScores> destinations)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(destinations);
        var byName = new Dictionary<string, DestinationScores>(StringComparer.Ordinal);
        foreach (var d in destinations)
        {
            if (!graph.TryGetDestModule(d.Name, out var module) || !module.MaskShape.SequenceEqual(d.Shape))
            {
                throw new ArgumentException($"{d} is not a destination module of this graph.", nameof(destinations));
            }

            if (!byName.TryAdd(d.Name, d))
            {
                throw new ArgumentException($"Scores for destination '{d.Name}' are given twice.", nameof(destinations));
            }
        }

        var missing = graph.DestModules.FirstOrDefault(m => !byName.ContainsKey(m.ModuleName));
        if (missing is not null)
        {
            throw new ArgumentException($"No scores given for destination module '{missing.ModuleName}' {missing.DescribeShape()}.", nameof(destinations));
        }

        return new PruneScores(graph, graph.DestModules.Select(m => byName[m.ModuleName]).ToArray());
    }

    /// <summary>Checks that a tensor has exactly a module's mask shape (and a floating-point dtype).</summary>
    /// <exception cref="ArgumentException">Naming the module, the expected and the found shape.</exception>
    public static void CheckShape(DestinationModule module, Tensor tensor) => DestinationScores.CheckTensor(module, tensor);

    /// <summary>The score of one edge (reads one scalar: fine for reports, not for hot loops).</summary>
    public float ScoreOf(Edge edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        using var v = For(edge.Dest.ModuleName)[edge];
        return v.to_type(ScalarType.Float32).ToSingle();
    }

    /// <summary>Sets the score of one edge.</summary>
    public void Set(Edge edge, double value)
    {
        ArgumentNullException.ThrowIfNull(edge);
        using var _ = torch.no_grad();
        using var element = For(edge.Dest.ModuleName)[edge];
        element.fill_(value);
    }

    /// <summary>All scores in flat order (<see cref="ModelGraph.FlatEdges"/>), signed: <c>[n_edges]</c>.</summary>
    public Tensor Flatten()
    {
        var parts = _destinations.Select(d => d.Tensor.flatten()).ToArray();
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
        foreach (var d in _destinations)
        {
            using var finite = d.Tensor.isfinite();
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
        using var scope = torch.NewDisposeScope();
        return new PruneScores(Graph, _destinations.Select(d =>
        {
            var moved = dtype is ScalarType dt ? d.Tensor.to(dt, device, copy: true) : d.Tensor.to(device, copy: true);
            return DestinationScores.Create(d.Destination, moved.detach());
        }).ToArray());
    }

    /// <summary>A copy of the scores on the CPU as float32.</summary>
    public PruneScores ToCpu() => To(torch.CPU, ScalarType.Float32);

    /// <inheritdoc />
    public bool ContainsKey(string key) => _byName.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out Tensor value)
    {
        var found = _byName.TryGetValue(key, out var d);
        value = d?.Tensor!;
        return found;
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() =>
        _destinations.Select(d => new KeyValuePair<string, Tensor>(d.Name, d.Tensor)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var d in _destinations)
        {
            d.Dispose();
        }
    }
}
