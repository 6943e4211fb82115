using System.Globalization;
using System.Text;
using System.Text.Json;
using AutoCircuit.Bench.Outputs;

namespace AutoCircuit.Bench;

/// <summary>The measurements of one shape.</summary>
/// <param name="Shape">The model shape and batch.</param>
/// <param name="Sources">Source nodes of the factorized graph (separate Q/K/V destinations).</param>
/// <param name="DestinationModules">Destination modules (hook points with a mask).</param>
/// <param name="Edges">Edges.</param>
/// <param name="EvaluatedSizes">Circuit sizes of the evaluation benchmark.</param>
/// <param name="Forward">Plain forward pass, ms.</param>
/// <param name="PatchedForward">Patched forward pass (every mask live, all 0), ms.</param>
/// <param name="ForwardBackward">Forward with gradients + backward to the first residual stream, ms.</param>
/// <param name="MaskGradient">mask-gradient (EAP) per batch, ms.</param>
/// <param name="EvaluatePerSize">Circuit evaluation per circuit size (one batch), ms.</param>
/// <param name="PatchedOverForward">Patched forward / plain forward, per repetition.</param>
/// <param name="MaskGradientOver2F1B">mask-gradient per batch / (plain forward + forward-with-backward), per repetition.</param>
/// <param name="EvaluateOverForward">Evaluation per size / plain forward, per repetition.</param>
/// <param name="AcdcOverForward">ACDC cost per tested edge / plain forward.</param>
/// <param name="AcdcMethod">How the ACDC cost was obtained.</param>
/// <param name="AcdcEdgeMs">ACDC cost per tested edge, ms.</param>
/// <param name="AcdcRestart">ACDC's steps with and without the destination-block restart.</param>
/// <param name="MinimumSourceBufferBytes"><c>n_src x batch x seq x d_model x bytes</c>.</param>
/// <param name="Memory">Peak source-buffer bytes during mask-gradient (the headline memory ratio).</param>
/// <param name="EvaluationMemory">Peak source-buffer bytes during circuit evaluation.</param>
/// <param name="SingleCircuitMemory">Peak source-buffer bytes while one circuit size is evaluated.</param>
/// <param name="AcdcMemory">Peak source-buffer bytes during ACDC's first steps.</param>
/// <param name="Floors">The arithmetic floors of the first two ratios.</param>
internal sealed record ShapeReport(
    BenchShape Shape,
    int Sources,
    int DestinationModules,
    int Edges,
    IReadOnlyList<int> EvaluatedSizes,
    Stat Forward,
    Stat PatchedForward,
    Stat ForwardBackward,
    Stat MaskGradient,
    Stat EvaluatePerSize,
    Stat PatchedOverForward,
    Stat MaskGradientOver2F1B,
    Stat EvaluateOverForward,
    Stat AcdcOverForward,
    string AcdcMethod,
    Stat AcdcEdgeMs,
    AcdcRestartReport AcdcRestart,
    long MinimumSourceBufferBytes,
    SourceBufferReport? Memory,
    SourceBufferReport? EvaluationMemory,
    SourceBufferReport? SingleCircuitMemory = null,
    SourceBufferReport? AcdcMemory = null,
    ArithmeticFloors? Floors = null);

/// <summary>
/// What the arithmetic alone allows for the ratios: the patch's matrix products
/// (<paramref name="PatchMultiplyAdds"/>, every destination's mask entries x its rows' tokens x d_model) added to the
/// model's own (<paramref name="ModelMultiplyAdds"/>, <see cref="BenchShape.ModelMultiplyAdds"/>). Memory traffic and
/// per-operation costs are not in it, so no implementation reaches it.
/// </summary>
/// <param name="ModelMultiplyAdds">Multiply-adds of one plain forward pass.</param>
/// <param name="PatchMultiplyAdds">Multiply-adds of the patch of one pass with every mask live.</param>
internal sealed record ArithmeticFloors(double ModelMultiplyAdds, double PatchMultiplyAdds)
{
    /// <summary>Patched / plain forward: <c>1 + P / F</c>.</summary>
    public double PatchedOverForward => 1 + (PatchMultiplyAdds / ModelMultiplyAdds);

    /// <summary>
    /// mask-gradient / (2F + 1B): the algorithm runs the ablation pass (F), the clean pass with all-zero masks (F,
    /// no patch product: a zero mask changes nothing) and its backward (input gradients only, F's multiply-adds), plus one
    /// patch-sized product for the mask gradients: <c>1 + P / 3F</c>.
    /// </summary>
    public double MaskGradientOver2F1B => 1 + (PatchMultiplyAdds / (3 * ModelMultiplyAdds));
}

