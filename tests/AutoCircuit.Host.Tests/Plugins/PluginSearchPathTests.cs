using AutoCircuit.Engine;
using AutoCircuit.Host.Plugins;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>Which folders are searched, in which order.</summary>
public sealed class PluginSearchPathTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-search-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    [Fact]
    public void Resolve_AllSources_CommandLineThenEnvironmentThenUserFolder()
    {
        var (a, b, c, user) = (Folder("a"), Folder("b"), Folder("c"), Folder("user"));

        var path = PluginSearchPath.Resolve([a], $"{b}{Path.PathSeparator}{c}", user);

        Assert.Equal(
            [(a, PluginSource.CommandLine), (b, PluginSource.Environment), (c, PluginSource.Environment), (user, PluginSource.UserFolder)],
            path.Directories.Select(d => (d.Path, d.Source)));
    }

    [Fact]
    public void Resolve_SameFolderTwice_SearchedOnce()
    {
        var a = Folder("a");

        var path = PluginSearchPath.Resolve([a, a + Path.DirectorySeparatorChar], a, a);

        Assert.Equal((a, PluginSource.CommandLine), (Assert.Single(path.Directories).Path, path.Directories[0].Source));
    }

    [Fact]
    public void Resolve_MissingCommandLineFolder_IsAUsageError()
    {
        var missing = Path.Combine(_dir, "missing");

        var ex = Assert.Throws<AutoCircuitException>(() => PluginSearchPath.Resolve([missing], null, null));

        Assert.Equal(ExitCode.UsageError, ex.ExitCode);
        Assert.Contains($"--plugins {missing}: folder not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_MissingUserFolder_LeftOutAndMissingEnvironmentFolder_Warned()
    {
        var missing = Path.Combine(_dir, "missing");
        var warnings = new List<string>();

        var path = PluginSearchPath.Resolve([], missing, Path.Combine(_dir, "no-user-folder"));
        PluginLoading.Discover(path, warnings);

        Assert.Equal(PluginSource.Environment, Assert.Single(path.Directories).Source);
        Assert.Equal($"AUTOCIRCUIT_PLUGINS names {missing}, which does not exist.", Assert.Single(warnings));
    }

    [Fact]
    public void DefaultUserFolder_IsUnderTheHomeFolder()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        Assert.Equal(Path.Combine(home, ".autocircuit", "plugins"), PluginSearchPath.DefaultUserFolder);
    }
}
