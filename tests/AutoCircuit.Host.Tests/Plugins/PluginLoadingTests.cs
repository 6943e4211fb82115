using AutoCircuit.Engine;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Plugins;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>Discovery and loading of plugin folders, with good, broken and colliding _plugins.</summary>
public sealed class PluginLoadingTests
{
    private readonly TestPlugins _plugins = TestPlugins.Shared;

    private static PluginSearchPath Folders(params string[] folders) => PluginSearchPath.Resolve(folders, null, null);

    [Fact]
    public void Load_GoodFolder_ReadsEveryRegistryAndSharesTheContract()
    {
        var report = PluginLoading.Load(Folders(_plugins.Good));

        Assert.Empty(report.Failures);
        Assert.Empty(report.Warnings);
        Assert.Equal(
            ["BundledContractPlugin", "ConstantPlugin", "LateMissingDependencyPlugin", "NanPlugin", "SamplePlugin", "ThrowingPlugin"],
            report.Loaded.Select(p => p.Candidate.Name));
        var sample = report.Loaded.Single(p => p.Candidate.Name == "SamplePlugin");
        Assert.Equal("sample-source-magnitude", Assert.Single(sample.Algorithms).Key);
        Assert.Equal(PluginLoading.HostSdkVersion, sample.SdkVersion);

        // Created in the plugin's load context, it is an IPruneAlgorithm of the host's AutoCircuit.Abstractions.
        var algorithm = sample.Algorithms[0].Create(new Dictionary<string, string>()).Algorithm;
        Assert.Equal("SamplePlugin.SourceMagnitude", algorithm.GetType().FullName);
        Assert.NotSame(typeof(AlgorithmCatalog).Assembly, algorithm.GetType().Assembly);
    }

    [Fact]
    public void Load_PluginShippingItsOwnContractCopy_UsesTheHostsContract()
    {
        var report = PluginLoading.Load(Folders(_plugins.Good));

        var bundled = report.Loaded.Single(p => p.Candidate.Name == "BundledContractPlugin");
        var algorithm = bundled.Algorithms.Single().Create(new Dictionary<string, string>()).Algorithm;
        Assert.True(File.Exists(Path.Combine(_plugins.Good, "BundledContractPlugin", "AutoCircuit.Abstractions.dll")));
        Assert.Same(typeof(IPruneAlgorithm), algorithm.GetType().GetInterfaces().Single());
        var run = algorithm.GetType().GetMethod(nameof(IPruneAlgorithm.Run))!;
        Assert.Same(typeof(PruneContext), run.GetParameters()[0].ParameterType);
        Assert.Same(typeof(AutoCircuit.Scores.PruneScores), run.ReturnType);
    }

    [Theory]
    [InlineData("MissingDependencyPlugin", "a dependency is missing: FileNotFoundException: Could not load file or assembly 'Helper")]
    [InlineData("ThrowsWhileLoadingPlugin", "it failed while loading: InvalidOperationException: plugin start-up failed")]
    [InlineData("ThrowingRegistryPlugin", "it failed while loading: InvalidOperationException: registry exploded")]
    [InlineData("BadVersionRegistryPlugin", "its algorithm registry is invalid: SdkVersion 'one point oh' is not a version.")]
    [InlineData("BadKeyRegistryPlugin", "its algorithm registry is invalid: key 'Not_Kebab' is not kebab-case.")]
    [InlineData("NewerSdkRegistryPlugin", "it was built against AutoCircuit.Abstractions 2.0.0.0, but this host provides 1.")]
    [InlineData("FutureSdkPlugin", "it was built against AutoCircuit.Abstractions 2.0.0.0, but this host provides 1.")]
    [InlineData("NoRegistryPlugin", "it has no algorithm registry. Build it with the AutoCircuit.Abstractions package")]
    [InlineData("NotAPluginLibrary", "it does not reference AutoCircuit.Abstractions")]
    [InlineData("NotAnAssembly", "it is not a .NET assembly.")]
    public void Load_BrokenPlugin_IsAFailureWithItsReason(string name, string reason)
    {
        var report = PluginLoading.Load(Folders(_plugins.Broken));

        var failure = Assert.Single(report.Failures, f => f.Candidate.Name == name);
        Assert.Contains(reason, failure.Reason, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(_plugins.Broken, name, name + ".dll"), failure.Candidate.AssemblyPath);
    }

