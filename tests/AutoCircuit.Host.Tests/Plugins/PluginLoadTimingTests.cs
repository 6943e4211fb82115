using System.Diagnostics;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Plugins;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// Measures (prints, does not assert) what loading a folder of 20 plugins adds to start-up: discovery, one load
/// context per plugin, reading each registry. The budget is one second; see the README for measured numbers.
/// Set <c>AUTOCIRCUIT_TIMING_PLUGINS_DIR</c> to build the 20 plugins into that folder and keep them, to time
/// <c>dotnet autocircuit list --plugins DIR</c> in fresh processes.
/// </summary>
public sealed class PluginLoadTimingTests(ITestOutputHelper output) : IDisposable
{
    private const int PluginCount = 20;

    private static readonly string? KeepIn = Environment.GetEnvironmentVariable("AUTOCIRCUIT_TIMING_PLUGINS_DIR");

    private readonly string _dir = KeepIn is { Length: > 0 } keep
        ? Directory.CreateDirectory(keep).FullName
        : Directory.CreateTempSubdirectory("ac-20-plugins-").FullName;

    public void Dispose()
    {
        if (KeepIn is { Length: > 0 })
        {
            return;
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public void Load_TwentyPlugins_PrintsTheTimeItAdds()
    {
        Parallel.For(0, PluginCount, i =>
        {
            TestPluginBuilder.Build(_dir, $"Plugin{i:00}", TestPluginBuilder.Usings + $$"""
                namespace Plugin{{i:00}};

                [AlgorithmOptions]
                public sealed record Options
                {
                    [Option("scale", Description = "Multiplier.", Min = 0)]
                    public double Scale { get; init; } = 1;
                }

                [PruneAlgorithm("timing-{{i:00}}", Description = "Plugin {{i}} of the timing test.")]
                public sealed class Algorithm(Options options) : IPruneAlgorithm
                {
                    public PruneScores Run(PruneContext context) => context.Model.NewPruneScores(options.Scale);
                }
                """);
        });

        var builtInClock = Stopwatch.StartNew();
        var builtIn = AlgorithmCatalog.BuiltIn();
        var builtInTime = builtInClock.Elapsed;
        var clock = Stopwatch.StartNew();
        var catalog = AlgorithmCatalog.Load(PluginSearchPath.Resolve([_dir], null, null));
        var withPlugins = clock.Elapsed;

        Assert.Empty(catalog.Warnings);
        Assert.Equal(builtIn.Entries.Count + PluginCount, catalog.Entries.Count);
        output.WriteLine(
            $"catalog with {PluginCount} plugins: {withPlugins.TotalMilliseconds:0} ms " +
            $"(built-ins alone: {builtInTime.TotalMilliseconds:0} ms; budget 1000 ms)");
    }
}
