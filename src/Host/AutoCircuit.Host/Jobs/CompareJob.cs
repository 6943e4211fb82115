using System.Globalization;
using System.Reflection;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Host.Reports;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Patching;
using TorchSharp;

namespace AutoCircuit.Host.Jobs;

/// <summary>Everything <c>dotnet autocircuit compare</c> was asked to do.</summary>
public sealed record CompareRequest
{
    /// <summary>Model name or checkpoint path; <c>null</c> for the default model.</summary>
    public string? Model { get; init; }

    /// <summary><c>--download</c>: ask the hub for the newest commit of a model given by name even when it is cached
    /// (see <see cref="AutoCircuit.Models.Hub.HubResolver"/>).</summary>
    public bool Download { get; init; }

    /// <summary>Dataset file; <c>null</c> for the task's (or the model's default task's).</summary>
    public string? Dataset { get; init; }

    /// <summary>A built-in task (<see cref="TaskCatalog"/>): its dataset, data options and known circuit; excludes
    /// <see cref="Dataset"/>.</summary>
    public string? Task { get; init; }

    /// <summary>Algorithm specs (<c>all</c> for every built-in). With neither algorithms nor scores: <c>all</c>.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>Scores files to compare besides the algorithms run here.</summary>
    public IReadOnlyList<string> Scores { get; init; } = [];

    /// <summary>How the scores files are read.</summary>
    public ScoresFormat ScoresFormat { get; init; } = ScoresFormat.Auto;

    /// <summary>Plugin folders.</summary>
    public PluginSearchPath Plugins { get; init; } = PluginSearchPath.None;

    /// <summary>Factorized (default) or residual graph.</summary>
    public bool Factorized { get; init; } = true;

    /// <summary>Separate Q/K/V destinations for transformers.</summary>
    public bool SeparateQkv { get; init; } = true;

    /// <summary>Split and batch options as given (unset ones take the task's).</summary>
    public DataArguments Data { get; init; } = new();

    /// <summary>Seed for the algorithms.</summary>
    public long Seed { get; init; } = 42;

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Threads, patch memory budget, source buffer type (<c>--threads</c>, <c>--max-patch-memory</c>, <c>--patch-buffer-dtype</c>).</summary>
    public PerformanceSettings Performance { get; init; } = PerformanceSettings.Default;

    /// <summary>Results folder; <c>null</c> for <c>./autocircuit-results/compare-&lt;timestamp&gt;</c>.</summary>
    public string? Out { get; init; }

    /// <summary>Circuit sizes, ablation, reversal, and which patch types.</summary>
    public ComparisonSettings Settings { get; init; } = new();

    /// <summary>A known circuit file (<see cref="KnownCircuitFile"/>) for ROC curves and <c>ground-truth</c>; it replaces
    /// the task's known circuit.</summary>
    public string? Circuit { get; init; }

    /// <summary>The interchange files written per algorithm.</summary>
    public ScoresExports Exports { get; init; } = ScoresExports.AutoCircuit | ScoresExports.Csv | ScoresExports.Mib;

    /// <summary>The command line as given.</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];
}

