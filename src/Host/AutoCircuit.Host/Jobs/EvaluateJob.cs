using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Progress;
using AutoCircuit.Patching;
using TorchSharp;

namespace AutoCircuit.Host.Jobs;

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
        using var context = JobSetup.Prepare(request.Job, env);
        var data = context.Data;
        if (data.Test.Count == 0)
        {
            throw new AutoCircuitException(
                $"{context.Prepared.Document.Path}: the test split ({data.TestSize} prompts) holds no complete batch of --batch-size {data.BatchSize}; " +
                "circuits are evaluated on the test split (raise --test-size).");
        }

        var graph = context.Graph;
        var loadedScores = ScoresInterchange.Read(request.Scores, graph, request.ScoresFormat);
        using var scores = loadedScores.Scores;
        var known = request.Circuit is null ? context.TaskKnownEdges() : KnownCircuitFile.Read(request.Circuit, graph);
        env.Error.WriteLine(
            $"model {context.Loaded.Model.Description} on {context.Device.type}; {graph.EdgeCount} edges; scores '{loadedScores.Algorithm}' " +
            $"from {request.Scores}; evaluating on {data.Test.Count} test batches of {data.BatchSize}");

        var results = context.Results();
        torch.random.manual_seed(request.Job.Seed);
        CircuitEvaluation evaluation;
        string[] files;
        using (env.Progress.BeginStage(loadedScores.Algorithm, StageKind.Evaluate))
        {
            (evaluation, files) = CircuitReport.EvaluateAndWrite(
                context.Model, data.Test, scores, loadedScores.Algorithm, CircuitsFile.FileStem(loadedScores.Algorithm),
                request.Settings, results, known, env.Progress, env.CancellationToken);
        }


        var settings = request.Settings;
        var record = new EvaluateFile
        {
            Tool = "dotnet-autocircuit evaluate",
            CommandLine = request.Job.CommandLine,
            StartedUtc = context.StartedUtc,
            FinishedUtc = JobContext.NowUtc,
            Device = context.Device.ToString(),
            Performance = context.PerformanceInfo(),
            Seed = request.Job.Seed,
            Model = context.ModelInfo(),
            Scores = Path.GetFullPath(request.Scores),
            Algorithm = loadedScores.Algorithm,
            Circuit = request.Circuit is not null ? Path.GetFullPath(request.Circuit)
                : known is not null ? $"task {context.Prepared.Task!.Key}" : null,
            Graph = new EvaluateFileGraph
            {
                Factorized = graph.IsFactorized,
                SeqLen = graph.SeqLen,
                Edges = graph.EdgeCount,
                OutputSlice = context.Model.OutputSlice.ToString(),
            },
            Evaluation = new EvaluateFileEvaluation
            {
                Edges = settings.Edges.ToString(),
                PatchType = EvaluationNames.PatchTypeName(settings.Circuits.PatchType),
                Ablation = settings.Circuits.Ablation.ToCliName(),
                Reverse = settings.Circuits.ReverseCleanCorrupt,
            },
            Data = context.DataInfo(),
            Files = files,
        };
        JsonOutput.Write(results.PathFor("evaluate.json"), record, OutputJsonContext.Default.EvaluateFile);
        results.Commit();
        env.Out.Write(CircuitsFile.ToCsv(evaluation));
        env.AnnounceResults(results.FinalPath);
        return ExitCode.Ok;
    }
}
