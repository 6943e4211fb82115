using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Plugins;

namespace AutoCircuit;

/// <summary>
/// Runs circuit-discovery algorithms the way <c>dotnet autocircuit run -a</c> runs them: the same catalog (built-ins,
/// plus plugin folders added with <see cref="LoadPlugins"/>), the same spec syntax (<c>key</c>,
/// <c>key:name=value,...</c> or a preset name such as <c>"EAP (Prob)"</c>), the same seeding, memory budget and
/// checks of the result (<c>AlgorithmRunner</c>).
/// </summary>
public static class Algorithm
{
    private static readonly Lock Gate = new();
    private static AlgorithmCatalog? _catalog;

    /// <summary>What <c>run</c> runs without <c>-a</c>: one algorithm of each family and the random baseline.</summary>
    public static IReadOnlyList<string> Defaults => RunJob.DefaultAlgorithms;

    /// <summary>The keys of every algorithm available (built-ins first, then loaded plugins).</summary>
    public static IReadOnlyList<string> Keys => [.. Catalog.BuiltInsThenPlugins.Select(e => e.Descriptor.Key)];

    private static AlgorithmCatalog Catalog
    {
        get
        {
            lock (Gate)
            {
                return _catalog ??= AlgorithmCatalog.BuiltIn();
            }
        }
    }

    /// <summary>
    /// Adds the algorithms of the plugins in <paramref name="folders"/> (what <c>--plugins</c> loads) to the catalog.
    /// </summary>
    /// <returns>The catalog's warnings (plugins that could not be loaded, say why).</returns>
    public static IReadOnlyList<string> LoadPlugins(params string[] folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        lock (Gate)
        {
            var catalog = _catalog ?? AlgorithmCatalog.BuiltIn();
            catalog.AddPlugins(PluginLoading.Load(PluginSearchPath.Resolve(folders, environmentValue: null, userFolder: null)));
            _catalog = catalog;
            return catalog.Warnings;
        }
    }

    /// <summary>
    /// Scores every edge of <paramref name="model"/>'s graph with one algorithm on the train prompts of
    /// <paramref name="source"/>.
    /// </summary>
    /// <param name="spec">An algorithm key, <c>key:name=value,...</c>, or a preset name (see <see cref="Keys"/>).</param>
    /// <param name="model">A patchable model made by <paramref name="source"/>'s <see cref="Model.Patchable"/>.</param>
    /// <param name="source">The model whose task's train prompts (and known circuit, for <c>ground-truth</c>) are used.</param>
    /// <param name="options">Options besides those in <paramref name="spec"/> (name → value as on the command line).</param>
    /// <param name="seed">The seed (<c>--seed</c>); torch is seeded with it before the algorithm runs.</param>
    /// <param name="log">Where the algorithm's log lines go; <c>null</c>: nowhere.</param>
    /// <returns>The scores, on the CPU; dispose them when done.</returns>
    /// <exception cref="AutoCircuitException">An unknown algorithm or option, or the algorithm failed (the message says why).</exception>
    public static AlgorithmScores Run(
        string spec, PatchableModel model, Model source, IReadOnlyDictionary<string, string>? options = null, long seed = 42,
        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        var text = spec;
        if (options is { Count: > 0 })
        {
            var extra = string.Join(",", options.Select(o => $"{o.Key}={o.Value}"));
            text = spec.Contains(':', StringComparison.Ordinal) ? $"{spec},{extra}" : $"{spec}:{extra}";
        }

        var (entry, configured) = Catalog.Create(AlgorithmSpec.Parse(text));
        var key = entry.Descriptor.Key;
        var knownEdges = source.KnownCircuit(model.Graph);
        if (entry.Descriptor.RequiresKnownEdges && knownEdges is null)
        {
            throw new AutoCircuitException($"Algorithm '{key}' needs a task with a known circuit, and this task has none.");
        }

        var context = new PruneContext
        {
            Model = model,
            TrainBatches = source.Prompts.Train,
            KnownEdges = knownEdges,
            Seed = seed,
            Log = log ?? (static _ => { }),
        };
        var outcome = AlgorithmRunner.Run(configured.Algorithm, context);
        if (outcome.Scores is not { } scores)
        {
            throw new AutoCircuitException($"Algorithm '{key}' failed: {outcome.Error}", ExitCode.AlgorithmFailed);
        }

        return new AlgorithmScores(key, entry.Descriptor.Name, text, configured.Options, scores, outcome.Elapsed);
    }
}
