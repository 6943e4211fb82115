using System.Globalization;
using System.Reflection;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Reports;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;

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

    /// <summary>Runs the job.</summary>
    /// <returns><see cref="ExitCode.Ok"/>, or <see cref="ExitCode.AlgorithmFailed"/> if any algorithm failed (the others' results are kept).</returns>
    /// <exception cref="AutoCircuitException">Bad input, unknown algorithm or option, device unavailable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left behind.</exception>
    public static ExitCode Execute(RunRequest request, RunEnvironment env, AlgorithmCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var started = DateTimeOffset.UtcNow;
        catalog ??= AlgorithmCatalog.Load(request.Plugins);
        foreach (var w in catalog.Warnings)
        {
            env.Error.WriteLine($"warning: {w}");
        }

        // Explicit specs are parsed before anything is loaded, so a typo fails fast.
        var specs = request.Algorithms.Count == 0 ? DefaultAlgorithms.ToList() : request.Algorithms.ToList();
        var algorithms = specs.Select(s => catalog.Create(AlgorithmSpec.Parse(s))).ToList();

        var device = DeviceSelector.Resolve(request.Device);
        using var prepared = TaskSetup.Prepare(
            request.Model, request.Dataset, request.Task, request.Data, device,
            Models.Hub.HubResolver.FromEnvironment(request.Download, env.Progress, env.Error, env.CancellationToken));
        var loaded = prepared.Loaded;
        var document = prepared.Document;
        using var data = prepared.BuildData(device);
        var threads = request.Performance.ApplyThreads(loaded.Model);
        using var model = PatchableModel.Create(
            loaded.Model, new GraphOptions(request.Factorized, data.SeqLen, request.SeparateQkv, loaded.OutputSlice),
            request.Performance.PatchOptions);
        var knownEdges = prepared.KnownEdges(model.Graph, out var circuitWarning);
        if (circuitWarning is not null)
        {
            env.Error.WriteLine($"warning: {circuitWarning}");
        }

        if (request.Algorithms.Count == 0 && knownEdges is not null)
        {
            specs.Add(GroundTruthKey);
            algorithms.Add(catalog.Create(AlgorithmSpec.Parse(GroundTruthKey)));
        }

        env.Error.WriteLine(
            $"model {loaded.Model.Description} on {device.type}; {(request.Factorized ? "factorized" : "residual")} graph: " +
            $"{model.Graph.Srcs.Count} sources, {model.Graph.Dests.Count} destinations, {model.Graph.EdgeCount} edges" +
            (data.SeqLen is int sl ? $" ({sl} token positions)" : string.Empty) +
            $"; {(prepared.Task is { } task ? $"task {task.Key}, " : string.Empty)}data {document.Path}: " +
            $"{data.Train.Count} train / {data.Test.Count} test batches of {data.BatchSize}" +
            (knownEdges is null ? string.Empty : $"; known circuit: {knownEdges.Count} edges"));

        request.Evaluation.Validate(model.Graph.EdgeCount);
        var outPath = request.Out ?? Path.Combine(
            "autocircuit-results", started.ToLocalTime().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        using var results = new ResultsDirectory(outPath);
        var records = new List<object>();
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var compared = new List<ComparedAlgorithm>();
        var failed = false;
        try
        {
            for (var index = 0; index < algorithms.Count; index++)
            {
                var (entry, configured) = algorithms[index];
                env.CancellationToken.ThrowIfCancellationRequested();
                var key = entry.Descriptor.Key;
                var fileName = key;
                for (var i = 2; !usedNames.Add(fileName); i++)
                {
                    fileName = $"{key}-{i}";
                }

                var context = new PruneContext
                {
                    Model = model,
                    TrainBatches = data.Train,
                    KnownEdges = knownEdges,
                    Seed = request.Seed,
                    Progress = env.Progress,
                    CancellationToken = env.CancellationToken,
                    Log = line => env.Error.WriteLine($"[{key}] {line}"),
                };

                AlgorithmOutcome outcome;
                ResourceUsage? usage = null;
                if (entry.Descriptor.RequiresKnownEdges && context.KnownEdges is null)
                {
                    outcome = new AlgorithmOutcome(null, TimeSpan.Zero, "needs a task with a known circuit, and this task has none");
                }
                else
                {
                    (outcome, usage) = ResourceMeter.Measure(() => AlgorithmRunner.Run(configured.Algorithm, context));
                }

                var record = new Dictionary<string, object?>
                {
                    ["key"] = key,
                    ["name"] = entry.Descriptor.Name,
                    ["origin"] = entry.Origin,
                    ["spec"] = specs[index],
                    ["options"] = configured.Options.ToDictionary(o => o.Key, o => o.Value),
                    ["seconds"] = Math.Round(outcome.Elapsed.TotalSeconds, 4),
                    ["peak_rss_delta_bytes"] = usage?.PeakRssDeltaBytes,
                    ["managed_allocated_bytes"] = usage?.ManagedAllocatedBytes,
                    ["status"] = outcome.Succeeded ? "ok" : "failed",
                    ["error"] = outcome.Error,
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
                        Path.Combine(results.TempPath, exportDir), scores, request.Exports, CompareJob.DModel(loaded))
                        .Select(f => Path.Combine(exportDir, f)));
                    record["files"] = files;
                    PrintTopEdges(env.Out, entry.Descriptor, scores, outcome.Elapsed, request.TopEdges);
                    var (evaluation, circuitFiles) = EvaluateCircuits(request, env, model, data, scores, key, fileName, results, context);
                    record["circuits"] = circuitFiles;
                    if (evaluation is not null)
                    {
                        evaluations[request.Evaluation.Circuits.PatchType] = evaluation;
                        roc = evaluation.Roc;
                    }
                }
                else
                {
                    failed = true;
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
                    Options = configured.Options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal),
                    Scores = outcome.Scores,
                    Flat = outcome.Scores is { } sc ? FlatScores.From(sc) : null,
                    Error = outcome.Error,
                    Usage = usage,
                    Evaluations = evaluations,
                    Roc = roc,
                });
                records.Add(record);
            }

            WriteReport(results, request, device, prepared, model, data, knownEdges, compared);
        }
        finally
        {
            foreach (var c in compared)
            {
                c.Dispose();
            }
        }

        WriteRunJson(results.PathFor("run.json"), request, started, device, prepared, model, data, knownEdges, records, threads);
        results.Commit();
        env.Error.WriteLine($"results: {results.FinalPath}");
        return failed ? ExitCode.AlgorithmFailed : ExitCode.Ok;
    }

    /// <summary>Evaluates an algorithm's circuits on the test split: <c>circuits/&lt;file&gt;.json|.csv</c>.</summary>
    private static (CircuitEvaluation? Evaluation, string[]? Files) EvaluateCircuits(
        RunRequest request, RunEnvironment env, PatchableModel model, TaskData data, PruneScores scores, string key,
        string fileName, ResultsDirectory results, PruneContext context)
    {
        if (data.Test.Count == 0)
        {
            env.Error.WriteLine($"warning: the test split holds no complete batch: circuits of '{key}' are not evaluated.");
            return (null, null);
        }

        var (evaluation, files) = CircuitReport.EvaluateAndWrite(
            model, data.Test, scores, key, fileName, request.Evaluation, results, context.KnownEdges, env.Progress,
            env.CancellationToken);
        return (evaluation, files);
    }

    /// <summary><c>report.html</c>: the same report as <c>compare</c>, for this run's algorithms and patch type.</summary>
    private static void WriteReport(
        ResultsDirectory results, RunRequest request, TorchSharp.torch.Device device, PreparedTask prepared, PatchableModel model,
        TaskData data, IReadOnlySet<Edge>? knownEdges, List<ComparedAlgorithm> compared)
    {
        var loaded = prepared.Loaded;
        var document = prepared.Document;
        var subject = new ComparisonSubject
        {
            ModelSpec = loaded.Name,
            ModelDescription = loaded.Model.Description,
            Dataset = document.Path,
            Graph = model.Graph,
            SeqLabels = data.SeqLabels,
            KnownEdges = knownEdges,
            KnownCircuitSource = prepared.Task is { } task ? $"task {task.Key}" : null,
            TrainPrompts = data.Train.Count * data.BatchSize,
            TestPrompts = data.Test.Count * data.BatchSize,
            Seed = request.Seed,
            Device = device.ToString(),
        };
        var settings = new ComparisonSettings
        {
            Evaluation = request.Evaluation,
            PatchTypes = [request.Evaluation.Circuits.PatchType],
            TopEdges = Math.Max(1, request.TopEdges),
        };

        // The result does not own the algorithms here: the caller disposes them.
        var comparison = new ComparisonResult(subject, settings, compared);
        HtmlReport.Write(results.PathFor("report.html"), comparison, "run", request.CommandLine);
    }

    private static void PrintTopEdges(TextWriter output, AlgorithmDescriptor d, PruneScores scores, TimeSpan elapsed, int top)
    {
        var ranked = scores.RankedEdges(top);
        output.WriteLine($"## {d.Key} ({d.Name}) — {scores.EdgeCount} edges scored in {elapsed.TotalSeconds:0.###} s");
        output.WriteLine();
        output.WriteLine("| rank | edge | position | score |");
        output.WriteLine("|---:|---|---:|---:|");
        var rank = 1;
        foreach (var (edge, score) in ranked)
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {rank++} | {edge.Name} | {(edge.SeqIndex is int s ? s.ToString(CultureInfo.InvariantCulture) : "all")} | {score:G6} |"));
        }

        output.WriteLine();
    }

    private static void WriteRunJson(
        string path, RunRequest request, DateTimeOffset started, TorchSharp.torch.Device device, PreparedTask prepared,
        PatchableModel model, TaskData data, IReadOnlySet<Edge>? knownEdges, List<object> records, int threads)
    {
        var loaded = prepared.Loaded;
        var run = new Dictionary<string, object?>
        {
            ["tool"] = "dotnet-autocircuit",
            ["versions"] = new Dictionary<string, string?>
            {
                ["autocircuit"] = typeof(RunJob).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
                ["abstractions"] = typeof(IPruneAlgorithm).Assembly.GetName().Version?.ToString(),
                ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
                ["dotnet"] = Environment.Version.ToString(),
            },
            ["command_line"] = request.CommandLine,
            ["started_utc"] = started.ToString("O", CultureInfo.InvariantCulture),
            ["finished_utc"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["device"] = device.ToString(),
            ["performance"] = request.Performance.ToJson(threads),
            ["seed"] = request.Seed,
            ["model"] = new Dictionary<string, object?> { ["spec"] = loaded.Name, ["description"] = loaded.Model.Description },
            ["graph"] = new Dictionary<string, object?>
            {
                ["factorized"] = model.Graph.IsFactorized,
                ["separate_qkv"] = request.SeparateQkv,
                ["seq_len"] = model.Graph.SeqLen,
                ["srcs"] = model.Graph.Srcs.Count,
                ["dests"] = model.Graph.Dests.Count,
                ["edges"] = model.Graph.EdgeCount,
                ["output_slice"] = model.OutputSlice.ToString(),
            },
            ["data"] = prepared.DataJson(data),
            ["known_circuit"] = knownEdges?.Select(e => e.ToString()).Order(StringComparer.Ordinal).ToList(),
            ["evaluation"] = new Dictionary<string, object?>
            {
                ["split"] = "test",
                ["edges"] = request.Evaluation.Edges.ToString(),
                ["patch_type"] = EvaluationNames.PatchTypeName(request.Evaluation.Circuits.PatchType),
                ["ablation"] = request.Evaluation.Circuits.Ablation.ToCliName(),
                ["reverse"] = request.Evaluation.Circuits.ReverseCleanCorrupt,
            },
            ["algorithms"] = records,
        };
        using var fs = File.Create(path);
        JsonSerializer.Serialize(fs, run, new JsonSerializerOptions { WriteIndented = true });
    }
}
