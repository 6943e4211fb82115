using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Progress;
using AutoCircuit.Host.Reports;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// <c>dotnet autocircuit run</c>: loads the model and task, runs every requested algorithm on the
/// train split, evaluates each one's circuits on the test split, and writes <c>run.json</c>,
/// <c>scores/&lt;key&gt;.json|.safetensors</c>, <c>circuits/&lt;key&gt;.json|.csv</c>, <c>report.html</c> and the
/// requested interchange exports into a
/// results folder that appears only when the run completes.
/// </summary>
public static class RunJob
{
    /// <summary>
    /// What <c>run</c> runs without <c>--algorithm</c>: one algorithm of each family that finishes in seconds on the
    /// embedded default (activation statistics, edge attribution patching, ACDC, subnetwork probing) and the random
    /// baseline, so the report compares them; <see cref="GroundTruthKey"/> joins when the task has a known circuit.
    /// Integrated gradients (<c>IEG</c>) is left out: a hundred times slower than EAP here.
    /// </summary>
    public static IReadOnlyList<string> DefaultAlgorithms { get; } =
        ["activation-magnitude", "mask-gradient", "acdc", "subnetwork-probing", "random"];

    /// <summary>The ground-truth algorithm, added to <see cref="DefaultAlgorithms"/> when the task has a known circuit.</summary>
    public const string GroundTruthKey = "ground-truth";

    private const string RunFileName = "run.json";

    /// <summary>Runs the job.</summary>
    /// <returns><see cref="ExitCode.Ok"/>, or <see cref="ExitCode.AlgorithmFailed"/> if any algorithm failed (the others' results are kept).</returns>
    /// <exception cref="AutoCircuitException">Bad input, unknown algorithm or option, device unavailable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left behind.</exception>
    public static ExitCode Execute(RunRequest request, RunEnvironment env, AlgorithmCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        catalog = JobSetup.Catalog(request.Job, env, catalog);

        // Explicit specs are parsed before anything is loaded, so a typo fails fast.
        var specs = request.Algorithms.Count == 0 ? DefaultAlgorithms.ToList() : request.Algorithms.ToList();
        var algorithms = specs.Select(s => catalog.Create(AlgorithmSpec.Parse(s))).ToList();
        using var context = JobSetup.Prepare(request.Job, env);
        return Execute(context, request, catalog, specs, algorithms);
    }

