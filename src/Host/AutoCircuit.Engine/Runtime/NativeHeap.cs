using System.Runtime.InteropServices;

namespace AutoCircuit.Engine.Runtime;

/// <summary>
/// How glibc's <c>malloc</c> (which libtorch's CPU tensors come from) keeps freed memory: on Linux the engine asks it to
/// keep large freed blocks for the next allocation instead of handing them back to the kernel.
/// </summary>
/// <remarks>
/// <para>By default glibc serves each block above its mmap threshold (128 KiB, rising with the largest block freed, at
/// most 32 MiB) with a fresh <c>mmap</c>, returns it with <c>munmap</c> when freed, and trims the heap's free top
/// beyond 128 KiB. libtorch on the CPU has no caching allocator, so every pass allocates its activations, the
/// per-head Q/K/V inputs, the difference buffer and the backward pass's gradients again, and the kernel zeroes every
/// page of them on first touch: one mask-gradient batch at GPT-2 small's shape, batch 8 x 32, took 77,500 page faults
/// (about 300 MB zeroed; <c>clear_page</c> was 13.6% of its profile). With mmap off for the heap and the trim
/// threshold at 2 GiB, freed blocks are reused: 12,000 faults per forward, forward-backward and mask-gradient batch
/// together, against 75,000, and the same peak resident memory (see docs/performance.md).</para>
/// <para>Applied once per process, before the first tensor, by the tool and the thread policy. Left alone when the
/// user has set glibc's own variables (<c>MALLOC_MMAP_MAX_</c>, <c>MALLOC_MMAP_THRESHOLD_</c>,
/// <c>MALLOC_TRIM_THRESHOLD_</c>, <c>MALLOC_TOP_PAD_</c>, <c>GLIBC_TUNABLES</c> with a malloc setting), or
/// <c>AUTOCIRCUIT_NATIVE_HEAP=system</c>; not applied on other C libraries or systems.</para>
/// </remarks>
internal static class NativeHeap
{
    /// <summary>The environment variable that turns the setting off (<c>system</c>).</summary>
    public const string Variable = "AUTOCIRCUIT_NATIVE_HEAP";

    /// <summary>The free heap top (bytes) beyond which glibc returns memory to the kernel once set.</summary>
    public const int TrimThresholdBytes = int.MaxValue;

    private const int MTrimThreshold = -1; // glibc's malloc.h
    private const int MMmapMax = -4;

    private static readonly string[] UserVariables = ["MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"];

    private static readonly object Gate = new();
    private static bool _applied;

    /// <summary>What <see cref="Apply"/> did: <c>reuse</c> (set), or why not (<c>system (AUTOCIRCUIT_NATIVE_HEAP)</c>, <c>system (MALLOC_MMAP_MAX_)</c>, <c>not glibc</c>, ...); <c>null</c> before it ran.</summary>
    public static string? State { get; private set; }

    /// <summary>Sets glibc's heap to keep freed blocks (once per process; later calls do nothing).</summary>
    public static void Apply()
    {
        lock (Gate)
        {
            if (_applied)
            {
                return;
            }

            _applied = true;
            State = Decide(Environment.GetEnvironmentVariable);
            if (State != "reuse")
            {
                return;
            }

            try
            {
                // mallopt returns 1 on success; M_MMAP_MAX 0 serves every block from the heap, the trim threshold keeps
                // the freed top for the next pass.
                if (NativeMethods.MallOpt(MMmapMax, 0) != 1 || NativeMethods.MallOpt(MTrimThreshold, TrimThresholdBytes) != 1)
                {
                    State = "system (mallopt refused)";
                }
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                State = "not glibc";
            }
        }
    }

    /// <summary>
    /// The decision for an environment read by <paramref name="getVariable"/>: <c>reuse</c>, or <c>system (why)</c> /
    /// <c>not linux</c>.
    /// </summary>
    public static string Decide(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        if (!OperatingSystem.IsLinux())
        {
            return "not linux";
        }

        var own = getVariable(Variable);
        if (!string.IsNullOrEmpty(own))
        {
            return own.Trim().ToLowerInvariant() switch
            {
                "system" or "0" or "off" => $"system ({Variable})",
                "reuse" or "1" or "on" => UserChoice(getVariable) ?? "reuse",
                _ => throw new AutoCircuitException($"{Variable}={own}: expected 'reuse' (the default: keep freed native memory for the next pass) or 'system' (glibc's own settings)."),
            };
        }

        return UserChoice(getVariable) ?? "reuse";
    }

    private static string? UserChoice(Func<string, string?> getVariable)
    {
        foreach (var name in UserVariables)
        {
            if (!string.IsNullOrEmpty(getVariable(name)))
            {
                return $"system ({name})";
            }
        }

        var tunables = getVariable("GLIBC_TUNABLES");
        return tunables is not null && tunables.Contains("glibc.malloc.", StringComparison.Ordinal) ? "system (GLIBC_TUNABLES)" : null;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "mallopt", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int MallOpt(int param, int value);
    }
}
