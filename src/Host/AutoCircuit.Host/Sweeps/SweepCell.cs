using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Sweeps;

/// <summary>One cell of a sweep: a normal <c>run</c> of one algorithm on one model and task, evaluated with one ablation
/// and patch type, with one seed.</summary>
/// <param name="Index">The cell's number in the plan's expansion (<c>--cell I</c>, the Slurm array index, the Kubernetes
/// completion index).</param>
/// <param name="Model">The model spec, or <c>null</c> for the task's model.</param>
/// <param name="Data">The task or dataset.</param>
/// <param name="Algorithm">The algorithm spec as in <c>-a</c>.</param>
/// <param name="Ablation">How circuits are ablated in the evaluation (<c>--ablation</c>).</param>
/// <param name="PatchType">Edge or tree patching (<c>--patch-type</c>).</param>
/// <param name="Seed">The seed of the data shuffle and the algorithm (<c>--seed</c>).</param>
internal sealed record SweepCell(
    int Index, string? Model, SweepData Data, string Algorithm, AblationType Ablation, PatchType PatchType, long Seed)
{
    /// <summary>The algorithm key of a spec (the text before <c>:</c>).</summary>
    public static string AlgorithmKeyOf(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        return (colon < 0 ? spec : spec[..colon]).Trim();
    }

    /// <summary>The model as shown in tables.</summary>
    public string ModelLabel => Model is null ? "default" : Directory.Exists(Model) || File.Exists(Model) ? Path.GetFileName(Model.TrimEnd('/')) : Model;

    /// <summary>One line describing the cell.</summary>
    public string Describe() =>
        $"cell {Index}: model {ModelLabel}, {(Data.Task is not null ? "task" : "dataset")} {Data.Label}, {Algorithm}, " +
        $"{Ablation.ToCliName()}, {EvaluationNames.PatchTypeName(PatchType)} patch, seed {Seed}";

    /// <summary>The <c>run</c> this cell is, writing into <paramref name="outDir"/>.</summary>
    public RunRequest ToRunRequest(SweepProtocol protocol, string outDir, PerformanceSettings performance)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        var data = new DataArguments(
            protocol.BatchSize, protocol.TrainSize, protocol.TestSize, protocol.Shuffle, Seed, protocol.TokenPositions,
            protocol.PrependBos, protocol.TailDivergence);
        return new RunRequest
        {
            Job = new JobRequest
            {
                Model = Model,
                Task = Data.Task,
                Dataset = Data.Dataset,
                Data = data,
                Factorized = protocol.Factorized,
                SeparateQkv = protocol.SeparateQkv,
                Seed = Seed,
                Device = protocol.Device,
                Performance = performance,
                Out = outDir,
                CommandLine = ["sweep", "--cell", Index.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            },
            Algorithms = [Algorithm],
            Evaluation = Evaluation(protocol),
            TopEdges = 10,
        };
    }

    /// <summary>How this cell's circuits are evaluated.</summary>
    public EvaluationSettings Evaluation(SweepProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        return new EvaluationSettings(
            protocol.Edges is null ? EdgeCountRequest.Default : EdgeCountRequest.Parse(protocol.Edges),
            new CircuitRunOptions(PatchType, Ablation, protocol.Reverse));
    }
}