    /// <summary>
    /// Runs <paramref name="algorithms"/> (created from <paramref name="specs"/>, in the same order; <c>ground-truth</c> is
    /// appended to both when no algorithm was asked for and the task has a known circuit) in a prepared context and
    /// commits its results folder. A sweep calls this once per cell, with the cell's context and fresh algorithms.
    /// </summary>
    internal static ExitCode Execute(
        JobContext context, RunRequest request, AlgorithmCatalog catalog, List<string> specs,
        List<(CatalogEntry Entry, ConfiguredAlgorithm Configured)> algorithms)
    {
        var env = context.Environment;
        var model = context.Model;
        var data = context.Data;
        var knownEdges = context.TaskKnownEdges();
        if (request.Algorithms.Count == 0 && knownEdges is not null)
        {
            specs.Add(GroundTruthKey);
            algorithms.Add(catalog.Create(AlgorithmSpec.Parse(GroundTruthKey)));
        }

        env.Error.WriteLine(
            $"model {context.Loaded.Model.Description} on {context.Device.type}; {(request.Job.Factorized ? "factorized" : "residual")} graph: " +
            $"{model.Graph.Srcs.Count} sources, {model.Graph.Dests.Count} destinations, {model.Graph.EdgeCount} edges" +
            (data.SeqLen is int sl ? $" ({sl} token positions)" : string.Empty) +
            $"; {(context.Prepared.Task is { } task ? $"task {task.Key}, " : string.Empty)}data {context.Prepared.Document.Path}: " +
            $"{data.Train.Count} train / {data.Test.Count} test batches of {data.BatchSize}" +
            (knownEdges is null ? string.Empty : $"; known circuit: {knownEdges.Count} edges"));

        request.Evaluation.Validate(model.Graph.EdgeCount);
        var mibSubmission = CompareJob.MibSubmissionFolder(request.Exports, context);
        if (request.Isolation == AlgorithmIsolation.Process && request.WorkerCommand is null)
        {
            throw new AutoCircuitException("--isolation process: worker processes need the dotnet-autocircuit tool to start them.");
        }

        var results = context.Results();
        var records = new List<IRunFileAlgorithm>();
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var fileNames = new List<string>(algorithms.Count);
        foreach (var (entry, _) in algorithms)
        {
            var fileName = entry.Descriptor.Key;
            for (var i = 2; !usedNames.Add(fileName); i++)
            {
                fileName = $"{entry.Descriptor.Key}-{i}";
            }

            fileNames.Add(fileName);
        }

        env.Progress.Plan(fileNames.SelectMany(f => new[] { (f, StageKind.Score), (f, StageKind.Evaluate) }));
        var compared = new List<ComparedAlgorithm>();
        var failed = false;

        // Durable per algorithm: run.json (status incomplete) lists what finished, written after its files.
        void PublishFinished()
        {
            JsonOutput.Write(
                results.PathFor(RunFileName), RunFile(context, request, knownEdges, records, complete: false), OutputJsonContext.Default.RunFile);
            results.Publish(RunFileName);
        }

        try
        {
            for (var index = 0; index < algorithms.Count; index++)
            {
                var (entry, configured) = algorithms[index];
                env.CancellationToken.ThrowIfCancellationRequested();
                var key = entry.Descriptor.Key;
                var fileName = fileNames[index];

                var pruneContext = new PruneContext
                {
                    Model = model,
                    TrainBatches = data.Train,
                    KnownEdges = knownEdges,
                    Seed = request.Job.Seed,
                    Progress = env.Progress,
                    CancellationToken = env.CancellationToken,
                    Log = line => env.Error.WriteLine($"[{key}] {line}"),
                };

                AlgorithmOutcome outcome;
                ResourceUsage? usage = null;
                if (entry.Descriptor.RequiresKnownEdges && pruneContext.KnownEdges is null)
                {
                    outcome = new AlgorithmOutcome(null, TimeSpan.Zero, "needs a task with a known circuit, and this task has none");
                    env.Progress.SkipStage(fileName, StageKind.Score);
                }
                else if (Isolated(request, entry) is { } command)
                {
                    var folder = Path.Combine(results.TempPath, ".worker-" + fileName);
                    (outcome, usage) = ResourceMeter.Measure(() => IsolatedRunner.Run(request.Job, specs[index], command, folder, model.Graph, env));
                }
                else
                {
                    using var stage = env.Progress.BeginStage(fileName, StageKind.Score);
                    (outcome, usage) = ResourceMeter.Measure(() => AlgorithmRunner.Run(configured.Algorithm, pruneContext));
                    if (outcome.Scores is null)
                    {
                        stage.Fail();
                    }
                }

                var record = new RunFileAlgorithmFailed
                {
                    Key = key,
                    Name = entry.Descriptor.Name,
                    Origin = entry.Origin,
                    Spec = specs[index],
                    Options = OptionValues.ToJson(configured.Options),
                    Seconds = Math.Round(outcome.Elapsed.TotalSeconds, 4),
                    PeakRssDeltaBytes = usage?.PeakRssDeltaBytes,
                    ManagedAllocatedBytes = usage?.ManagedAllocatedBytes,
                    Status = AlgorithmStatus.Failed,
                    Error = outcome.Error,
                };
                var evaluations = new Dictionary<PatchType, CircuitEvaluation>();
                RocCurve? roc = null;
                if (outcome.Scores is { } scores)
                {
                    var json = Path.Combine("scores", fileName + ".json");
                    var st = Path.Combine("scores", fileName + ".safetensors");
                    ScoresFile.WriteJson(results.PathFor(json), key, configured.Options, scores);
                    ScoresFile.WriteSafetensors(results.PathFor(st), key, scores);
                    var files = new List<string> { json, st };
                    var exportDir = Path.Combine("exports", fileName);
                    files.AddRange(ScoresInterchange.WriteExports(
                        Path.Combine(results.TempPath, exportDir), scores, request.Exports, CompareJob.DModel(context.Loaded), mibSubmission)
                        .Select(f => Path.Combine(exportDir, f)));
                    PrintTopEdges(env.Out, entry.Descriptor, scores, outcome.Elapsed, request.TopEdges);
                    CircuitEvaluation? evaluation;
                    string[]? circuitFiles;
                    using (env.Progress.BeginStage(fileName, StageKind.Evaluate))
                    {
                        (evaluation, circuitFiles) = EvaluateCircuits(request, env, model, data, scores, key, fileName, results, knownEdges);
                    }

                    records.Add(Scored(record, files, circuitFiles));
                    if (evaluation is not null)
                    {
                        evaluations[request.Evaluation.Circuits.PatchType] = evaluation;
                        roc = evaluation.Roc;
                    }
                }
                else
                {
                    failed = true;
                    env.Progress.SkipStage(fileName, StageKind.Evaluate);
                    records.Add(record);
                    env.Error.WriteLine($"error: algorithm '{key}' failed: {outcome.Error}");
                }

                compared.Add(new ComparedAlgorithm
                {
                    Label = fileName,
                    FileStem = fileName,
                    Key = key,
                    Name = entry.Descriptor.Name,
                    Spec = specs[index],
                    Origin = entry.Origin,
                    Options = configured.Options,
                    Scores = outcome.Scores,
                    Flat = outcome.Scores is { } sc ? FlatScores.From(sc) : null,
                    Error = outcome.Error,
                    Usage = usage,
                    Evaluations = evaluations,
                    Roc = roc,
                });
                PublishFinished();
            }

            WriteReport(context, request, knownEdges, compared);
        }
        catch when (results.Published)
        {
            env.Error.WriteLine(
                $"note: the results of the {records.Count} algorithm{(records.Count == 1 ? string.Empty : "s")} that finished are kept " +
                $"in {results.FinalPath} (run.json status \"incomplete\").");
            throw;
        }
        finally
        {
            foreach (var c in compared)
            {
                c.Dispose();
            }
        }

        JsonOutput.Write(
            results.PathFor(RunFileName), RunFile(context, request, knownEdges, records, complete: true), OutputJsonContext.Default.RunFile);
        results.Commit(RunFileName);
        env.AnnounceResults(results.FinalPath, Path.Combine(results.FinalPath, "report.html"));
        return failed ? ExitCode.AlgorithmFailed : ExitCode.Ok;
    }

