using System.Globalization;
using System.Reflection;
using System.Text.Json;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Models;
using AutoCircuit.Host.Patching;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Host.Runtime;

/// <summary>
/// <c>dotnet autocircuit run</c>: loads the model and task, runs every requested algorithm on the
/// train split, evaluates each one's circuits on the test split, and writes <c>run.json</c>,
/// <c>scores/&lt;key&gt;.json|.safetensors</c> and <c>circuits/&lt;key&gt;.json|.csv</c> into a
/// results folder that appears only when the run completes.
/// </summary>
public static class RunJob
{
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

        var specs = request.Algorithms.Count == 0 ? ["activation-magnitude"] : request.Algorithms;
        var algorithms = specs.Select(s => catalog.Create(AlgorithmSpec.Parse(s))).ToList();

        var device = DeviceSelector.Resolve(request.Device);
        using var loaded = ModelCatalog.Load(request.Model, device);
        var document = request.Dataset is not null
            ? DatasetDocument.Load(request.Dataset)
            : loaded.DefaultDataset?.Invoke()
              ?? throw new AutoCircuitException($"--model {loaded.Name} has no default task: give --dataset.");
        using var data = TaskData.Build(document, request.Data, loaded.Encoder, loaded.Model.OutputSize, device);
        var threads = request.Performance.ApplyThreads(loaded.Model);
        using var model = PatchableModel.Create(
            loaded.Model, new GraphOptions(request.Factorized, data.SeqLen, request.SeparateQkv, loaded.OutputSlice),
            request.Performance.PatchOptions);
        env.Error.WriteLine(
            $"model {loaded.Model.Description} on {device.type}; {(request.Factorized ? "factorized" : "residual")} graph: " +
            $"{model.Graph.Srcs.Count} sources, {model.Graph.Dests.Count} destinations, {model.Graph.EdgeCount} edges" +
            (data.SeqLen is int sl ? $" ({sl} token positions)" : string.Empty) +
            $"; data {document.Path}: {data.Train.Count} train / {data.Test.Count} test batches of {data.BatchSize}");

        request.Evaluation.Validate(model.Graph.EdgeCount);
        var outPath = request.Out ?? Path.Combine(
            "autocircuit-results", started.ToLocalTime().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        using var results = new ResultsDirectory(outPath);
        var records = new List<object>();
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var failed = false;
        foreach (var (entry, configured) in algorithms)
        {
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
                KnownEdges = null,
                Seed = request.Seed,
                Progress = env.Progress,
                CancellationToken = env.CancellationToken,
                Log = line => env.Error.WriteLine($"[{key}] {line}"),
            };

            AlgorithmOutcome outcome;
            if (entry.Descriptor.RequiresKnownEdges && context.KnownEdges is null)
            {
                outcome = new AlgorithmOutcome(null, TimeSpan.Zero, "needs a task with a known circuit, and this task has none");
            }
            else
            {
                outcome = AlgorithmRunner.Run(configured.Algorithm, context);
            }

            using (outcome)
            {
                var record = new Dictionary<string, object?>
                {
                    ["key"] = key,
                    ["name"] = entry.Descriptor.Name,
                    ["origin"] = entry.Origin,
                    ["spec"] = specs[algorithms.IndexOf((entry, configured))],
                    ["options"] = configured.Options.ToDictionary(o => o.Key, o => o.Value),
                    ["seconds"] = Math.Round(outcome.Elapsed.TotalSeconds, 4),
                    ["status"] = outcome.Succeeded ? "ok" : "failed",
                    ["error"] = outcome.Error,
                };
                if (outcome.Scores is { } scores)
                {
                    var json = Path.Combine("scores", fileName + ".json");
                    var st = Path.Combine("scores", fileName + ".safetensors");
                    ScoresFile.WriteJson(results.PathFor(json), key, configured.Options, scores);
                    ScoresFile.WriteSafetensors(results.PathFor(st), key, scores);
                    record["files"] = new[] { json, st };
                    PrintTopEdges(env.Out, entry.Descriptor, scores, outcome.Elapsed, request.TopEdges);
                    record["circuits"] = EvaluateCircuits(request, env, model, data, scores, key, fileName, results, context);
                }
                else
                {
                    failed = true;
                    env.Error.WriteLine($"error: algorithm '{key}' failed: {outcome.Error}");
                }

                records.Add(record);
            }
        }

        WriteRunJson(results.PathFor("run.json"), request, started, device, loaded, model, data, document, records, threads);
        results.Commit();
        env.Error.WriteLine($"results: {results.FinalPath}");
        return failed ? ExitCode.AlgorithmFailed : ExitCode.Ok;
    }

    /// <summary>Evaluates an algorithm's circuits on the test split: <c>circuits/&lt;file&gt;.json|.csv</c>.</summary>
    private static string[]? EvaluateCircuits(
        RunRequest request, RunEnvironment env, PatchableModel model, TaskData data, PruneScores scores, string key,
        string fileName, ResultsDirectory results, PruneContext context)
    {
        if (data.Test.Count == 0)
        {
            env.Error.WriteLine($"warning: the test split holds no complete batch: circuits of '{key}' are not evaluated.");
            return null;
        }

        var (_, files) = CircuitReport.EvaluateAndWrite(
            model, data.Test, scores, key, fileName, request.Evaluation, results, context.KnownEdges, env.Progress,
            env.CancellationToken);
        return files;
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
        string path, RunRequest request, DateTimeOffset started, TorchSharp.torch.Device device, LoadedModel loaded,
        PatchableModel model, TaskData data, DatasetDocument document, List<object> records, int threads)
    {
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
            ["data"] = new Dictionary<string, object?>
            {
                ["dataset"] = document.Path,
                ["prompts_in_file"] = document.Prompts.Count,
                ["batch_size"] = data.BatchSize,
                ["train_size"] = data.TrainSize,
                ["test_size"] = data.TestSize,
                ["train_batches"] = data.Train.Count,
                ["test_batches"] = data.Test.Count,
                ["shuffle"] = request.Data.Shuffle,
                ["shuffle_seed"] = request.Data.Seed,
                ["token_positions"] = request.Data.TokenPositions,
                ["train_prompts"] = data.TrainPromptIndices,
                ["test_prompts"] = data.TestPromptIndices,
            },
            ["evaluation"] = new Dictionary<string, object?>
            {
                ["split"] = "test",
                ["edges"] = request.Evaluation.Edges.ToString(),
                ["patch_type"] = CircuitsFile.PatchTypeName(request.Evaluation.Circuits.PatchType),
                ["ablation"] = request.Evaluation.Circuits.Ablation.ToCliName(),
                ["reverse"] = request.Evaluation.Circuits.ReverseCleanCorrupt,
            },
            ["algorithms"] = records,
        };
        using var fs = File.Create(path);
        JsonSerializer.Serialize(fs, run, new JsonSerializerOptions { WriteIndented = true });
    }
}
