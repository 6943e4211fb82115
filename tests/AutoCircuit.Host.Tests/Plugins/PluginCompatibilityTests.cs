using AutoCircuit.Host.Plugins;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// The plugin-compatibility rule (same major, minor not newer, any patch) on the SDK versions a plugin's registry
/// records, in process. .ci/run checks the same rule on plugins built against packed SDKs of other versions
/// (tests/AutoCircuit.Packaging.Tests).
/// </summary>
public sealed class PluginCompatibilityTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ac-compat-").FullName;

    public static TheoryData<string, string, string?> Rule() => new()
    {
        { "1.3.0", "1.3.0", null },
        { "1.2.57", "1.3.0", null },                            // older minor
        { "1.3.99", "1.3.2", null },                            // newer patch: the git height adds no API
        { "1.0.0.0", "1.3.2", null },                           // a registry of SDK 1.0 (assembly version)
        { "1.4.0", "1.3.2", "(a newer minor version:" },
        { "2.0.0", "1.3.2", "(a different major version:" },
        { "0.9.0", "1.3.2", "(a different major version:" },
    };

    [Theory]
    [MemberData(nameof(Rule))]
    public void Incompatibility_SameMajorMinorNotNewer_LoadsElseSaysWhy(string plugin, string host, string? why)
    {
        var reason = PluginLoading.Incompatibility(Version.Parse(plugin), Version.Parse(host));

        if (why is null)
        {
            Assert.Null(reason);
        }
        else
        {
            Assert.NotNull(reason);
            Assert.StartsWith($"it was built against AutoCircuit.Abstractions {plugin}, but this host provides {host} {why}", reason, StringComparison.Ordinal);
            Assert.Contains("rebuild it against AutoCircuit.Abstractions 1.x, no newer than 1.3", reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void HostSdkVersion_IsTheAbstractionsFileVersionNotItsPinnedAssemblyVersion()
    {
        var abstractions = typeof(IPruneAlgorithm).Assembly;
        var file = Version.Parse(System.Diagnostics.FileVersionInfo.GetVersionInfo(abstractions.Location).FileVersion!);

        Assert.Equal(new Version(file.Major, file.Minor, file.Build), PluginLoading.HostSdkVersion);
        Assert.Equal(new Version(file.Major, 0, 0, 0), abstractions.GetName().Version);
    }

    [Fact]
    public void LoadOne_RegistryOfTheNextMinor_RefusedNamingBothVersions()
    {
        var host = PluginLoading.HostSdkVersion;
        var next = $"{host.Major}.{host.Minor + 1}.0";
        var path = TestPluginBuilder.Build(_folder, "NextMinorPlugin", Registry(next), runGenerator: false);

        var (plugin, failure) = PluginLoading.LoadOne(new PluginCandidate("NextMinorPlugin", path, PluginSearchPath.Resolve([_folder], null, null).Directories[0]));

        Assert.Null(plugin);
        Assert.StartsWith($"it was built against AutoCircuit.Abstractions {next}, but this host provides {host} (a newer minor version:", failure!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadOne_RegistryOfAnOlderPatchOfThisMinor_Loads()
    {
        var host = PluginLoading.HostSdkVersion;
        var path = TestPluginBuilder.Build(_folder, "SameMinorPlugin", Registry($"{host.Major}.{host.Minor}.{host.Build + 5}"), runGenerator: false);

        var (plugin, failure) = PluginLoading.LoadOne(new PluginCandidate("SameMinorPlugin", path, PluginSearchPath.Resolve([_folder], null, null).Directories[0]));

        Assert.Null(failure);
        Assert.Equal(new Version(host.Major, host.Minor, host.Build + 5), plugin!.SdkVersion);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Registry(string sdkVersion) => TestPluginBuilder.Usings + $$"""
        [assembly: Compat.Registry]

        namespace Compat;

        public sealed class Registry : AlgorithmRegistryAttribute
        {
            public override IReadOnlyList<AlgorithmDescriptor> Algorithms => Array.Empty<AlgorithmDescriptor>();

            public override string SdkVersion => "{{sdkVersion}}";
        }
        """;
}
