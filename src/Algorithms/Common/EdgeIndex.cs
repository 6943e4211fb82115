using AutoCircuit.Graph;

namespace AutoCircuit.Algorithms;

/// <summary>Positions of edges in their destination's flattened (row-major) mask.</summary>
internal static class EdgeIndex
{
    /// <summary>Row-major position of <paramref name="edge"/> in its destination module's mask.</summary>
    public static long InModule(DestinationModule module, Edge edge)
    {
        var index = edge.PatchIndex;
        long pos = 0;
        for (var i = 0; i < index.Length; i++)
        {
            pos = (pos * module.MaskShape[i]) + index[i];
        }

        return pos;
    }

    /// <summary>
    /// Position of <paramref name="edge"/> in flat score order (destination modules in graph order, each
    /// row-major): the order of <c>PruneScores.Flatten()</c> and of the concatenated flattened masks.
    /// </summary>
    public static long Flat(ModelGraph graph, Edge edge)
    {
        var module = graph.DestModule(edge.Dest.ModuleName);
        return graph.FlatOffset(module) + InModule(module, edge);
    }
}