    /// <summary>The command that starts a worker for <paramref name="entry"/>, or <c>null</c> to run it in this process.</summary>
    private static IReadOnlyList<string>? Isolated(RunRequest request, CatalogEntry entry) => request.Isolation switch
    {
        AlgorithmIsolation.Process => request.WorkerCommand,
        AlgorithmIsolation.Auto when entry.Origin != AlgorithmCatalog.BuiltInOrigin => request.WorkerCommand,
        _ => null,
    };

    /// <summary>The record of an algorithm that produced scores: <paramref name="failed"/>'s fields, status ok, and its files.</summary>
    private static RunFileAlgorithmScored Scored(RunFileAlgorithmFailed failed, List<string> files, string[]? circuits) => new()
    {
        Key = failed.Key,
        Name = failed.Name,
        Origin = failed.Origin,
        Spec = failed.Spec,
        Options = failed.Options,
        Seconds = failed.Seconds,
        PeakRssDeltaBytes = failed.PeakRssDeltaBytes,
        ManagedAllocatedBytes = failed.ManagedAllocatedBytes,
        Status = AlgorithmStatus.Ok,
        Error = failed.Error,
        Files = files,
        Circuits = circuits,
    };

    /// <summary>Evaluates an algorithm's circuits on the test split: <c>circuits/&lt;file&gt;.json|.csv</c>.</summary>
    private static (CircuitEvaluation? Evaluation, string[]? Files) EvaluateCircuits(
        RunRequest request, RunEnvironment env, PatchableModel model, TaskData data, PruneScores scores, string key,
        string fileName, ResultsDirectory results, IReadOnlySet<Edge>? knownEdges)
    {
        if (data.Test.Count == 0)
        {
            env.Error.WriteLine($"warning: the test split holds no complete batch: circuits of '{key}' are not evaluated.");
            return (null, null);
        }

        var (evaluation, files) = CircuitReport.EvaluateAndWrite(
            model, data.Test, scores, key, fileName, request.Evaluation, results, knownEdges, env.Progress,
            env.CancellationToken, withEnds: true);
        return (evaluation, files);
    }

