using System.Text;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Progress;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Comparison;

/// <summary>Something to compare: an algorithm to run, or scores already computed.</summary>
/// <param name="Label">Its label in the comparison.</param>
public abstract record ComparisonCandidate(string Label);

/// <summary>An algorithm to run on the train split.</summary>
/// <param name="Label">Its label.</param>
/// <param name="Entry">The catalog entry.</param>
/// <param name="Configured">The configured algorithm.</param>
/// <param name="Spec">The spec as written.</param>
public sealed record AlgorithmCandidate(string Label, CatalogEntry Entry, ConfiguredAlgorithm Configured, string Spec)
    : ComparisonCandidate(Label);

/// <summary>Scores read from a file (the candidate owns them until the comparison takes them).</summary>
/// <param name="Label">Its label.</param>
/// <param name="Loaded">The scores.</param>
/// <param name="Path">The file.</param>
/// <param name="Format">The format it was read as.</param>
public sealed record ScoresCandidate(string Label, LoadedScores Loaded, string Path, ScoresFormat Format) : ComparisonCandidate(Label);

/// <summary>
/// Runs and evaluates the candidates of a comparison: each algorithm on the train split (seeded, timed, its memory
/// measured), then every set of scores' circuits on the test split under each patch type, the ROC curve against the
/// known circuit, and the agreement of every pair.
/// </summary>
public static class ComparisonEngine
{
    /// <summary>Compares <paramref name="candidates"/> on <paramref name="model"/> and <paramref name="data"/>.</summary>
    /// <param name="model">The patchable model.</param>
    /// <param name="data">Train and test batches.</param>
    /// <param name="subject">The description of model, data and known circuit.</param>
    /// <param name="candidates">What to compare, in report order.</param>
    /// <param name="settings">How.</param>
    /// <param name="env">Logs, progress, cancellation.</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static ComparisonResult Run(
        PatchableModel model,
        TaskData data,
        ComparisonSubject subject,
        IReadOnlyList<ComparisonCandidate> candidates,
        ComparisonSettings settings,
        RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(env);
        var compared = new List<ComparedAlgorithm>(candidates.Count);
        var stems = new HashSet<string>(StringComparer.Ordinal);
        env.Progress.Plan(candidates.SelectMany(c =>
            (c is AlgorithmCandidate ? new[] { (c.Label, StageKind.Score) } : [])
                .Concat(settings.PatchTypes.Select(_ => (c.Label, StageKind.Evaluate)))));
        try
        {
            foreach (var candidate in candidates)
            {
                env.CancellationToken.ThrowIfCancellationRequested();
                var stem = UniqueStem(candidate.Label, stems);
                ComparedAlgorithm algorithm;
                using (var stage = candidate is AlgorithmCandidate ? env.Progress.BeginStage(candidate.Label, StageKind.Score) : null)
                {
                    algorithm = candidate switch
                    {
                        AlgorithmCandidate a => RunAlgorithm(model, data, subject, a, stem, env),
                        ScoresCandidate s => FromScores(s, stem),
                        _ => throw new ArgumentException($"Unknown candidate {candidate}.", nameof(candidates)),
                    };
                    if (algorithm.Scores is null)
                    {
                        stage?.Fail();
                    }
                }

                compared.Add(algorithm);
                if (algorithm.Scores is null)
                {
                    foreach (var _ in settings.PatchTypes)
                    {
                        env.Progress.SkipStage(candidate.Label, StageKind.Evaluate);
                    }

                    env.Error.WriteLine($"error: algorithm '{algorithm.Label}' failed: {algorithm.Error}");
                    continue;
                }

                compared[^1] = Evaluate(model, data, subject, settings, algorithm, env);
            }

            return new ComparisonResult(subject, settings, compared);
        }
        catch
        {
            foreach (var c in compared)
            {
                c.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// A label for an algorithm spec: its key when written bare, else the spec itself (a preset name, or key with
    /// options); made unique with <c>#2</c>, <c>#3</c>, …
    /// </summary>
    internal static string Label(string spec, string key, ISet<string> used)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(used);
        var baseLabel = spec.Trim() == key ? key : spec.Trim();
        var label = baseLabel;
        for (var i = 2; !used.Add(label); i++)
        {
            label = $"{baseLabel} #{i}";
        }

        return label;
    }

    /// <summary>A file-name-safe, unique stem for a label (letters, digits, <c>.</c>, <c>-</c>, <c>_</c>).</summary>
    internal static string UniqueStem(string label, ISet<string> used)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(used);
        var sb = new StringBuilder(label.Length);
        foreach (var c in label)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        var stem = sb.ToString().Trim('_', '.');
        if (stem.Length == 0)
        {
            stem = "scores";
        }

        var unique = stem;
        for (var i = 2; !used.Add(unique); i++)
        {
            unique = $"{stem}-{i}";
        }

        return unique;
    }

