using AutoCircuit.Graph;
using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// The scores of one destination module: exactly one tensor of the module's mask shape
/// <c>[seq?][head?][src]</c>, whose axes are part of the type. There are four kinds, one per
/// combination of the optional axes: <see cref="SrcScores"/> <c>[src]</c>, <see cref="HeadSrcScores"/>
/// <c>[head, src]</c>, <see cref="SeqSrcScores"/> <c>[seq, src]</c> and <see cref="SeqHeadSrcScores"/>
/// <c>[seq, head, src]</c>; <see cref="PruneScores"/> hands out the right one for each destination.
/// </summary>
/// <remarks>
/// <para>The shape, kind and dtype are checked once, in the constructor: a tensor of other axes (a
/// <c>[head, src]</c> tensor for a <c>[src]</c> destination, say) is an <see cref="ArgumentException"/> that
/// names the destination and both shapes. Writes never broadcast silently: <see cref="Add"/> and
/// <see cref="CopyFrom"/> take exactly the destination's shape, and the methods that repeat a vector over
/// the head and position axes say so in their names (<see cref="AddPerSource"/>, <see cref="AddPerGraphSource"/>).
/// Axis accessors exist only on the kinds that have the axis (<c>Head(h)</c> on <see cref="HeadSrcScores"/>
/// and <see cref="SeqHeadSrcScores"/>, ...), so asking a <c>[src]</c> destination for a head does not compile.</para>
/// <para>Accessors return views (new <see cref="Tensor"/> handles sharing storage with the scores): writing
/// into them writes the scores. Dispose them, or create them inside a <c>torch.NewDisposeScope()</c>.
/// The instance owns its tensor and disposes it with itself.</para>
/// </remarks>
public abstract class DestinationScores : IDisposable
{
    private Tensor? _tensor;

    /// <summary>Checks and takes ownership of <paramref name="scores"/> (it is detached from any dispose scope).</summary>
    /// <exception cref="ArgumentException">The destination is of another kind, or the tensor has another shape or a non-floating dtype.</exception>
    private protected DestinationScores(DestinationModule destination, Tensor scores, ScoreAxes axes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(scores);
        if (destination.Axes != axes)
        {
            throw new ArgumentException(
                $"Destination '{destination.ModuleName}' has axes {destination.DescribeShape()}, so its scores are " +
                $"{KindName(destination.Axes)}, not {KindName(axes)}.",
                nameof(destination));
        }

        CheckTensor(destination, scores);
        Destination = destination;
        _tensor = scores.DetachFromDisposeScope();
    }

    /// <summary>The destination module these scores belong to.</summary>
    public DestinationModule Destination { get; }

    /// <summary>The destination's hook point name, e.g. <c>blocks.1.hook_q_input</c> (the key in score files).</summary>
    public string Name => Destination.ModuleName;

    /// <summary>Which axes the tensor has (fixed by the type).</summary>
    public ScoreAxes Axes => Destination.Axes;

    /// <summary>The tensor's shape: the destination's mask shape.</summary>
    public long[] Shape => Destination.MaskShape;

    /// <summary>Length of the <c>src</c> axis: the number of sources feeding this destination.</summary>
    public int Sources => Destination.InSrcCount;

    /// <summary>Graph-wide index (<see cref="SrcNode.SrcIndex"/>) of the source at position 0 of the <c>src</c> axis.</summary>
    public int FirstSource => Destination.InSrcStart;

    /// <summary>Number of edges into this destination (elements of the tensor).</summary>
    public long EdgeCount => Destination.EdgeCount;

    /// <summary>The scores (owned by this instance; shape <see cref="Shape"/>).</summary>
    /// <exception cref="ObjectDisposedException">The scores were disposed.</exception>
    public Tensor Tensor => _tensor ?? throw new ObjectDisposedException(ToString());

