using System.Runtime.InteropServices;

namespace AutoCircuit.Engine.Runtime;

/// <summary>
/// Where libtorch's native libraries come from. By default the build ships them (the <c>libtorch-cpu-linux-x64</c>
/// package, or <c>libtorch-cuda-12.8-linux-x64</c> with <c>-p:TorchBackend=cuda</c>). A build made with
/// <c>-p:TorchBackend=none</c> ships none and uses an installed libtorch instead, for example the one inside a PyTorch
/// wheel (<c>python3 -c "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))"</c>), which is
/// how a GPU machine without access to the CUDA NuGet package runs on CUDA. Point
/// <see cref="Variable"/> at that folder (or put it on <c>LD_LIBRARY_PATH</c>): the libraries are loaded from there,
/// by full path, before TorchSharp looks for them by name, so TorchSharp binds to those very copies.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 is built against libtorch 2.10; PyTorch 2.11 (CUDA 13.0) was checked on an H200: every C++ symbol
/// libLibTorchSharp needs resolves, and the CUDA tests pass (README, "GPU").
/// </remarks>
internal static class NativeLibTorch
{
    /// <summary>The environment variable naming an installed libtorch's library folder.</summary>
    public const string Variable = "AUTOCIRCUIT_LIBTORCH";

    private static readonly string[] Required = ["c10", "torch_cpu", "torch"];
    private static readonly string[] Optional = ["c10_cuda", "torch_cuda"];
    private static readonly object Gate = new();
    private static IReadOnlyList<string>? _loaded;
    private static string? _loadedFrom;

    /// <summary>The folder libtorch was loaded from by <see cref="Preload"/>, or <c>null</c>.</summary>
    public static string? LoadedFrom
    {
        get
        {
            lock (Gate)
            {
                return _loadedFrom;
            }
        }
    }

    /// <summary>
    /// Loads libtorch from <see cref="Variable"/>'s folder when it is set (once per process: a later call for the same
    /// folder returns the first result, one for another folder is refused). Does nothing when it is unset.
    /// </summary>
    /// <returns>The files loaded, in order (empty when the variable is unset).</returns>
    /// <exception cref="AutoCircuitException">The folder is missing or lacks a required library, a library fails to
    /// load, or this build ships its own libtorch (two copies in one process would break libtorch's registries).</exception>
    public static IReadOnlyList<string> PreloadFromEnvironment() =>
        Preload(Environment.GetEnvironmentVariable(Variable), AppContext.BaseDirectory);

    /// <summary>Loads libtorch from <paramref name="folder"/> (see <see cref="PreloadFromEnvironment"/>).</summary>
    /// <param name="folder">The library folder, or <c>null</c>/blank for none.</param>
    /// <param name="appDirectory">The application's folder (checked for a libtorch of its own).</param>
    /// <returns>The files loaded, in order.</returns>
    /// <exception cref="AutoCircuitException">See <see cref="PreloadFromEnvironment"/>.</exception>
    public static IReadOnlyList<string> Preload(string? folder, string appDirectory)
    {
        if (string.IsNullOrWhiteSpace(folder))
        {
            return [];
        }

        lock (Gate)
        {
            var dir = Path.GetFullPath(folder.Trim());
            if (!Directory.Exists(dir))
            {
                throw new AutoCircuitException(
                    $"{Variable}={folder}: no such folder. Expected libtorch's library folder, e.g. the output of " +
                    "python3 -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\".",
                    ExitCode.DeviceUnavailable);
            }

            if (ShippedCopy(appDirectory) is { } own)
            {
                throw new AutoCircuitException(
                    $"{Variable}={folder}: this build ships its own libtorch ({own}); two copies in one process do not work. " +
                    $"Unset {Variable}, or build with -p:TorchBackend=none to use an installed libtorch.",
                    ExitCode.DeviceUnavailable);
            }

            var missing = Required.Select(FileName).Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
            if (missing.Count > 0)
            {
                throw new AutoCircuitException(
                    $"{Variable}={folder}: {string.Join(", ", missing)} not found there (expected libtorch's library folder, " +
                    $"with {string.Join(", ", Required.Select(FileName))}).",
                    ExitCode.DeviceUnavailable);
            }

            if (_loaded is not null)
            {
                return _loadedFrom == dir
                    ? _loaded
                    : throw new AutoCircuitException(
                        $"{Variable}={folder}: libtorch is already loaded from {_loadedFrom} in this process.", ExitCode.DeviceUnavailable);
            }

            var loaded = new List<string>();
            foreach (var name in Required.Concat(Optional))
            {
                var path = Path.Combine(dir, FileName(name));
                if (!File.Exists(path))
                {
                    continue; // a CPU-only libtorch has no CUDA libraries
                }

                try
                {
                    NativeLibrary.Load(path);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    throw new AutoCircuitException($"{Variable}={folder}: {FileName(name)} did not load: {e.Message}", ExitCode.DeviceUnavailable);
                }

                loaded.Add(path);
            }

            _loaded = loaded;
            _loadedFrom = dir;
            return loaded;
        }
    }

    /// <summary>The libtorch library that ships next to the application, if any.</summary>
    /// <param name="appDirectory">The application's folder.</param>
    /// <returns>Its path relative to <paramref name="appDirectory"/>, or <c>null</c>.</returns>
    public static string? ShippedCopy(string appDirectory)
    {
        var file = FileName("torch_cpu");
        string[] candidates = [file, Path.Combine("runtimes", RuntimeInformation.RuntimeIdentifier, "native", file), Path.Combine("runtimes", NativeRid, "native", file)];
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(appDirectory, c)));
    }

    /// <summary>What to tell a user whose libtorch did not load (TorchSharp's own message names NuGet packages only).</summary>
    public const string LoadFailureHelp =
        "libtorch's native libraries could not be loaded. A normal build ships them; a build made with " +
        "-p:TorchBackend=none needs an installed libtorch: set " + Variable + " to its library folder (e.g. a PyTorch " +
        "install's torch/lib) or put that folder on LD_LIBRARY_PATH.";

    private static string NativeRid =>
        (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux") + "-" +
        RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();

    private static string FileName(string name) =>
        OperatingSystem.IsWindows() ? $"{name}.dll" : OperatingSystem.IsMacOS() ? $"lib{name}.dylib" : $"lib{name}.so";
}