    private static ComparedAlgorithm RunAlgorithm(
        PatchableModel model, TaskData data, ComparisonSubject subject, AlgorithmCandidate candidate, string stem, RunEnvironment env)
    {
        var descriptor = candidate.Entry.Descriptor;
        var options = candidate.Configured.Options;
        if (descriptor.RequiresKnownEdges && subject.KnownEdges is null)
        {
            return new ComparedAlgorithm
            {
                Label = candidate.Label,
                FileStem = stem,
                Key = descriptor.Key,
                Name = descriptor.Name,
                Spec = candidate.Spec,
                Origin = candidate.Entry.Origin,
                Options = options,
                Error = "needs a task with a known circuit, and this task has none (give --circuit)",
            };
        }

        env.Error.WriteLine($"[{candidate.Label}] running on {data.Train.Count} train batches");
        var context = new PruneContext
        {
            Model = model,
            TrainBatches = data.Train,
            KnownEdges = subject.KnownEdges,
            Seed = subject.Seed,
            Progress = env.Progress,
            CancellationToken = env.CancellationToken,
            Log = line => env.Error.WriteLine($"[{candidate.Label}] {line}"),
        };
        var (outcome, usage) = ResourceMeter.Measure(() => AlgorithmRunner.Run(candidate.Configured.Algorithm, context));
        return new ComparedAlgorithm
        {
            Label = candidate.Label,
            FileStem = stem,
            Key = descriptor.Key,
            Name = descriptor.Name,
            Spec = candidate.Spec,
            Origin = candidate.Entry.Origin,
            Options = options,
            Scores = outcome.Scores,
            Flat = outcome.Scores is { } s ? FlatScores.From(s) : null,
            Error = outcome.Error,
            Usage = usage,
        };
    }

    private static ComparedAlgorithm FromScores(ScoresCandidate candidate, string stem) => new()
    {
        Label = candidate.Label,
        FileStem = stem,
        Key = candidate.Loaded.Algorithm,
        Origin = Path.GetFullPath(candidate.Path),
        ScoresPath = Path.GetFullPath(candidate.Path),
        ScoresFormat = candidate.Format,
        Options = candidate.Loaded.Options.Select(o => KeyValuePair.Create(o.Key, (object?)o.Value)).ToList(),
        Scores = candidate.Loaded.Scores,
        Flat = FlatScores.From(candidate.Loaded.Scores),
    };