/// <summary>
/// <c>dotnet autocircuit compare</c>: runs several algorithms and/or reads saved scores on one task, evaluates each
/// one's circuits on the test split (edge and tree patch), measures ROC curves against a known circuit and the
/// agreement between algorithms, and writes <c>compare.json</c>, <c>compare.csv</c>, <c>report.html</c>, the scores,
/// circuits and interchange exports into a results folder that appears only when the comparison completes; the
/// Markdown summary goes to stdout.
/// </summary>
public static class CompareJob
{
    /// <summary>Runs the job.</summary>
    /// <returns><see cref="ExitCode.Ok"/>, or <see cref="ExitCode.AlgorithmFailed"/> when an algorithm failed (the others'
    /// results are kept).</returns>
    /// <exception cref="AutoCircuitException">Bad input, unknown algorithm, device unavailable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left behind.</exception>
    public static ExitCode Execute(CompareRequest request, RunEnvironment env, AlgorithmCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var started = DateTimeOffset.UtcNow;
        var specs = request.Algorithms.Count == 0 && request.Scores.Count == 0 ? ["all"] : request.Algorithms;
        if (specs.Count > 0)
        {
            catalog ??= AlgorithmCatalog.Load(request.Plugins);
            foreach (var w in catalog.Warnings)
            {
                env.Error.WriteLine($"warning: {w}");
            }
        }

        var device = DeviceSelector.Resolve(request.Device);
        using var prepared = TaskSetup.Prepare(
            request.Model, request.Dataset, request.Task, request.Data, device,
            Models.Hub.HubResolver.FromEnvironment(request.Download, env.Progress, env.Error, env.CancellationToken));
        var loaded = prepared.Loaded;
        var document = prepared.Document;
        using var data = prepared.BuildData(device);
        request.Performance.ApplyThreads(loaded.Model);
        using var model = PatchableModel.Create(
            loaded.Model, new GraphOptions(request.Factorized, data.SeqLen, request.SeparateQkv, loaded.OutputSlice),
            request.Performance.PatchOptions);
        var graph = model.Graph;
        var (known, knownSource) = KnownCircuit(request, prepared, graph, env);
        request.Settings.Evaluation.Validate(graph.EdgeCount);
        if (request.Settings.AgreementKs?.FirstOrDefault(k => k < 1 || k > graph.EdgeCount, 0) is int badK && badK != 0)
        {
            throw new AutoCircuitException($"--agreement-k {badK}: outside the graph's 1..{graph.EdgeCount} edges.");
        }

        env.Error.WriteLine(
            $"model {loaded.Model.Description} on {device.type}; {(request.Factorized ? "factorized" : "residual")} graph: " +
            $"{graph.EdgeCount} edges{(data.SeqLen is int sl ? $" ({sl} token positions)" : string.Empty)}; " +
            $"{(prepared.Task is { } task ? $"task {task.Key}, " : string.Empty)}data {document.Path}: " +
            $"{data.Train.Count} train / {data.Test.Count} test batches of {data.BatchSize}" +
            (known is null ? "; no known circuit" : $"; known circuit: {known.Count} edges"));

        var labels = new HashSet<string>(StringComparer.Ordinal);
        var candidates = specs.Count == 0
            ? []
            : ComparisonCandidates.FromSpecs(catalog!, specs, known is not null, labels, line => env.Error.WriteLine(line));
        try
        {
            foreach (var path in request.Scores)
            {
                var format = request.ScoresFormat == ScoresFormat.Auto ? ScoresInterchange.Detect(path) : request.ScoresFormat;
                var scores = ScoresInterchange.Read(path, graph, format);
                var label = ComparisonEngine.Label(scores.Algorithm, scores.Algorithm, labels);
                candidates.Add(new ScoresCandidate(label, scores, path, format));
                env.Error.WriteLine($"scores '{label}' read from {path} ({format.ToString().ToLowerInvariant()})");
            }
        }
        catch
        {
            foreach (var c in candidates.OfType<ScoresCandidate>())
            {
                c.Loaded.Scores.Dispose();
            }

            throw;
        }

        var outPath = request.Out ?? Path.Combine(
            "autocircuit-results", "compare-" + started.ToLocalTime().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        using var results = new ResultsDirectory(outPath);
        var subject = new ComparisonSubject
        {
            ModelSpec = loaded.Name,
            ModelDescription = loaded.Model.Description,
            Dataset = document.Path,
            Graph = graph,
            SeqLabels = data.SeqLabels,
            KnownEdges = known,
            KnownCircuitSource = knownSource,
            TrainPrompts = data.Train.Count * data.BatchSize,
            TestPrompts = data.Test.Count * data.BatchSize,
            Seed = request.Seed,
            Device = device.ToString(),
        };
        using var result = ComparisonEngine.Run(model, data, subject, candidates, request.Settings, env);
        WriteAlgorithmFiles(results, result, request.Exports, DModel(loaded));
        var header = Header(request, started, device, prepared, data);
        ComparisonFiles.WriteJson(results.PathFor("compare.json"), result, header);
        File.WriteAllText(results.PathFor("compare.csv"), ComparisonFiles.ToCsv(result), new System.Text.UTF8Encoding(false));
        HtmlReport.Write(results.PathFor("report.html"), result, "compare", request.CommandLine);
        results.Commit();
        env.Out.Write(ComparisonFiles.ToMarkdown(result));
        env.Error.WriteLine($"results: {results.FinalPath} (open report.html)");
        return result.Algorithms.All(a => a.Succeeded) ? ExitCode.Ok : ExitCode.AlgorithmFailed;
    }

    /// <summary>
    /// Writes each algorithm's <c>scores/&lt;stem&gt;.json|.safetensors</c>, <c>circuits/&lt;stem&gt;-&lt;patch&gt;.json|.csv</c>
    /// and its exports (<c>exports/&lt;stem&gt;/…</c>), recording them in <see cref="ComparedAlgorithm.Files"/>.
    /// </summary>
    public static void WriteAlgorithmFiles(ResultsDirectory results, ComparisonResult result, ScoresExports exports, int? dModel)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(result);
        foreach (var a in result.Algorithms.Where(a => a.Scores is not null))
        {
            var json = Path.Combine("scores", a.FileStem + ".json");
            var st = Path.Combine("scores", a.FileStem + ".safetensors");
            ScoresFile.WriteJson(results.PathFor(json), a.Key ?? a.Label, a.Options, a.Scores!);
            ScoresFile.WriteSafetensors(results.PathFor(st), a.Key ?? a.Label, a.Scores!);
            a.Files.Add(json);
            a.Files.Add(st);
            foreach (var (pt, evaluation) in a.Evaluations)
            {
                var stem = Path.Combine("circuits", $"{a.FileStem}-{EvaluationNames.PatchTypeName(pt)}");
                CircuitsFile.WriteJson(results.PathFor(stem + ".json"), a.Label, evaluation);
                CircuitsFile.WriteCsv(results.PathFor(stem + ".csv"), evaluation);
                a.Files.Add(stem + ".json");
                a.Files.Add(stem + ".csv");
            }

            var dir = Path.Combine("exports", a.FileStem);
            foreach (var f in ScoresInterchange.WriteExports(Path.Combine(results.TempPath, dir), a.Scores!, exports, dModel))
            {
                a.Files.Add(Path.Combine(dir, f));
            }
        }
    }

