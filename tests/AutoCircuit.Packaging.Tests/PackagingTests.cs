using System.IO.Compression;
using System.Reflection;
using System.Reflection.Metadata;
using System.Text;
using AutoCircuit.Host.Plugins;
using Xunit;

namespace AutoCircuit.Packaging.Tests;

/// <summary>
/// Versioned, reproducible SDK packages (docs/versioning.md): the version comes from version.json and the git
/// height, two packs of one commit are bit-identical, symbols map to the commit, and the plugin-compatibility rule
/// holds for plugins built against packed SDKs of other versions.
/// </summary>
public sealed class PackagingTests(PackedSdks sdks) : IClassFixture<PackedSdks>
{
    private const string Id = "AutoCircuit.Abstractions";

    private string Version => sdks.Shallow
        ? throw new InvalidOperationException("unreachable")
        : $"{sdks.MajorMinor}.{sdks.Height}";

    [PackagingFact]
    public void Pack_TwiceFromCleanFolders_BitIdenticalPackagesVersionedByTheRepository()
    {
        var first = Directory.GetFiles(sdks.FirstPack).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var second = Directory.GetFiles(sdks.SecondPack).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();

        if (sdks.Shallow)
        {
            // The history may not reach the last change of version.json: a version unique to the commit.
            Assert.Contains(first, f => f!.StartsWith($"{Id}.{sdks.MajorMinor}.", StringComparison.Ordinal));
        }
        else
        {
            Assert.Equal([$"{Id}.{Version}.nupkg", $"{Id}.{Version}.snupkg"], first);
        }

        Assert.Equal(first, second);
        foreach (var file in first)
        {
            var a = File.ReadAllBytes(Path.Combine(sdks.FirstPack, file!));
            var b = File.ReadAllBytes(Path.Combine(sdks.SecondPack, file!));
            Assert.True(a.AsSpan().SequenceEqual(b), $"{file} differs between two packs of commit {sdks.Commit}");
        }
    }

    [PackagingFact]
    public void Package_HoldsTheGeneratorAsAnalyzerTheTargetsAndAPinnedAssemblyVersion()
    {
        using var package = ZipFile.OpenRead(Single(sdks.FirstPack, ".nupkg"));

        var entries = package.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("analyzers/dotnet/cs/AutoCircuit.Generators.dll", entries);
        Assert.Contains("buildTransitive/AutoCircuit.Abstractions.targets", entries);
        Assert.Contains("lib/net10.0/AutoCircuit.Abstractions.xml", entries);
        var dll = Extract(package, "lib/net10.0/AutoCircuit.Abstractions.dll");
        Assert.Equal(new Version(sdks.MajorMinor.Major, 0, 0, 0), AssemblyName.GetAssemblyName(dll).Version);
        var file = System.Diagnostics.FileVersionInfo.GetVersionInfo(dll);
        Assert.Equal((sdks.MajorMinor.Major, sdks.MajorMinor.Minor), (file.FileMajorPart, file.FileMinorPart));
        Assert.EndsWith("+" + sdks.Commit, file.ProductVersion, StringComparison.Ordinal);
        if (!sdks.Shallow)
        {
            Assert.Equal($"{Version}.0", file.FileVersion);
        }

        var nuspec = new StreamReader(package.GetEntry($"{Id}.nuspec")!.Open()).ReadToEnd();
        Assert.Contains("url=\"https://github.com/autocircuit/autocircuit-dotnet", nuspec, StringComparison.Ordinal);
        Assert.Contains($"commit=\"{sdks.Commit}\"", nuspec, StringComparison.Ordinal);
    }

    [PackagingFact]
    public void SymbolPackage_PdbWithMappedPathsAndSourceLinkToTheCommit()
    {
        using var symbols = ZipFile.OpenRead(Single(sdks.FirstPack, ".snupkg"));
        var pdb = Extract(symbols, "lib/net10.0/AutoCircuit.Abstractions.pdb");

        using var provider = MetadataReaderProvider.FromPortablePdbStream(File.OpenRead(pdb));
        var reader = provider.GetMetadataReader();
        var documents = reader.Documents.Select(h => reader.GetString(reader.GetDocument(h).Name)).ToList();
        Assert.NotEmpty(documents);
        Assert.All(documents, d => Assert.StartsWith("/_/", d, StringComparison.Ordinal)); // no machine paths
        var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
        var sourceLink = reader.CustomDebugInformation
            .Select(reader.GetCustomDebugInformation)
            .Where(c => reader.GetGuid(c.Kind) == sourceLinkKind)
            .Select(c => Encoding.UTF8.GetString(reader.GetBlobBytes(c.Value)))
            .Single();
        Assert.Contains($"https://raw.githubusercontent.com/autocircuit/autocircuit-dotnet/{sdks.Commit}/*", sourceLink, StringComparison.Ordinal);
    }

    [PackagingFact]
    public void Plugins_BuiltAgainstPackedSdksOfOtherVersions_LoadOnlyWithTheSameMajorAndNoNewerMinor()
    {
        var host = PluginLoading.HostSdkVersion;
        Assert.Equal((sdks.MajorMinor.Major, sdks.MajorMinor.Minor), (host.Major, host.Minor)); // built from the same version.json
        foreach (var (name, (_, build)) in sdks.PluginBuilds)
        {
            Assert.True(build.ExitCode == 0, $"{name} did not build:\n{build.Output}");
        }

        var report = PluginLoading.Load(PluginSearchPath.Resolve([sdks.PluginFolder], null, null));

        var previous = sdks.PluginBuilds["PreviousMinorPlugin"].Sdk;
        var loaded = Assert.Single(report.Loaded);
        Assert.Equal(("PreviousMinorPlugin", new Version(previous.Major, previous.Minor, 0)), (loaded.Candidate.Name, loaded.SdkVersion));
        Assert.Equal("previous-minor-plugin", Assert.Single(loaded.Algorithms).Key);

        var next = sdks.PluginBuilds["NextMinorPlugin"].Sdk;
        var nextMinor = Assert.Single(report.Failures, f => f.Candidate.Name == "NextMinorPlugin");
        Assert.StartsWith(
            $"it was built against AutoCircuit.Abstractions {next}.0, but this host provides {host} (a newer minor version: ",
            nextMinor.Reason,
            StringComparison.Ordinal);
        Assert.Contains($"rebuild it against AutoCircuit.Abstractions {host.Major}.x, no newer than {host.Major}.{host.Minor}", nextMinor.Reason, StringComparison.Ordinal);

        // Refused before loading, from the pinned assembly version of the reference (major.0.0.0).
        var nextMajor = Assert.Single(report.Failures, f => f.Candidate.Name == "NextMajorPlugin");
        Assert.StartsWith(
            $"it was built against AutoCircuit.Abstractions {host.Major + 1}.0.0.0, but this host provides {host} (a different major version: ",
            nextMajor.Reason,
            StringComparison.Ordinal);
        Assert.Equal(2, report.Failures.Count);
    }

    private static string Single(string folder, string extension) =>
        Assert.Single(Directory.GetFiles(folder, "*" + extension), f => f.EndsWith(extension, StringComparison.Ordinal));

    private static string Extract(ZipArchive archive, string entry)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("ac-extract-").FullName, Path.GetFileName(entry));
        archive.GetEntry(entry)!.ExtractToFile(path);
        return path;
    }
}
