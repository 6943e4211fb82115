using System.Diagnostics;
using System.Globalization;
using AutoCircuit.Models.Checkpoints;
using static TorchSharp.torch;

namespace AutoCircuit.Bench;

/// <summary>Peak memory of loading a checkpoint (Linux VmHWM around <see cref="HfCheckpoint.Load"/>).</summary>
/// <param name="Folder">The checkpoint.</param>
/// <param name="DType">Compute dtype the model was loaded in.</param>
/// <param name="ModelBytes">Bytes of the model's parameters in that dtype.</param>
/// <param name="BaselineRssBytes">Resident memory before loading.</param>
/// <param name="PeakRssBytes">Peak resident memory while loading (-1 where unknown).</param>
/// <param name="Seconds">Wall time of the load.</param>
internal sealed record LoadMemoryReport(string Folder, ScalarType DType, long ModelBytes, long BaselineRssBytes, long PeakRssBytes, double Seconds)
{
    /// <summary>Peak minus baseline: what loading needed.</summary>
    public long LoadBytes => PeakRssBytes < 0 ? -1 : PeakRssBytes - BaselineRssBytes;

    /// <summary>Loading's memory over the model's (the goal: at most 1.1).</summary>
    public double Ratio => (double)LoadBytes / ModelBytes;

    /// <summary>A readable line.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"load {Folder} in {DType.ToString().ToLowerInvariant()}: model {ModelBytes / 1e9:0.000} GB; resident {BaselineRssBytes / 1e9:0.000} GB before, " +
        $"peak {PeakRssBytes / 1e9:0.000} GB (+{LoadBytes / 1e9:0.000} GB = {Ratio:0.000} x the model); {Seconds:0.0} s");

    /// <summary>Loads <paramref name="folder"/> in <paramref name="dtype"/> and measures the peak; the model is disposed.</summary>
    public static LoadMemoryReport Measure(string folder, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(folder);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = MemoryReport.Rss("VmRSS");
        MemoryReport.ResetPeak();
        var sw = Stopwatch.StartNew();
        var (model, _) = HfCheckpoint.Load(folder, dtype);
        var seconds = sw.Elapsed.TotalSeconds;
        var peak = MemoryReport.Rss("VmHWM");
        using (model)
        {
            var bytes = model.parameters().Sum(p => p.numel() * p.element_size());
            return new LoadMemoryReport(folder, dtype, bytes, baseline, peak, seconds);
        }
    }
}
