using System.Diagnostics;
using System.Globalization;
using AutoCircuit.Bench.Outputs;
using TorchSharp;

namespace AutoCircuit.Bench;

/// <summary>Peak memory of one mask-gradient batch on a shape (<c>bench --memory-only</c>).</summary>
/// <param name="Shape">The model shape and batch.</param>
/// <param name="Parameters">Model parameters.</param>
/// <param name="BaselineRssBytes">Resident memory after building the model and data, before the batch.</param>
/// <param name="PeakRssBytes">Peak resident memory during the batch (Linux VmHWM, reset before it), or -1 where unknown.</param>
/// <param name="SourceBufferPeakBytes">Peak of the engine's source-output buffers during the batch.</param>
/// <param name="MinimumSourceBufferBytes"><c>n_src x batch x seq x d_model x bytes</c>.</param>
/// <param name="Seconds">Wall time of the batch.</param>
internal sealed record MemoryReport(
    BenchShape Shape, long Parameters, long BaselineRssBytes, long PeakRssBytes, long SourceBufferPeakBytes,
    long MinimumSourceBufferBytes, double Seconds)
{
    /// <summary>The <c>--max-patch-memory</c> budget the batch ran under, or <c>null</c>.</summary>
    public long? MaxPatchMemoryBytes { get; init; }

    /// <summary>Peak minus baseline: what the mask-gradient batch itself needs.</summary>
    public long BatchBytes => PeakRssBytes < 0 ? -1 : PeakRssBytes - BaselineRssBytes;

    /// <summary>One line of JSON.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(
        new BenchMemoryLine
        {
            Shape = Shape.Name,
            Layers = Shape.Layers,
            Heads = Shape.Heads,
            DModel = Shape.DModel,
            Vocab = Shape.Vocab,
            Batch = Shape.Batch,
            Seq = Shape.Seq,
            Parameters = Parameters,
            BaselineRssBytes = BaselineRssBytes,
            PeakRssBytes = PeakRssBytes,
            MaskGradientBatchBytes = BatchBytes,
            SrcBufferPeakBytes = SourceBufferPeakBytes,
            SrcBufferMinimumBytes = MinimumSourceBufferBytes,
            MaxPatchMemoryBytes = MaxPatchMemoryBytes,
            Seconds = Math.Round(Seconds, 2),
        },
        BenchJsonContext.Compact.BenchMemoryLine);

    /// <summary>A readable line.</summary>
    public override string ToString() => FormattableString.Invariant(
        $"{Shape.Describe()}: resident {BaselineRssBytes / 1e9:0.00} GB before, peak {PeakRssBytes / 1e9:0.00} GB during one ") +
        FormattableString.Invariant(
        $"mask-gradient batch (+{BatchBytes / 1e9:0.00} GB); source buffers {SourceBufferPeakBytes / 1e9:0.00} GB ") +
        FormattableString.Invariant($"(minimum {MinimumSourceBufferBytes / 1e9:0.00} GB)") +
        (MaxPatchMemoryBytes is long b ? FormattableString.Invariant($", budget {b / 1e9:0.00} GB") : string.Empty) +
        FormattableString.Invariant($"; {Seconds:0.0} s");

    /// <summary>Builds the shape's workload and measures one mask-gradient batch.</summary>
    /// <param name="shape">The model shape and batch.</param>
    /// <param name="device">Where to run.</param>
    /// <param name="patchOptions">Engine options, e.g. a <c>--max-patch-memory</c> budget; <c>null</c>: the defaults.</param>
    /// <param name="separateQkv">Separate Q/K/V destinations per head (the default), or one attention input per head.</param>
    public static MemoryReport Measure(BenchShape shape, torch.Device device, AutoCircuit.Engine.Patching.PatchOptions? patchOptions = null, bool separateQkv = true)
    {
        ArgumentNullException.ThrowIfNull(shape);
        using var w = new BenchWorkload(shape, device, batchCount: 1, patchOptions: patchOptions, separateQkv: separateQkv);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = Rss("VmRSS");
        ResetPeak();
        var sw = Stopwatch.StartNew();
        var buffers = w.PeakSourceBufferBytes(() => w.MaskGradient());
        var seconds = sw.Elapsed.TotalSeconds;
        var peak = Rss("VmHWM");
        return new MemoryReport(shape, shape.Parameters, baseline, peak, buffers, w.MinimumSourceBufferBytes, seconds)
        {
            MaxPatchMemoryBytes = patchOptions?.MaxPatchMemoryBytes,
        };
    }

    internal static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5"); // Linux: resets VmHWM to the current resident size
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static long Rss(string field)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            if (line is null)
            {
                return -1;
            }

            var kb = long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return kb * 1024;
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
