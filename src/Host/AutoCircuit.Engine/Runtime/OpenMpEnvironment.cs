using System.Runtime.InteropServices;

namespace AutoCircuit.Engine.Runtime;

/// <summary>
/// The OpenMP settings of the process, put into its native environment before libtorch (and with it the OpenMP
/// runtime it links, libgomp in the bundled build) is loaded: OpenMP reads them once, when it initialises.
/// </summary>
/// <remarks>
/// <para>By default OpenMP's worker threads spin after each parallel region, waiting for the next one. On an idle
/// machine that saves a wake-up; on a loaded one (a shared 2-core machine, a cluster node next to other jobs) the
/// spinning threads take the cores the work needs: mask gradient on auto-circuit's 2-layer micro model took 1.87 ms
/// with 1 thread and 96.6 ms with 2, and 2.24 ms with 2 threads once waiting was passive (issue 17). So waiting is
/// made passive: <c>OMP_WAIT_POLICY=PASSIVE</c> (libgomp, LLVM's and Intel's OpenMP) and <c>KMP_BLOCKTIME=0</c>
/// (Intel's and LLVM's OpenMP, which MKL builds of libtorch may use).</para>
/// <para>A variable the user has set is left as it is. .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// changes only the runtime's own copy on Unix, so the values are written with libc's <c>setenv</c>, where a native
/// library's <c>getenv</c> reads them.</para>
/// </remarks>
internal static class OpenMpEnvironment
{
    /// <summary>The settings applied when the user has not set them.</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Defaults = [("OMP_WAIT_POLICY", "PASSIVE"), ("KMP_BLOCKTIME", "0")];

    private static readonly object Gate = new();
    private static bool _applied;

    /// <summary>Whether an OpenMP runtime or libtorch was already loaded when <see cref="Apply"/> ran (then the settings
    /// came too late for it; <c>null</c> before the first call or where it cannot be told).</summary>
    public static bool? LoadedBefore { get; private set; }

    /// <summary>
    /// Sets every unset variable of <see cref="Defaults"/> in the process's native environment (once per process;
    /// later calls do nothing). Call it before the first use of libtorch.
    /// </summary>
    public static void Apply()
    {
        lock (Gate)
        {
            if (_applied)
            {
                return;
            }

            _applied = true;
            LoadedBefore = OpenMpLoaded();
            foreach (var (name, value) in Defaults)
            {
                if (!string.IsNullOrEmpty(NativeValue(name)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)))
                {
                    continue; // the user's choice
                }

                if (!OperatingSystem.IsWindows())
                {
                    _ = NativeMethods.SetEnv(name, value, 0);
                }

                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    /// <summary>A variable as native code reads it (libc's <c>getenv</c>; on Windows the process environment).</summary>
    public static string? NativeValue(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return OperatingSystem.IsWindows() ? Environment.GetEnvironmentVariable(name) : Marshal.PtrToStringUTF8(NativeMethods.GetEnv(name));
    }

    /// <summary>Whether libtorch or an OpenMP runtime is mapped into this process (Linux; <c>null</c> elsewhere).</summary>
    public static bool? OpenMpLoaded()
    {
        const string maps = "/proc/self/maps";
        if (!OperatingSystem.IsLinux() || !File.Exists(maps))
        {
            return null;
        }

        try
        {
            return File.ReadLines(maps).Any(l =>
                l.Contains("libgomp", StringComparison.Ordinal) || l.Contains("libiomp", StringComparison.Ordinal) ||
                l.Contains("libomp", StringComparison.Ordinal) || l.Contains("libtorch_cpu", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "setenv", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

        [DllImport("libc", EntryPoint = "getenv", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    }
}
