using System.Globalization;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Patching;
using TorchSharp;

namespace AutoCircuit.Host.Jobs;

/// <summary>Everything <c>dotnet autocircuit evaluate</c> was asked to do.</summary>
public sealed record EvaluateRequest
{
    /// <summary>The scores file: ours, auto-circuit's prune scores as <c>{"module": nested arrays}</c>, an edge-list CSV or a
    /// MIB graph file or folder (<see cref="ScoresInterchange"/>).</summary>
    public required string Scores { get; init; }

    /// <summary>How <see cref="Scores"/> is read (<see cref="ScoresInterchange.Detect"/> by default).</summary>
    public ScoresFormat ScoresFormat { get; init; } = ScoresFormat.Auto;

    /// <summary>Model name or checkpoint path; <c>null</c> for the default model.</summary>
    public string? Model { get; init; }

    /// <summary><c>--download</c>: ask the hub for the newest commit of a model given by name even when it is cached
    /// (see <see cref="AutoCircuit.Models.Hub.HubResolver"/>).</summary>
    public bool Download { get; init; }

    /// <summary>Dataset file; <c>null</c> for the task's (or the model's default task's) dataset.</summary>
    public string? Dataset { get; init; }

    /// <summary>A built-in task; excludes <see cref="Dataset"/>. Its known circuit is used for the ROC curve unless
    /// <see cref="Circuit"/> is given.</summary>
    public string? Task { get; init; }

    /// <summary>Factorized (default) or residual graph: must be the graph the scores were computed on.</summary>
    public bool Factorized { get; init; } = true;

    /// <summary>Separate Q/K/V destinations for transformers.</summary>
    public bool SeparateQkv { get; init; } = true;

    /// <summary>Split and batch options: circuits are evaluated on the test split; unset ones come from the task.</summary>
    public DataArguments Data { get; init; } = new();

    /// <summary>Seeds torch (evaluation itself draws no random numbers).</summary>
    public long Seed { get; init; } = 42;

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Threads, patch memory budget, buffer type.</summary>
    public PerformanceSettings Performance { get; init; } = PerformanceSettings.Default;

    /// <summary>Results folder; <c>null</c> for <c>./autocircuit-results/&lt;timestamp&gt;</c>.</summary>
    public string? Out { get; init; }

    /// <summary>Sizes, patch type, ablation, reversal.</summary>
    public EvaluationSettings Settings { get; init; } = EvaluationSettings.Default;

    /// <summary>A known circuit (<see cref="KnownCircuitFile"/>) for the ROC curve, or <c>null</c>.</summary>
    public string? Circuit { get; init; }

    /// <summary>The command line as given, for <c>evaluate.json</c>.</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];
}

/// <summary>
/// <c>dotnet autocircuit evaluate</c>: evaluates a saved scores file on a task's test split and writes
/// <c>evaluate.json</c> and <c>circuits/&lt;key&gt;.json|.csv</c> into a results folder that appears only when the
/// evaluation completes; prints the CSV on stdout.
/// </summary>
public static class EvaluateJob
{
    /// <summary>Runs the job.</summary>
    /// <exception cref="AutoCircuitException">Bad input (scores, dataset, options), device unavailable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left behind.</exception>
    public static ExitCode Execute(EvaluateRequest request, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var started = DateTimeOffset.UtcNow;
        var device = DeviceSelector.Resolve(request.Device);
        using var prepared = TaskSetup.Prepare(
            request.Model, request.Dataset, request.Task, request.Data, device,
            Models.Hub.HubResolver.FromEnvironment(request.Download, env.Progress, env.Error, env.CancellationToken));
        var loaded = prepared.Loaded;
        var document = prepared.Document;
        using var data = prepared.BuildData(device);
        if (data.Test.Count == 0)
        {
            throw new AutoCircuitException(
                $"{document.Path}: the test split ({data.TestSize} prompts) holds no complete batch of --batch-size {data.BatchSize}; " +
                "circuits are evaluated on the test split (raise --test-size).");
        }

        var threads = request.Performance.ApplyThreads(loaded.Model);
        using var model = PatchableModel.Create(
            loaded.Model, new GraphOptions(request.Factorized, data.SeqLen, request.SeparateQkv, loaded.OutputSlice),
            request.Performance.PatchOptions);
        var loadedScores = ScoresInterchange.Read(request.Scores, model.Graph, request.ScoresFormat);
        using var scores = loadedScores.Scores;
        string? circuitWarning = null;
        var known = request.Circuit is null ? prepared.KnownEdges(model.Graph, out circuitWarning) : KnownCircuitFile.Read(request.Circuit, model.Graph);
        if (circuitWarning is not null)
        {
            env.Error.WriteLine($"warning: {circuitWarning}");
        }

        env.Error.WriteLine(
            $"model {loaded.Model.Description} on {device.type}; {model.Graph.EdgeCount} edges; scores '{loadedScores.Algorithm}' " +
            $"from {request.Scores}; evaluating on {data.Test.Count} test batches of {data.BatchSize}");

        var outPath = request.Out ?? Path.Combine(
            "autocircuit-results", started.ToLocalTime().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        using var results = new ResultsDirectory(outPath);
        torch.random.manual_seed(request.Seed);
        var (evaluation, files) = CircuitReport.EvaluateAndWrite(
            model, data.Test, scores, loadedScores.Algorithm, CircuitsFile.FileStem(loadedScores.Algorithm), request.Settings,
            results, known, env.Progress, env.CancellationToken);

        var settings = request.Settings;
        var record = new Dictionary<string, object?>
        {
            ["tool"] = "dotnet-autocircuit evaluate",
            ["command_line"] = request.CommandLine,
            ["started_utc"] = started.ToString("O", CultureInfo.InvariantCulture),
            ["finished_utc"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["device"] = device.ToString(),
            ["performance"] = request.Performance.ToJson(threads),
            ["seed"] = request.Seed,
            ["model"] = new Dictionary<string, object?> { ["spec"] = loaded.Name, ["description"] = loaded.Model.Description },
            ["scores"] = Path.GetFullPath(request.Scores),
            ["algorithm"] = loadedScores.Algorithm,
            ["circuit"] = request.Circuit is not null ? Path.GetFullPath(request.Circuit)
                : known is not null ? $"task {prepared.Task!.Key}" : null,
            ["graph"] = new Dictionary<string, object?>
            {
                ["factorized"] = model.Graph.IsFactorized,
                ["seq_len"] = model.Graph.SeqLen,
                ["edges"] = model.Graph.EdgeCount,
                ["output_slice"] = model.OutputSlice.ToString(),
            },
            ["evaluation"] = new Dictionary<string, object?>
            {
                ["edges"] = settings.Edges.ToString(),
                ["patch_type"] = EvaluationNames.PatchTypeName(settings.Circuits.PatchType),
                ["ablation"] = settings.Circuits.Ablation.ToCliName(),
                ["reverse"] = settings.Circuits.ReverseCleanCorrupt,
            },
            ["data"] = prepared.DataJson(data),
            ["files"] = files,
        };
        using (var fs = File.Create(results.PathFor("evaluate.json")))
        {
            JsonSerializer.Serialize(fs, record, new JsonSerializerOptions { WriteIndented = true });
        }

        results.Commit();
        env.Out.Write(CircuitsFile.ToCsv(evaluation));
        env.Error.WriteLine($"results: {results.FinalPath}");
        return ExitCode.Ok;
    }
}
