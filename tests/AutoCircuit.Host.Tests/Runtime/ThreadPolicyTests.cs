using System.Diagnostics;
using System.Text.Json.Nodes;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Runtime;

/// <summary>
/// The thread policy (issue 17): passive OpenMP waiting put into the native environment before libtorch loads, the
/// inter-op pool bounded, <c>--threads</c> and <c>AUTOCIRCUIT_THREADS</c> still deciding the intra-op count, and passes
/// whose operations are too small to split run on one thread.
/// </summary>
public sealed class ThreadPolicyTests
{
    [Fact]
    public void TestProcess_PassiveWaitingInNativeEnvironment_BeforeLibTorchLoaded()
    {
        // TorchThreads' module initializer applied it before any test touched libtorch.
        foreach (var (name, value) in OpenMpEnvironment.Defaults)
        {
            var userSet = Environment.GetEnvironmentVariable(name) is { } v && v != value;
            if (!userSet)
            {
                Assert.Equal(value, OpenMpEnvironment.NativeValue(name));
            }
        }

        if (OperatingSystem.IsLinux())
        {
            Assert.False(OpenMpEnvironment.LoadedBefore);
            _ = torch.get_num_threads(); // libtorch is loaded now
            Assert.True(OpenMpEnvironment.OpenMpLoaded());
        }
    }

    [Fact]
    public void Apply_BoundsInterOpThreads()
    {
        TorchThreading.Apply(1, 10);

        Assert.True(torch.get_num_interop_threads() <= TorchThreading.InterOpThreads);
    }

    [Theory]
    [InlineData(null, 10L, 1)] // tiny model: one thread
    [InlineData(null, 100_000_000L, 2)] // large model: one per core
    [InlineData(2, 10L, 2)] // --threads overrides the size rule
    [InlineData(1, 100_000_000L, 1)]
    public void Choose_BySizeUnlessAsked(int? requested, long parameters, int expected)
    {
        if (Environment.GetEnvironmentVariable("AUTOCIRCUIT_THREADS") is not null && requested is null)
        {
            return; // AUTOCIRCUIT_THREADS is set in this environment: it decides instead of the size rule
        }

        Assert.Equal(expected, TorchThreading.Choose(requested, parameters, cores: 2));
    }

    [Theory]
    [InlineData(0L, 2, 1)] // nothing to split
    [InlineData(PassThreads.SplitWork - 1, 2, 1)] // a few microseconds an operation: one thread
    [InlineData(PassThreads.SplitWork, 2, 2)] // enough to split: the chosen count
    [InlineData(1L << 30, 4, 4)]
    [InlineData(1L << 30, 1, 1)] // never more than chosen
    public void PassThreads_ByWorkPerOperation(long work, int pool, int expected) =>
        Assert.Equal(expected, PassThreads.For(work, pool));

    [Fact]
    public async Task ToolProcess_TwoThreads_MicroPassesRunOnOne()
    {
        // auto-circuit's micro model: a 2 x 2 weight per layer, operations of a few hundred multiply-adds.
        var json = await RunBench(new Dictionary<string, string?>(), "2", "mask_gradient");

        var env = json["env"]!;
        Assert.Equal(2, env["num_threads"]!.GetValue<int>());
        Assert.Equal(1, env["pass_threads"]!.GetValue<int>());
        Assert.Equal(2, json["threads"]!.GetValue<int>());
    }

    [Fact]
    public async Task ToolProcess_SetsPassiveWaiting_AndKeepsTheUsersChoice()
    {
        var plain = await RunBench(new Dictionary<string, string?> { ["OMP_WAIT_POLICY"] = null, ["KMP_BLOCKTIME"] = null });
        var users = await RunBench(new Dictionary<string, string?> { ["OMP_WAIT_POLICY"] = "ACTIVE", ["KMP_BLOCKTIME"] = null });

        var env = plain["env"]!;
        Assert.Equal("PASSIVE", env["threading_env"]!["OMP_WAIT_POLICY"]!.GetValue<string>());
        Assert.Equal("0", env["threading_env"]!["KMP_BLOCKTIME"]!.GetValue<string>());
        Assert.False(env["openmp_loaded_before_policy"]!.GetValue<bool>());
        Assert.Equal(1, env["num_threads"]!.GetValue<int>());
        Assert.Equal(TorchThreading.InterOpThreads, env["num_interop_threads"]!.GetValue<int>());
        Assert.Equal("ACTIVE", users["env"]!["threading_env"]!["OMP_WAIT_POLICY"]!.GetValue<string>());
    }

    private static async Task<JsonNode> RunBench(Dictionary<string, string?> environment, string threads = "1", string workload = "construct")
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            Path.Combine(TestFixtures.OutputDirectory, "dotnet-autocircuit.dll"), "bench", "--vs-auto-circuit", "--json",
            "--workloads", workload, "--reps", "1", "--warmup", "0", "--threads", threads,
        })
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            if (v is null)
            {
                start.Environment.Remove(k);
            }
            else
            {
                start.Environment[k] = v;
            }
        }

        start.Environment.Remove("AUTOCIRCUIT_THREADS");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, await stderr);
        return JsonNode.Parse(await stdout)!;
    }
}