    private static ComparedAlgorithm Evaluate(
        PatchableModel model, TaskData data, ComparisonSubject subject, ComparisonSettings settings, ComparedAlgorithm algorithm,
        RunEnvironment env)
    {
        var scores = algorithm.Scores!;
        var evaluations = new Dictionary<PatchType, CircuitEvaluation>();
        if (data.Test.Count == 0)
        {
            env.Error.WriteLine($"warning: the test split holds no complete batch: circuits of '{algorithm.Label}' are not evaluated.");
        }
        else
        {
            // Unlike auto-circuit's edge_counts_util (which leaves them out of sweeps of one or two sizes, e.g. the score
            // groups of ground-truth), a comparison always evaluates 0 and every edge: each curve then runs from the
            // baseline to the full model and has an area, so that algorithms can be compared.
            var counts = settings.Evaluation.Sizes(model.Graph.EdgeCount, scores, withEnds: true, subject.KnownEdges?.Count);
            foreach (var patchType in settings.PatchTypes)
            {
                var options = settings.Evaluation.Circuits with { PatchType = patchType };
                using var stage = env.Progress.BeginStage(algorithm.Label, StageKind.Evaluate);
                evaluations[patchType] = CircuitEvaluator.Evaluate(
                    model, data.Test, scores, counts, options, subject.KnownEdges,
                    new PrefixedProgress(env.Progress, $"{EvaluationNames.PatchTypeName(patchType)} patch"),
                    env.CancellationToken, settings.Evaluation.Selection, settings.Evaluation.Protocol,
                    settings.Evaluation.BootstrapResamples, settings.Evaluation.BootstrapSeed);
            }
        }

        RocCurve? roc = subject.KnownEdges is null ? null : Roc.Measure(scores, subject.KnownEdges);
        return new ComparedAlgorithm
        {
            Label = algorithm.Label,
            FileStem = algorithm.FileStem,
            Key = algorithm.Key,
            Name = algorithm.Name,
            Spec = algorithm.Spec,
            Origin = algorithm.Origin,
            ScoresPath = algorithm.ScoresPath,
            ScoresFormat = algorithm.ScoresFormat,
            Options = algorithm.Options,
            Scores = algorithm.Scores,
            Flat = algorithm.Flat,
            Error = algorithm.Error,
            Usage = algorithm.Usage,
            Evaluations = evaluations,
            Roc = roc,
        };
    }

    /// <summary>Names the algorithm and patch type in progress lines.</summary>
    private sealed class PrefixedProgress(IProgressSink inner, string label) : IProgressSink
    {
        public IProgressTask Start(string description, long total) => inner.Start($"{label}: {description}", total);

        public IProgressTask Start(string description, long total, string? unit, IProgressTask? parent = null) =>
            inner.Start($"{label}: {description}", total, unit, parent);
    }
}

/// <summary>Builds comparison candidates from specs and files.</summary>
public static class ComparisonCandidates
{
    /// <summary>
    /// The algorithms of <paramref name="specs"/>; <c>all</c> stands for every algorithm of the catalog, the built-ins
    /// first, then the loaded plugins' in search order (see <see cref="AlgorithmCatalog.BuiltInsThenPlugins"/>); those
    /// that need a known circuit only when <paramref name="hasKnownCircuit"/>; <c>eap</c>, the slow per-edge oracle of
    /// <c>mask-gradient</c>, only when asked for by name.
    /// </summary>
    /// <exception cref="AutoCircuitException">An unknown algorithm or a bad option.</exception>
    public static List<ComparisonCandidate> FromSpecs(
        AlgorithmCatalog catalog, IEnumerable<string> specs, bool hasKnownCircuit, ISet<string> usedLabels, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(log);
        var result = new List<ComparisonCandidate>();
        foreach (var spec in specs)
        {
            if (spec.Trim() == "all")
            {
                foreach (var e in catalog.BuiltInsThenPlugins)
                {
                    if (e.IsBuiltIn && e.Descriptor.Key == "eap")
                    {
                        continue;
                    }

                    if (e.Descriptor.RequiresKnownEdges && !hasKnownCircuit)
                    {
                        log($"all: skipping '{e.Descriptor.Key}' (it needs a known circuit; give --circuit)");
                        continue;
                    }

                    var (entry, configured) = catalog.Create(AlgorithmSpec.Parse(e.Descriptor.Key));
                    if (!hasKnownCircuit && configured.Options.Any(o => OptionValues.ToJsonText(o.Key, o.Value).Contains("true-size", StringComparison.Ordinal)))
                    {
                        log($"all: skipping '{e.Descriptor.Key}' (its default circuit sizes need a known circuit; give --circuit)");
                        continue;
                    }

                    result.Add(new AlgorithmCandidate(Label(e.Descriptor.Key, e.Descriptor.Key, usedLabels), entry, configured, e.Descriptor.Key));
                }

                continue;
            }

            var parsed = AlgorithmSpec.Parse(spec);
            var (en, conf) = catalog.Create(parsed);
            result.Add(new AlgorithmCandidate(Label(spec, en.Descriptor.Key, usedLabels), en, conf, spec));
        }

        return result;
    }

    private static string Label(string spec, string key, ISet<string> used) => ComparisonEngine.Label(spec, key, used);
}