    /// <summary><c>report.html</c>: the same report as <c>compare</c>, for this run's algorithms and patch type.</summary>
    private static void WriteReport(
        JobContext context, RunRequest request, IReadOnlySet<Edge>? knownEdges, List<ComparedAlgorithm> compared)
    {
        var data = context.Data;
        var subject = new ComparisonSubject
        {
            ModelSpec = context.Loaded.Name,
            ModelDescription = context.Loaded.Model.Description,
            Dataset = context.Prepared.Document.Path,
            Graph = context.Graph,
            SeqLabels = data.SeqLabels,
            KnownEdges = knownEdges,
            KnownCircuitSource = context.Prepared.Task is { } task ? $"task {task.Key}" : null,
            TrainPrompts = data.Train.Count * data.BatchSize,
            TestPrompts = data.Test.Count * data.BatchSize,
            Seed = request.Job.Seed,
            Device = context.Device.ToString(),
        };
        var settings = new ComparisonSettings
        {
            Evaluation = request.Evaluation,
            PatchTypes = [request.Evaluation.Circuits.PatchType],
            TopEdges = Math.Max(1, request.TopEdges),
        };

        // The result does not own the algorithms here: the caller disposes them.
        var comparison = new ComparisonResult(subject, settings, compared);
        HtmlReport.Write(context.Results().PathFor("report.html"), comparison, "run", request.Job.CommandLine);
    }

    private static void PrintTopEdges(TextWriter output, AlgorithmDescriptor d, PruneScores scores, TimeSpan elapsed, int top)
    {
        var ranked = scores.RankedEdges(top);
        output.WriteLine($"## {d.Key} ({d.Name}) — {scores.EdgeCount} edges scored in {elapsed.TotalSeconds:0.###} s");
        output.WriteLine();
        output.WriteLine("| rank | edge | position | score |");
        output.WriteLine("|---:|---|---:|---:|");
        var rank = 1;
        var maxFloat = false;
        foreach (var (edge, score) in ranked)
        {
            maxFloat |= NumberText.IsMaxFloat(score);
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {rank++} | {edge.Name} | {(edge.SeqIndex is int s ? s.ToString(CultureInfo.InvariantCulture) : "all")} | {NumberText.Score(score)} |"));
        }

        output.WriteLine();
        if (maxFloat)
        {
            output.WriteLine(NumberText.MaxFloatNote(d.Key));
            output.WriteLine();
        }
    }

    private static RunFile RunFile(
        JobContext context, RunRequest request, IReadOnlySet<Edge>? knownEdges, IReadOnlyList<IRunFileAlgorithm> algorithms,
        bool complete)
    {
        var graph = context.Graph;
        var circuits = request.Evaluation.Circuits;
        return new RunFile
        {
            Tool = "dotnet-autocircuit",
            Versions = ToolVersions.Current(withAbstractions: true),
            CommandLine = request.Job.CommandLine,
            StartedUtc = context.StartedUtc,
            FinishedUtc = JobContext.NowUtc,
            Status = complete ? "complete" : "incomplete",
            Device = context.Device.ToString(),
            Performance = context.PerformanceInfo(),
            Seed = request.Job.Seed,
            Model = context.ModelInfo(),
            Graph = new RunFileGraph
            {
                Factorized = graph.IsFactorized,
                SeparateQkv = request.Job.SeparateQkv,
                SeqLen = graph.SeqLen,
                Srcs = graph.Srcs.Count,
                Dests = graph.Dests.Count,
                Edges = graph.EdgeCount,
                OutputSlice = context.Model.OutputSlice.ToString(),
            },
            Data = context.DataInfo(),
            KnownCircuit = knownEdges?.Select(e => e.ToString()).Order(StringComparer.Ordinal).ToList(),
            Evaluation = new RunFileEvaluation
            {
                Split = "test",
                Edges = request.Evaluation.Edges.ToString(),
                PatchType = EvaluationNames.PatchTypeName(circuits.PatchType),
                Ablation = circuits.Ablation.ToCliName(),
                Reverse = circuits.ReverseCleanCorrupt,
            },
            Algorithms = [.. algorithms],
        };
    }
}
