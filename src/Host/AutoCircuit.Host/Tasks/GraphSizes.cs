using AutoCircuit.Engine;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Graph;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Transformers;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tasks;

/// <summary>The size of one of a model's graphs.</summary>
/// <param name="Graph">Which graph, e.g. <c>factorized, separate Q/K/V</c>.</param>
/// <param name="Sources">Source nodes.</param>
/// <param name="Destinations">Destination nodes.</param>
/// <param name="Edges">Edges without token positions (with them: this many per position).</param>
internal sealed record GraphSize(string Graph, int Sources, int Destinations, long Edges);

/// <summary>
/// The graphs of a model, from its config alone where it has one (a Hugging Face folder's <c>config.json</c>, or a known
/// real config such as <c>llama-3.1-8b</c>: no weights are read), for <c>list --model</c>.
/// </summary>
internal static class GraphSizes
{
    /// <summary>The known real configs (<c>list --model NAME</c>, <c>random-checkpoint --config NAME</c>).</summary>
    public static IEnumerable<string> KnownConfigNames => KnownConfigs.Names;

    /// <summary>The description of <paramref name="spec"/> and the sizes of its factorized (separate and joint Q/K/V) and residual graphs.</summary>
    /// <exception cref="AutoCircuitException">Unknown name, or a config that cannot be read.</exception>
    public static (string Description, IReadOnlyList<GraphSize> Graphs) Of(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        HfConfig? cfg = null;
        var name = spec;
        if (Directory.Exists(spec) && File.Exists(Path.Combine(spec, "config.json")))
        {
            cfg = HfConfig.Load(Path.Combine(spec, "config.json"));
            name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(spec)));
        }
        else if (KnownConfigs.Find(spec) is { } known)
        {
            cfg = known;
        }

        if (cfg is not null)
        {
            var config = HfCheckpoint.ReadConfig(cfg, name).Config;
            return (config.Describe(), Sizes(TransformerGraph.Factorized(config, true), TransformerGraph.Factorized(config, false), TransformerGraph.Residual(config)));
        }

        using var loaded = ModelCatalog.Load(spec, CPU);
        var m = loaded.Model;
        return (m.Description, Sizes(m.FactorizedNodes(true), m.IsTransformer ? m.FactorizedNodes(false) : null, m.ResidualNodes()));
    }

    private static List<GraphSize> Sizes(GraphNodes separate, GraphNodes? joint, GraphNodes residual)
    {
        var sizes = new List<GraphSize> { Size("factorized, separate Q/K/V", separate, true) };
        if (joint is not null)
        {
            sizes.Add(Size("factorized, joint Q/K/V", joint, true));
        }

        sizes.Add(Size("residual", residual, false));
        return sizes;
    }

    private static GraphSize Size(string label, GraphNodes nodes, bool factorized) =>
        new(label, nodes.Srcs.Count, nodes.Dests.Count, ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized).EdgeCount);
}
