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
internal static partial class PluginLoading
{
    /// <summary>The name of the plugin contract assembly.</summary>
    public const string AbstractionsAssemblyName = "AutoCircuit.Abstractions";

    private static readonly Type[] SharedTypes = [typeof(IPruneAlgorithm), typeof(torch.Tensor), typeof(torch.nn.Module)];

    /// <summary>
    /// The AutoCircuit.Abstractions version of this host, <c>major.minor.patch</c>: the SDK's file version, which moves
    /// with every release (its assembly version stays pinned at <c>major.0.0.0</c>, so it cannot tell minors apart).
    /// </summary>
    public static Version HostSdkVersion { get; } = SdkVersionOf(typeof(IPruneAlgorithm).Assembly);

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
            // its error would not say what to change. The reference's assembly version is pinned at major.0.0.0, so
            // this catches another major; the registry's SdkVersion (the file version) then decides the minor.
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
    /// The compatibility rule: why a plugin built against AutoCircuit.Abstractions <paramref name="pluginSdk"/> cannot
    /// run on this host, or <c>null</c> when it can. It can when the major versions are equal (a major changes only
    /// with a breaking change of the contract) and its minor is not newer than the host's (a newer minor may use API
    /// this host lacks). The patch (the git height) never matters: patches add no API.
    /// </summary>
    public static string? Incompatibility(Version pluginSdk) => Incompatibility(pluginSdk, HostSdkVersion);

    /// <summary><see cref="Incompatibility(Version)"/> for a host of SDK <paramref name="hostSdk"/>.</summary>
    public static string? Incompatibility(Version pluginSdk, Version hostSdk)
    {
        ArgumentNullException.ThrowIfNull(pluginSdk);
        ArgumentNullException.ThrowIfNull(hostSdk);
        if (pluginSdk.Major == hostSdk.Major && pluginSdk.Minor <= hostSdk.Minor)
        {
            return null;
        }

        var why = pluginSdk.Major != hostSdk.Major ? "a different major version" : "a newer minor version";
        return $"it was built against {AbstractionsAssemblyName} {pluginSdk}, but this host provides {hostSdk} ({why}: " +
               $"plugins need the host's major version and a minor no newer than its own); rebuild it against " +
               $"{AbstractionsAssemblyName} {hostSdk.Major}.x, no newer than {hostSdk.Major}.{hostSdk.Minor}, or use a " +
               $"host with SDK {pluginSdk.Major}.{pluginSdk.Minor} or newer in major {pluginSdk.Major}.";
    }

    /// <summary>An AutoCircuit.Abstractions assembly's SDK version: its file version's first three parts, else its assembly version.</summary>
    internal static Version SdkVersionOf(Assembly abstractions)
    {
        var file = abstractions.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version;
        return Version.TryParse(file, out var v) ? new Version(v.Major, v.Minor, Math.Max(0, v.Build)) : abstractions.GetName().Version!;
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
