using System.Globalization;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Runtime;

/// <summary>How a job uses the machine (<c>--threads</c>, <c>--max-patch-memory</c>, <c>--patch-buffer-dtype</c>); never changes results beyond float rounding.</summary>
/// <param name="Threads">libtorch intra-op threads, or <c>null</c> for <see cref="TorchThreading"/>'s default.</param>
/// <param name="MaxPatchMemoryBytes">Budget for the source-output buffers of one batch, or <c>null</c>.</param>
/// <param name="BufferDType">Element type of the source-output buffers (CUDA only), or <c>null</c> for the model's.</param>
public sealed record PerformanceSettings(int? Threads = null, long? MaxPatchMemoryBytes = null, ScalarType? BufferDType = null)
{
    /// <summary>The defaults.</summary>
    public static PerformanceSettings Default { get; } = new();

    /// <summary>The engine options.</summary>
    public PatchOptions PatchOptions => new(MaxPatchMemoryBytes, BufferDType);

    /// <summary>Applies the thread policy for <paramref name="model"/>; returns the threads in use.</summary>
    public int ApplyThreads(IHookedModel model) => TorchThreading.Apply(Threads, model);

    /// <summary>Parses a byte size: a number with an optional unit <c>B</c>, <c>KB</c>, <c>MB</c>, <c>GB</c>, <c>TB</c> (powers of 1024; <c>K</c>, <c>M</c>, <c>G</c>, <c>T</c>, <c>KiB</c>.. too), e.g. <c>2GB</c>, <c>512M</c>, <c>1.5G</c>.</summary>
    /// <exception cref="AutoCircuitException">Not a positive size.</exception>
    public static long ParseByteSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToUpperInvariant().Replace("IB", "B", StringComparison.Ordinal);
        var units = new (string Suffix, long Factor)[]
        {
            ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10),
            ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1),
        };
        var (suffix, factor) = units.FirstOrDefault(u => t.EndsWith(u.Suffix, StringComparison.Ordinal));
        var number = suffix is null ? t : t[..^suffix.Length].Trim();
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || double.IsInfinity(value))
        {
            throw new AutoCircuitException($"--max-patch-memory {text}: expected a positive size such as 2GB, 512MB or 1500000000.");
        }

        var bytes = value * (suffix is null ? 1 : factor);
        return bytes >= long.MaxValue ? long.MaxValue : Math.Max(1, (long)bytes);
    }
}
