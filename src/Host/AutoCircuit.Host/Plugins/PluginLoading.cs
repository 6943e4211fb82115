using System.Diagnostics;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using McMaster.NETCore.Plugins;
using TorchSharp;

namespace AutoCircuit.Host.Plugins;

/// <summary>
/// Finds plugin assemblies (<c>&lt;folder&gt;/&lt;Name&gt;/&lt;Name&gt;.dll</c>) and loads each into its own
/// load context with McMaster.NETCore.Plugins, sharing AutoCircuit.Abstractions and TorchSharp with the host (so
/// an algorithm created in the plugin is an <see cref="IPruneAlgorithm"/> here, tensors cross the boundary and
/// libtorch is loaded once). The only thing read from a plugin is its generated
/// <see cref="AlgorithmRegistryAttribute"/>; types are never scanned.
/// </summary>
/// <remarks>
/// A plugin that cannot be used becomes a <see cref="PluginFailure"/> (the caller warns and skips it): an assembly
/// built against an incompatible AutoCircuit.Abstractions (checked from its assembly references before it is loaded,
/// and again from its registry), a missing dependency, an exception while loading or reading the registry, a missing
/// or invalid registry. Whether a failure is fatal is decided later, when an algorithm is asked for by name.
/// </remarks>
public static partial class PluginLoading
{
    /// <summary>The name of the plugin contract assembly.</summary>
    public const string AbstractionsAssemblyName = "AutoCircuit.Abstractions";

    private static readonly Type[] SharedTypes = [typeof(IPruneAlgorithm), typeof(torch.Tensor), typeof(torch.nn.Module)];

    /// <summary>The AutoCircuit.Abstractions version of this host (plugins need the same major, no newer).</summary>
    public static Version HostSdkVersion { get; } = typeof(IPruneAlgorithm).Assembly.GetName().Version!;

    /// <summary>Discovers and loads every plugin on <paramref name="searchPath"/>, in order.</summary>
    public static PluginLoadReport Load(PluginSearchPath searchPath)
    {
        ArgumentNullException.ThrowIfNull(searchPath);
        if (searchPath.Directories.Count == 0)
        {
            return PluginLoadReport.Empty;
        }

        var clock = Stopwatch.StartNew();
        var warnings = new List<string>();
        var loaded = new List<LoadedPlugin>();
        var failures = new List<PluginFailure>();
        foreach (var candidate in Discover(searchPath, warnings))
        {
            var (plugin, failure) = LoadOne(candidate);
            if (plugin is not null)
            {
                loaded.Add(plugin);
            }

            if (failure is not null)
            {
                failures.Add(failure);
            }
        }

        return new PluginLoadReport(loaded, failures, warnings, clock.Elapsed);
    }

    /// <summary>
    /// The plugin assemblies of the search path: for every subfolder <c>&lt;Name&gt;</c> of every folder (ordinal
    /// order), <c>&lt;Name&gt;/&lt;Name&gt;.dll</c>. Subfolders without it and assemblies lying directly in a plugin
    /// folder are reported in <paramref name="warnings"/>, as are missing folders named by <c>AUTOCIRCUIT_PLUGINS</c>.
    /// </summary>
    public static IReadOnlyList<PluginCandidate> Discover(PluginSearchPath searchPath, ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(searchPath);
        ArgumentNullException.ThrowIfNull(warnings);
        var candidates = new List<PluginCandidate>();
        foreach (var directory in searchPath.Directories)
        {
            if (!Directory.Exists(directory.Path))
            {
                if (directory.Source == PluginSource.Environment)
                {
                    warnings.Add($"{PluginSearchPath.EnvironmentVariable} names {directory.Path}, which does not exist.");
                }

                continue;
            }

            foreach (var stray in Directory.GetFiles(directory.Path, "*.dll").Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileNameWithoutExtension(stray);
                warnings.Add($"{stray} lies directly in the plugin folder and is not loaded: put it in its own subfolder, {name}/{name}.dll.");
            }

            foreach (var folder in Directory.GetDirectories(directory.Path).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(folder);
                if (name.StartsWith('.'))
                {
                    continue;
                }

                var assembly = Path.Combine(folder, name + ".dll");
                if (File.Exists(assembly))
                {
                    candidates.Add(new PluginCandidate(name, assembly, directory));
                }
                else
                {
                    warnings.Add($"{folder} has no {name}.dll (a plugin is <folder>/<Name>/<Name>.dll); skipped.");
                }
            }
        }

        return candidates;
    }