/// <summary>ACDC per tested edge with the destination-block restart and with full forward passes.</summary>
/// <param name="Steps">Which steps were timed.</param>
/// <param name="WithRestartMs">ms per edge, restarting at the destination's block.</param>
/// <param name="FullForwardMs">ms per edge, full forward passes.</param>
internal sealed record AcdcRestartReport(string Steps, Stat WithRestartMs, Stat FullForwardMs)
{
    /// <summary>Full forward / restart.</summary>
    public double Speedup => FullForwardMs.Median / WithRestartMs.Median;
}

/// <summary>Peak bytes of source-output-shaped buffers the engine held during one operation.</summary>
/// <param name="Operation">What ran (e.g. mask-gradient on 2 batches).</param>
/// <param name="PeakBytes">Peak of the live source-output buffers.</param>
/// <param name="MinimumBytes"><c>n_src x batch x seq x d_model x bytes</c>.</param>
internal sealed record SourceBufferReport(string Operation, long PeakBytes, long MinimumBytes)
{
    /// <summary>Peak over minimum.</summary>
    public double Ratio => (double)PeakBytes / MinimumBytes;
}

/// <summary>Everything one <c>bench</c> run measured.</summary>
/// <param name="Machine">The machine.</param>
/// <param name="Repetitions">Timed repetitions per operation.</param>
/// <param name="Shapes">Per-shape results, in the order run.</param>
/// <param name="BufferDType">Element type of the source-output buffers (<c>--patch-buffer-dtype</c>), or <c>null</c> for the
/// model's.</param>
/// <param name="SeparateQkv">Whether the graphs had separate Q/K/V destinations per head.</param>
internal sealed record BenchReport(
    MachineInfo Machine, int Repetitions, IReadOnlyList<ShapeReport> Shapes, string? BufferDType = null, bool SeparateQkv = true)
{
    /// <summary>The shape whose ratios are the headline numbers: the last (largest) one measured.</summary>
    public ShapeReport Reference => Shapes[^1];

    /// <summary>One JSON object: the headline ratios (medians, reference shape) at the top, then every shape in detail.</summary>
    public string ToJson()
    {
        var r = Reference;
        var file = new BenchFile
        {
            ReferenceShape = r.Shape.Name,
            PatchedForwardOverForward = Round(r.PatchedOverForward.Median),
            MaskGradientOver2F1B = Round(r.MaskGradientOver2F1B.Median),
            AcdcEdgeOverForward = Round(r.AcdcOverForward.Median),
            EvaluateCountOverForward = Round(r.EvaluateOverForward.Median),
            SrcBufferBytesOverMinimum = r.Memory is null ? null : Round(r.Memory.Ratio),
            PatchedForwardFloor = r.Floors is null ? null : Round(r.Floors.PatchedOverForward),
            MaskGradientFloor = r.Floors is null ? null : Round(r.Floors.MaskGradientOver2F1B),
            Machine = new BenchMachine
            {
                Cpu = Machine.Cpu,
                Cores = Machine.Cores,
                TorchThreads = Machine.TorchThreads,
                Device = Machine.Device,
                Os = Machine.Os,
                LoadAverage1m = Machine.LoadAverage,
            },
            Repetitions = Repetitions,
            PatchBufferDtype = BufferDType ?? "model",
            SeparateQkv = SeparateQkv,
            Shapes = Shapes.Select(ShapeJson).ToList(),
        };
        return JsonSerializer.Serialize(file, BenchJsonContext.Default.BenchFile);
    }

    /// <summary>A Markdown table of the ratios (median [q1, q3]) per shape.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        var m = Machine;
        sb.AppendLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Machine: {m.Cpu}, {m.Cores} cores, {m.TorchThreads} torch thread(s), device {m.Device}; {Repetitions} repetitions; " +
            $"{(BufferDType is null ? string.Empty : $"source buffers {BufferDType}; ")}" +
            $"{(SeparateQkv ? "separate Q/K/V destinations" : "one attention-input destination per head")}; median [first quartile, third quartile]."));
        sb.AppendLine();
        sb.AppendLine("| shape | sources / edges | forward ms | patched / forward | floor | mask-gradient / (2F+1B) | floor | ACDC edge / forward | ACDC restart speedup | evaluate size / forward | source buffers / minimum (mask-gradient, evaluation, one circuit, ACDC) |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in Shapes)
        {
            sb.AppendLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {s.Shape.Name} ({s.Shape.Layers}x{s.Shape.Heads}x{s.Shape.DModel}, vocab {s.Shape.Vocab}, {s.Shape.Batch}x{s.Shape.Seq}) " +
                $"| {s.Sources} / {s.Edges} | {s.Forward.Median:0.0} | {Fmt(s.PatchedOverForward)} | {Floor(s.Floors?.PatchedOverForward)} " +
                $"| {Fmt(s.MaskGradientOver2F1B)} | {Floor(s.Floors?.MaskGradientOver2F1B)} " +
                $"| {Fmt(s.AcdcOverForward)} | {s.AcdcRestart.Speedup:0.0}x | {Fmt(s.EvaluateOverForward)} " +
                $"| {string.Join(", ", new[] { s.Memory, s.EvaluationMemory, s.SingleCircuitMemory, s.AcdcMemory }.Select(m => m is null ? "-" : m.Ratio.ToString("0.00", CultureInfo.InvariantCulture)))} |"));
        }

        sb.AppendLine();
        sb.AppendLine("Floor: the ratio the arithmetic alone allows (the patch's multiply-adds over the model's; see docs/performance.md).");
        return sb.ToString();
    }

    private static string Floor(double? floor) => floor is double f ? f.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static string Fmt(Stat s) => s.Count == 1
        ? s.Median.ToString("0.00", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{s.Median:0.00} [{s.Q1:0.00}, {s.Q3:0.00}]");

    private static BenchShapeResult ShapeJson(ShapeReport s) => new()
    {
        Name = s.Shape.Name,
        Layers = s.Shape.Layers,
        Heads = s.Shape.Heads,
        DModel = s.Shape.DModel,
        DMlp = 4 * s.Shape.DModel,
        Vocab = s.Shape.Vocab,
        Batch = s.Shape.Batch,
        Seq = s.Shape.Seq,
        Parameters = s.Shape.Parameters,
        Srcs = s.Sources,
        DestModules = s.DestinationModules,
        Edges = s.Edges,
        EvaluatedSizes = s.EvaluatedSizes,
        Ratios = new BenchRatios
        {
            PatchedForwardOverForward = StatJson(s.PatchedOverForward),
            MaskGradientOver2F1B = StatJson(s.MaskGradientOver2F1B),
            AcdcEdgeOverForward = StatJson(s.AcdcOverForward),
            EvaluateCountOverForward = StatJson(s.EvaluateOverForward),
            SrcBufferBytesOverMinimum = s.Memory is null ? null : Round(s.Memory.Ratio),
        },
        TimesMs = new BenchTimes
        {
            Forward = StatJson(s.Forward),
            PatchedForward = StatJson(s.PatchedForward),
            ForwardBackward = StatJson(s.ForwardBackward),
            MaskGradientBatch = StatJson(s.MaskGradient),
            EvaluatePerSize = StatJson(s.EvaluatePerSize),
            AcdcEdge = StatJson(s.AcdcEdgeMs),
        },
        Floors = s.Floors is not { } f ? null : new BenchFloors
        {
            ModelMultiplyAdds = f.ModelMultiplyAdds,
            PatchMultiplyAdds = f.PatchMultiplyAdds,
            PatchedForwardOverForward = Round(f.PatchedOverForward),
            MaskGradientOver2F1B = Round(f.MaskGradientOver2F1B),
        },
        AcdcMethod = s.AcdcMethod,
        AcdcRestart = new BenchAcdcRestart
        {
            Steps = s.AcdcRestart.Steps,
            MsPerEdgeWithRestart = StatJson(s.AcdcRestart.WithRestartMs),
            MsPerEdgeFullForward = StatJson(s.AcdcRestart.FullForwardMs),
            Speedup = Round(s.AcdcRestart.Speedup),
        },
        SrcBuffer = new[] { s.Memory, s.EvaluationMemory, s.SingleCircuitMemory, s.AcdcMemory }.OfType<SourceBufferReport>().Select(m => new BenchSourceBuffer
        {
            Operation = m.Operation,
            PeakBytes = m.PeakBytes,
            MinimumBytes = m.MinimumBytes,
            Ratio = Round(m.Ratio),
        }).ToList(),
    };

    private static BenchStat StatJson(Stat s) => new()
    {
        Median = Round(s.Median),
        Q1 = Round(s.Q1),
        Q3 = Round(s.Q3),
        Min = Round(s.Min),
        Max = Round(s.Max),
        N = s.Count,
    };

    private static double? Round(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;
}