    [Fact]
    public void Load_BrokenFolder_NothingLoadedAndEmptySubfolderWarned()
    {
        var report = PluginLoading.Load(Folders(_plugins.Broken));

        Assert.Empty(report.Loaded);
        Assert.Equal(10, report.Failures.Count);
        var warning = Assert.Single(report.Warnings);
        Assert.Contains("EmptyFolder has no EmptyFolder.dll (a plugin is <folder>/<Name>/<Name>.dll)", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_GoodAndBrokenFolders_GoodPluginsStillLoaded()
    {
        var catalog = AlgorithmCatalog.Load(Folders(_plugins.Broken, _plugins.Good));

        Assert.True(catalog.TryGet("sample-source-magnitude", out var entry));
        Assert.Equal(Path.Combine(_plugins.Good, "SamplePlugin", "SamplePlugin.dll"), entry.Origin);
        Assert.True(catalog.TryGet("activation-magnitude", out _));
        Assert.Equal(10, catalog.PluginFailures.Count);
        Assert.Contains(catalog.Warnings, w => w.StartsWith(
            $"plugin MissingDependencyPlugin ({Path.Combine(_plugins.Broken, "MissingDependencyPlugin", "MissingDependencyPlugin.dll")}) was skipped: a dependency is missing",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Load_DuplicateKeys_FirstFoundWinsAndTheWarningSaysWhich()
    {
        var catalog = AlgorithmCatalog.Load(Folders(_plugins.Duplicates));

        Assert.True(catalog.TryGet("test-duplicate", out var duplicate));
        Assert.Equal("Duplicate A", duplicate.Descriptor.Name);
        Assert.True(catalog.TryGet("activation-magnitude", out var builtIn));
        Assert.Equal(AlgorithmCatalog.BuiltInOrigin, builtIn.Origin);
        Assert.Equal(2, catalog.Warnings.Count);
        Assert.Contains(
            $"Algorithm key 'test-duplicate' of {Path.Combine(_plugins.Duplicates, "DuplicateB", "DuplicateB.dll")} is also provided by " +
            $"{Path.Combine(_plugins.Duplicates, "DuplicateA", "DuplicateA.dll")}, whose algorithm is used",
            catalog.Warnings[0],
            StringComparison.Ordinal);
        Assert.Contains("'activation-magnitude' of", catalog.Warnings[1], StringComparison.Ordinal);
        Assert.Contains("is also provided by built-in, whose algorithm is used", catalog.Warnings[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Create_UnknownKeyWhilePluginsFailed_IsAPluginError()
    {
        var catalog = AlgorithmCatalog.Load(Folders(_plugins.Broken));

        var ex = Assert.Throws<AutoCircuitException>(() => catalog.Create(AlgorithmSpec.Parse("test-missing-dependency")));

        Assert.Equal(ExitCode.PluginError, ex.ExitCode);
        Assert.Contains("Algorithm 'test-missing-dependency' is not available, and it may be in a plugin that could not be loaded", ex.Message, StringComparison.Ordinal);
        Assert.Contains("plugin MissingDependencyPlugin", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_UnknownKeyWithoutPluginFailures_IsAUsageError()
    {
        var catalog = AlgorithmCatalog.Load(Folders(_plugins.Good));

        var ex = Assert.Throws<AutoCircuitException>(() => catalog.Create(AlgorithmSpec.Parse("no-such-algorithm")));

        Assert.Equal(ExitCode.UsageError, ex.ExitCode);
    }

    [Fact]
    public void Create_PluginAlgorithmWhoseDependencyIsMissing_IsAPluginErrorNamingThePlugin()
    {
        var catalog = AlgorithmCatalog.Load(Folders(_plugins.Good));

        var ex = Assert.Throws<AutoCircuitException>(() => catalog.Create(AlgorithmSpec.Parse("test-late-missing")));

        Assert.Equal(ExitCode.PluginError, ex.ExitCode);
        Assert.Contains(
            $"Algorithm 'test-late-missing' of plugin {Path.Combine(_plugins.Good, "LateMissingDependencyPlugin", "LateMissingDependencyPlugin.dll")} " +
            "could not be created: a dependency is missing: FileNotFoundException: Could not load file or assembly 'Helper",
            ex.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Create_PluginOptions_BoundByTheGeneratedBinder()
    {
        var catalog = AlgorithmCatalog.Load(Folders(_plugins.Good));

        var ex = Assert.Throws<AutoCircuitException>(() => catalog.Create(AlgorithmSpec.Parse("sample-source-magnitude:normalize=perhaps")));

        Assert.Equal(ExitCode.UsageError, ex.ExitCode);
        Assert.Contains("Option 'normalize' expects true or false; got 'perhaps'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Discover_AssemblyDirectlyInPluginFolder_WarnsWhereToPutIt()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_plugins.Root, "stray")).FullName;
        File.Copy(Path.Combine(TestPlugins.SampleOutput, "SamplePlugin.dll"), Path.Combine(folder, "SamplePlugin.dll"));
        var warnings = new List<string>();

        var candidates = PluginLoading.Discover(Folders(folder), warnings);

        Assert.Empty(candidates);
        Assert.Contains("lies directly in the plugin folder and is not loaded: put it in its own subfolder, SamplePlugin/SamplePlugin.dll", Assert.Single(warnings), StringComparison.Ordinal);
    }
}