    /// <summary>Loads one plugin and reads its registry; exactly one of the results is not <c>null</c>.</summary>
    public static (LoadedPlugin? Plugin, PluginFailure? Failure) LoadOne(PluginCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        PluginLoader? loader = null;
        (LoadedPlugin?, PluginFailure?) Fail(string reason)
        {
            loader?.Dispose();
            return (null, new PluginFailure(candidate, reason));
        }

        try
        {
            // Checked before loading: the runtime cannot bind a newer AutoCircuit.Abstractions than the host's, and
            // its error would not say what to change.
            var referenced = ReferencedAbstractionsVersion(candidate.AssemblyPath);
            if (referenced is null)
            {
                return Fail($"it does not reference {AbstractionsAssemblyName}, so it holds no AutoCircuit algorithms.");
            }

            if (Incompatibility(referenced) is { } tooNew)
            {
                return Fail(tooNew);
            }

            loader = PluginLoader.CreateFromAssemblyFile(candidate.AssemblyPath, SharedTypes, c => c.PreferSharedTypes = true);
            var registry = RegistryReader.Read(loader.LoadDefaultAssembly());
            if (registry is null)
            {
                return Fail(
                    "it has no algorithm registry. Build it with the AutoCircuit.Abstractions package, whose source " +
                    "generator writes the registry for every [PruneAlgorithm] class.");
            }

            if (!Version.TryParse(registry.SdkVersion, out var sdk))
            {
                return Fail($"its algorithm registry is invalid: SdkVersion '{registry.SdkVersion}' is not a version.");
            }

            if (Incompatibility(sdk) is { } incompatible)
            {
                return Fail(incompatible);
            }

            var algorithms = registry.Algorithms?.ToList();
            if (algorithms is null || algorithms.Any(a => a is null))
            {
                return Fail("its algorithm registry is invalid: the algorithm list is or contains null.");
            }

            if (algorithms.FirstOrDefault(a => !KebabCase().IsMatch(a.Key ?? string.Empty)) is { } badKey)
            {
                return Fail($"its algorithm registry is invalid: key '{badKey.Key}' is not kebab-case.");
            }

            return (new LoadedPlugin(candidate, loader, sdk, algorithms), null);
        }
        catch (BadImageFormatException)
        {
            return Fail("it is not a .NET assembly.");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Fail(Describe(e));
        }
    }

    /// <summary>
    /// Why a plugin built against AutoCircuit.Abstractions <paramref name="pluginSdk"/> cannot run on this host,
    /// or <c>null</c> when it can (same major version, not newer than the host's).
    /// </summary>
    public static string? Incompatibility(Version pluginSdk)
    {
        ArgumentNullException.ThrowIfNull(pluginSdk);
        return pluginSdk.Major == HostSdkVersion.Major && pluginSdk <= HostSdkVersion
            ? null
            : $"it was built against {AbstractionsAssemblyName} {pluginSdk}, but this host provides {HostSdkVersion}; " +
              $"rebuild it against {AbstractionsAssemblyName} {HostSdkVersion.Major}.x, no newer than {HostSdkVersion}.";
    }

    /// <summary>One line for an exception from loading a plugin: the innermost cause, and what kind of failure it is.</summary>
    internal static string Describe(Exception e)
    {
        while (e is TargetInvocationException or TypeInitializationException or AggregateException && e.InnerException is not null)
        {
            e = e.InnerException!;
        }

        var what = e is FileNotFoundException or FileLoadException ? "a dependency is missing" : "it failed while loading";
        return $"{what}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
    }

    /// <summary>The version of AutoCircuit.Abstractions an assembly references, read from its metadata without loading it.</summary>
    private static Version? ReferencedAbstractionsVersion(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata)
        {
            throw new BadImageFormatException("No CLI metadata.", assemblyPath);
        }

        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.AssemblyReferences)
        {
            var reference = metadata.GetAssemblyReference(handle);
            if (metadata.StringComparer.Equals(reference.Name, AbstractionsAssemblyName))
            {
                return reference.Version;
            }
        }

        return null;
    }

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex KebabCase();
}