    /// <summary>The score of one edge into this destination: a 0-d view.</summary>
    /// <exception cref="ArgumentException">The edge goes into another destination, or its token position does not fit the axes.</exception>
    public Tensor this[Edge edge]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(edge);
            if (!string.Equals(edge.Dest.ModuleName, Name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Edge {edge} goes into '{edge.Dest.ModuleName}', not into destination '{Name}'.", nameof(edge));
            }

            if ((edge.SeqIndex is not null) != Axes.HasFlag(ScoreAxes.Seq))
            {
                throw new ArgumentException(
                    $"Edge {edge} {(edge.SeqIndex is null ? "has no" : "has a")} token position, but destination '{Name}' " +
                    $"{(Axes.HasFlag(ScoreAxes.Seq) ? "has" : "has no")} seq axis {Destination.DescribeShape()}.",
                    nameof(edge));
            }

            return Tensor[edge.PatchIndex.Select(i => TensorIndex.Single(i)).ToArray()];
        }
    }

    /// <summary>The kind of scores a destination of these axes has, e.g. <c>HeadSrcScores</c>.</summary>
    public static string KindName(ScoreAxes axes) => axes switch
    {
        ScoreAxes.Src => nameof(SrcScores),
        ScoreAxes.Head | ScoreAxes.Src => nameof(HeadSrcScores),
        ScoreAxes.Seq | ScoreAxes.Src => nameof(SeqSrcScores),
        ScoreAxes.Seq | ScoreAxes.Head | ScoreAxes.Src => nameof(SeqHeadSrcScores),
        _ => throw new ArgumentOutOfRangeException(nameof(axes), axes, "Score axes always include Src."),
    };

    /// <summary>Wraps a tensor as the scores of <paramref name="destination"/>, as the kind its axes call for.</summary>
    /// <exception cref="ArgumentException">The tensor does not have exactly the destination's shape, or is not floating-point.</exception>
    public static DestinationScores Create(DestinationModule destination, Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return destination.Axes switch
        {
            ScoreAxes.Src => new SrcScores(destination, scores),
            ScoreAxes.Head | ScoreAxes.Src => new HeadSrcScores(destination, scores),
            ScoreAxes.Seq | ScoreAxes.Src => new SeqSrcScores(destination, scores),
            _ => new SeqHeadSrcScores(destination, scores),
        };
    }

    /// <summary>New scores for <paramref name="destination"/> filled with <paramref name="value"/>.</summary>
    public static DestinationScores Filled(
        DestinationModule destination, double value = 0, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var scope = torch.NewDisposeScope();
        return Create(destination, torch.full(destination.MaskShape, value, dtype: dtype, device: device));
    }

    /// <summary>
    /// Checks that <paramref name="scores"/> could be this destination's scores: exactly its mask shape
    /// (no broadcasting) and a floating-point dtype.
    /// </summary>
    /// <exception cref="ArgumentException">Naming the destination, the expected and the found shape or dtype.</exception>
    public static void CheckTensor(DestinationModule destination, Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(scores);
        if (!scores.HasSizes(destination.MaskShape))
        {
            throw new ArgumentException(
                $"Scores for destination '{destination.ModuleName}' must have shape {destination.DescribeShape()} " +
                $"but the tensor has shape [{string.Join(", ", scores.shape)}].",
                nameof(scores));
        }

        if (!scores.is_floating_point())
        {
            throw new ArgumentException(
                $"Scores for destination '{destination.ModuleName}' must be a floating-point tensor but are {scores.dtype}.",
                nameof(scores));
        }
    }

    /// <summary>Calls the function for this destination's kind: every kind must be handled (checked by the compiler).</summary>
    public abstract TResult Match<TResult>(
        Func<SrcScores, TResult> src,
        Func<HeadSrcScores, TResult> headSrc,
        Func<SeqSrcScores, TResult> seqSrc,
        Func<SeqHeadSrcScores, TResult> seqHeadSrc);

    /// <summary>The scores of every edge from one source: a view of shape <c>[seq?][head?]</c> (0-d for <see cref="SrcScores"/>).</summary>
    /// <exception cref="ArgumentException">The source does not feed this destination.</exception>
    public Tensor Source(SrcNode source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var local = source.SrcIndex - FirstSource;
        if (local < 0 || local >= Sources)
        {
            throw new ArgumentException(
                $"Source '{source.Name}' (index {source.SrcIndex}) does not feed destination '{Name}', whose sources are " +
                $"{FirstSource}..{FirstSource + Sources - 1}.",
                nameof(source));
        }

        return Tensor.select(-1, local);
    }

    /// <summary>Adds a tensor of exactly this destination's shape, element by element.</summary>
    /// <exception cref="ArgumentException">The tensor has another shape (it is never broadcast).</exception>
    public void Add(Tensor scores)
    {
        CheckTensor(Destination, scores);
        Tensor.add_(scores);
    }

    /// <summary>Overwrites the scores with a tensor of exactly this destination's shape.</summary>
    /// <exception cref="ArgumentException">The tensor has another shape (it is never broadcast).</exception>
    public void CopyFrom(Tensor scores)
    {
        CheckTensor(Destination, scores);
        Tensor.copy_(scores);
    }

    /// <summary>Sets every score to <paramref name="value"/>.</summary>
    public void Fill(double value) => Tensor.fill_(value);

    /// <summary>
    /// Adds one value per incoming source (<c>[src]</c>, <see cref="Sources"/> long) to every edge from that source:
    /// the vector is repeated over the head and position axes.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="perSource"/> is not <c>[src]</c>.</exception>
    public void AddPerSource(Tensor perSource)
    {
        ArgumentNullException.ThrowIfNull(perSource);
        if (perSource.ndim != 1 || perSource.size(0) != Sources)
        {
            throw new ArgumentException(
                $"AddPerSource on destination '{Name}' {Destination.DescribeShape()} needs one value per incoming source " +
                $"[src={Sources}] but the tensor has shape [{string.Join(", ", perSource.shape)}].",
                nameof(perSource));
        }

        Tensor.add_(perSource); // [src] broadcast over the leading [seq?][head?] axes, as the name says
    }

    /// <summary>
    /// Adds one value per source of the whole graph (<c>[n_src]</c>, <see cref="DestinationModule.GraphSourceCount"/>
    /// long, indexed by <see cref="SrcNode.SrcIndex"/>): each edge gets its source's value, repeated over heads and
    /// positions. Sources that do not feed this destination are ignored.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="perGraphSource"/> is not <c>[n_src]</c>.</exception>
    public void AddPerGraphSource(Tensor perGraphSource)
    {
        ArgumentNullException.ThrowIfNull(perGraphSource);
        if (perGraphSource.ndim != 1 || perGraphSource.size(0) != Destination.GraphSourceCount)
        {
            throw new ArgumentException(
                $"AddPerGraphSource on destination '{Name}' needs one value per source of the graph " +
                $"[n_src={Destination.GraphSourceCount}] but the tensor has shape [{string.Join(", ", perGraphSource.shape)}].",
                nameof(perGraphSource));
        }

        using var incoming = perGraphSource.narrow(0, FirstSource, Sources); // [src]
        Tensor.add_(incoming);
    }

    /// <inheritdoc />
    public override string ToString() => $"{GetType().Name} {Name} {Destination.DescribeShape()}";

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the tensor.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _tensor?.Dispose();
            _tensor = null;
        }
    }

    /// <summary>The head index of one of this module's destination nodes.</summary>
    private protected int HeadOf(DestNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!string.Equals(node.ModuleName, Name, StringComparison.Ordinal) || node.HeadIndex is not int head)
        {
            throw new ArgumentException($"Node '{node.Name}' is not a head of destination '{Name}'.", nameof(node));
        }

        return head;
    }

    /// <summary>Checks an index into an axis of this destination.</summary>
    private protected void CheckIndex(string axis, int index, long length)
    {
        if (index < 0 || index >= length)
        {
            throw new ArgumentOutOfRangeException(
                axis, index, $"Destination '{Name}' {Destination.DescribeShape()} has {axis} 0..{length - 1}.");
        }
    }
}
