using System.Diagnostics;
using System.Globalization;

namespace AutoCircuit.Host.Comparison;

/// <summary>What one algorithm run cost.</summary>
/// <param name="Wall">Wall-clock time.</param>
/// <param name="PeakRssDeltaBytes">How far the process's resident memory rose above its level at the start (Linux:
/// <c>VmHWM</c> after resetting it through <c>/proc/self/clear_refs</c>, minus <c>VmRSS</c> at the start); covers managed
/// and native (libtorch CPU) memory alike, but not GPU memory. <c>null</c> where the platform does not allow it.</param>
/// <param name="ManagedAllocatedBytes">Bytes the .NET heap allocated meanwhile (<c>GC.GetTotalAllocatedBytes</c>; all
/// threads, including garbage already collected).</param>
public sealed record ResourceUsage(TimeSpan Wall, long? PeakRssDeltaBytes, long ManagedAllocatedBytes)
{
    /// <summary>How the memory figures are measured, for reports.</summary>
    public const string Description =
        "peak RSS: how far the process's resident set rose above its size when the algorithm started (Linux VmHWM, reset " +
        "through /proc/self/clear_refs before each algorithm; managed and native CPU memory, not GPU memory: TorchSharp " +
        "exposes no CUDA allocator statistics); managed: bytes the .NET heap allocated during the run (GC.GetTotalAllocatedBytes).";
}

/// <summary>Measures the wall time and memory of a piece of work (one at a time: the peak is process-wide).</summary>
internal static class ResourceMeter
{
    private const string StatusPath = "/proc/self/status";
    private const string ClearRefsPath = "/proc/self/clear_refs";

    /// <summary>Runs <paramref name="work"/> and measures it.</summary>
    public static (T Result, ResourceUsage Usage) Measure<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var canPeak = ResetPeak();
        var rssBefore = canPeak ? ReadStatusKb("VmRSS") : null;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        var result = work();
        sw.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var peak = canPeak ? ReadStatusKb("VmHWM") : null;
        long? delta = peak is long p && rssBefore is long r ? Math.Max(0, p - r) * 1024 : null;
        return (result, new ResourceUsage(sw.Elapsed, delta, allocated));
    }

    /// <summary>Resets the kernel's peak-RSS counter of this process (Linux 4.0+); false where that is not possible.</summary>
    private static bool ResetPeak()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            File.WriteAllText(ClearRefsPath, "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ReadStatusKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines(StatusPath))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var digits = new string(line.AsSpan(field.Length + 1).ToArray().Where(char.IsDigit).ToArray());
                    return long.Parse(digits, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }

        return null;
    }
}