    /// <summary>The model's width for MIB's <c>cfg.d_model</c>, when it is a transformer.</summary>
    public static int? DModel(LoadedModel loaded) => loaded?.Model is Transformer t ? t.Config.DModel : null;

    /// <summary>The known circuit: <c>--circuit FILE</c>, else the task's (when it fits this graph).</summary>
    private static (IReadOnlySet<Edge>? Edges, string? Source) KnownCircuit(
        CompareRequest request, PreparedTask prepared, ModelGraph graph, RunEnvironment env)
    {
        if (request.Circuit is not null)
        {
            return (KnownCircuitFile.Read(request.Circuit, graph), Path.GetFullPath(request.Circuit));
        }

        var edges = prepared.KnownEdges(graph, out var warning);
        if (warning is not null)
        {
            env.Error.WriteLine($"warning: {warning}");
        }

        return (edges, edges is null ? null : $"task {prepared.Task!.Key}");
    }

    private static Dictionary<string, object?> Header(
        CompareRequest request, DateTimeOffset started, torch.Device device, PreparedTask prepared, TaskData data)
    {
        var loaded = prepared.Loaded;
        var ev = request.Settings.Evaluation;
        return new Dictionary<string, object?>
        {
            ["tool"] = "dotnet-autocircuit compare",
            ["versions"] = new Dictionary<string, string?>
            {
                ["autocircuit"] = typeof(CompareJob).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
                ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
                ["dotnet"] = Environment.Version.ToString(),
            },
            ["command_line"] = request.CommandLine,
            ["started_utc"] = started.ToString("O", CultureInfo.InvariantCulture),
            ["finished_utc"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["device"] = device.ToString(),
            ["seed"] = request.Seed,
            ["model"] = new Dictionary<string, object?> { ["spec"] = loaded.Name, ["description"] = loaded.Model.Description },
            ["data"] = prepared.DataJson(data),
            ["evaluation"] = new Dictionary<string, object?>
            {
                ["split"] = "test",
                ["edges"] = ev.Edges.ToString(),
                ["ablation"] = ev.Circuits.Ablation.ToCliName(),
                ["reverse"] = ev.Circuits.ReverseCleanCorrupt,
            },
            ["exports"] = request.Exports.ToString(),
        };
    }
}
