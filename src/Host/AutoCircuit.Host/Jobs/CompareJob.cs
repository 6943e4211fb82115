using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Reports;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Jobs;

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
        var specs = request.Algorithms.Count == 0 && request.Scores.Count == 0 ? ["all"] : request.Algorithms;
        if (specs.Count > 0)
        {
            catalog = JobSetup.Catalog(request.Job, env, catalog);
        }

        using var context = JobSetup.Prepare(request.Job, env);
        var data = context.Data;
        var graph = context.Graph;
        var (known, knownSource) = KnownCircuit(request, context);
        request.Settings.Evaluation.Validate(graph.EdgeCount);
        var mibSubmission = MibSubmissionFolder(request.Exports, context);
        if (request.Settings.AgreementKs?.FirstOrDefault(k => k < 1 || k > graph.EdgeCount, 0) is int badK && badK != 0)
        {
            throw new AutoCircuitException($"--agreement-k {badK}: outside the graph's 1..{graph.EdgeCount} edges.");
        }

        env.Error.WriteLine(
            $"model {context.Loaded.Model.Description} on {context.Device.type}; {(request.Job.Factorized ? "factorized" : "residual")} graph: " +
            $"{graph.EdgeCount} edges{(data.SeqLen is int sl ? $" ({sl} token positions)" : string.Empty)}; " +
            $"{(context.Prepared.Task is { } task ? $"task {task.Key}, " : string.Empty)}data {context.Prepared.Document.Path}: " +
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

        var results = context.Results("compare-");
        var subject = new ComparisonSubject
        {
            ModelSpec = context.Loaded.Name,
            ModelDescription = context.Loaded.Model.Description,
            Dataset = context.Prepared.Document.Path,
            Graph = graph,
            SeqLabels = data.SeqLabels,
            KnownEdges = known,
            KnownCircuitSource = knownSource,
            TrainPrompts = data.Train.Count * data.BatchSize,
            TestPrompts = data.Test.Count * data.BatchSize,
            Seed = request.Job.Seed,
            Device = context.Device.ToString(),
        };
        using var result = ComparisonEngine.Run(context.Model, data, subject, candidates, request.Settings, env);
        WriteAlgorithmFiles(results, result, request.Exports, DModel(context.Loaded), mibSubmission);
        JsonOutput.Write(results.PathFor("compare.json"), CompareFile(context, request, result), OutputJsonContext.Default.CompareFile);
        File.WriteAllText(results.PathFor("compare.csv"), ComparisonFiles.ToCsv(result), new System.Text.UTF8Encoding(false));
        HtmlReport.Write(results.PathFor("report.html"), result, "compare", request.Job.CommandLine);
        results.Commit();
        env.Out.Write(ComparisonFiles.ToMarkdown(result));
        env.AnnounceResults(results.FinalPath, Path.Combine(results.FinalPath, "report.html"));
        return result.Algorithms.All(a => a.Succeeded) ? ExitCode.Ok : ExitCode.AlgorithmFailed;
    }

    /// <summary>
    /// Writes each algorithm's <c>scores/&lt;stem&gt;.json|.safetensors</c>, <c>circuits/&lt;stem&gt;-&lt;patch&gt;.json|.csv</c>
    /// and its exports (<c>exports/&lt;stem&gt;/…</c>), recording them in <see cref="ComparedAlgorithm.Files"/>.
    /// </summary>
    internal static void WriteAlgorithmFiles(
        ResultsDirectory results, ComparisonResult result, ScoresExports exports, int? dModel, string? mibSubmission = null)
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
                if (CircuitsFile.WriteEdges(results.PathFor(stem + ".edges.json"), a.Label, evaluation, a.Scores!.Graph))
                {
                    a.Files.Add(stem + ".edges.json");
                }
            }

            var dir = Path.Combine("exports", a.FileStem);
            foreach (var f in ScoresInterchange.WriteExports(Path.Combine(results.TempPath, dir), a.Scores!, exports, dModel, mibSubmission))
            {
                a.Files.Add(Path.Combine(dir, f));
            }
        }
    }

    /// <summary>
    /// The MIB submission folder's name for <c>--export mib-submission</c> (<c>&lt;task&gt;_&lt;model&gt;</c>: the
    /// <c>--mib-task</c>, else the task's key, else the dataset file's name; the model's MIB name), checked before any
    /// algorithm runs; <c>null</c> when the export is not asked for.
    /// </summary>
    /// <exception cref="AutoCircuitException">The graph does not have MIB's names, or the model is not a transformer.</exception>
    internal static string? MibSubmissionFolder(ScoresExports exports, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!exports.HasFlag(ScoresExports.MibSubmission))
        {
            return null;
        }

        if (!MibCircuitFile.HasMibNames(context.Graph, out var reason))
        {
            throw new AutoCircuitException($"--export mib-submission: {reason}; MIB submissions are of its transformer graph.");
        }

        if (DModel(context.Loaded) is null)
        {
            throw new AutoCircuitException("--export mib-submission: the model is not a transformer; MIB's files need its width (d_model).");
        }

        var p = context.Prepared;
        var task = p.Mib is { } mib ? MibDataset.TaskName(mib.Task) : p.Task?.Key ?? Path.GetFileNameWithoutExtension(p.Document.Path);
        return MibCircuitFile.SubmissionFolderName(task, p.Loaded.Name);
    }

    /// <summary>The model's width for MIB's <c>cfg.d_model</c>, when it is a transformer.</summary>
    internal static int? DModel(LoadedModel loaded) => loaded?.Model is Transformer t ? t.Config.DModel : null;

    /// <summary>The known circuit: <c>--circuit FILE</c>, else the task's (when it fits this graph).</summary>
    private static (IReadOnlySet<Edge>? Edges, string? Source) KnownCircuit(CompareRequest request, JobContext context)
    {
        if (request.Circuit is not null)
        {
            return (KnownCircuitFile.Read(request.Circuit, context.Graph), Path.GetFullPath(request.Circuit));
        }

        var edges = context.TaskKnownEdges();
        return (edges, edges is null ? null : $"task {context.Prepared.Task!.Key}");
    }

    private static CompareFile CompareFile(JobContext context, CompareRequest request, ComparisonResult result)
    {
        var ev = request.Settings.Evaluation;
        return new CompareFile
        {
            Tool = "dotnet-autocircuit compare",
            Versions = ToolVersions.Current(withAbstractions: false),
            CommandLine = request.Job.CommandLine,
            StartedUtc = context.StartedUtc,
            FinishedUtc = JobContext.NowUtc,
            Device = context.Device.ToString(),
            Seed = request.Job.Seed,
            Model = context.ModelInfo(),
            Data = context.DataInfo(),
            Evaluation = new CompareFileEvaluation
            {
                Split = "test",
                Edges = ev.Edges.ToString(),
                Ablation = ev.Circuits.Ablation.ToCliName(),
                Reverse = ev.Circuits.ReverseCleanCorrupt,
            },
            Exports = request.Exports.ToString(),
            Graph = ComparisonFiles.Graph(result),
            KnownCircuit = ComparisonFiles.KnownCircuit(result),
            Metrics = result.Settings.Metrics.Select(m => m.Key).ToList(),
            PatchTypes = result.Settings.PatchTypes.Select(EvaluationNames.PatchTypeName).ToList(),
            MemoryMeasure = ResourceUsage.Description,
            Algorithms = result.Algorithms.Select(a => ComparisonFiles.Algorithm(result, a)).ToList(),
            Agreement = ComparisonFiles.Agreement(result),
        };
    }
}
