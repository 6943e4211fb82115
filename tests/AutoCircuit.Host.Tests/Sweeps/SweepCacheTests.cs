using System.Diagnostics;
using AutoCircuit.Host.Sweeps;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

public sealed class SweepCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-cache-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SweepCache Cache()
    {
        var cache = new SweepCache(Path.Combine(_dir, "cache"));
        cache.EnsureLayout();
        return cache;
    }

    /// <summary>A committed cell with two files.</summary>
    private static string Committed(SweepCache cache, string key)
    {
        var work = Path.Combine(cache.TmpDir, key + ".w");
        Directory.CreateDirectory(Path.Combine(work, "scores"));
        File.WriteAllText(Path.Combine(work, "run.json"), "{\"ok\": true}");
        File.WriteAllBytes(Path.Combine(work, "scores", "a.safetensors"), [1, 2, 3, 4]);
        SweepCache.WriteManifest(work, key);
        Assert.True(cache.Commit(key, work));
        return cache.CellPath(key);
    }

    [Fact]
    public void Verify_CompleteCell_IsComplete()
    {
        var cache = Cache();

        Committed(cache, "k1");

        Assert.Equal((true, null), cache.Verify("k1"));
        Assert.Equal((false, null), cache.Verify("absent"));
    }

    [Theory]
    [InlineData("truncate", "scores/a.safetensors has 2 bytes, the manifest says 4")]
    [InlineData("delete", "scores/a.safetensors is missing")]
    [InlineData("flip", "scores/a.safetensors does not match its SHA-256")]
    [InlineData("manifest", "manifest.json unreadable")]
    public void Verify_DamagedCell_IsDetectedWithTheReason(string damage, string reason)
    {
        var cache = Cache();
        var dir = Committed(cache, "k1");
        var file = Path.Combine(dir, "scores", "a.safetensors");

        switch (damage)
        {
            case "truncate": File.WriteAllBytes(file, [1, 2]); break;
            case "delete": File.Delete(file); break;
            case "flip": File.WriteAllBytes(file, [1, 2, 3, 5]); break;
            default: File.Delete(Path.Combine(dir, "manifest.json")); break;
        }

        var (complete, problem) = cache.Verify("k1");

        Assert.False(complete);
        Assert.StartsWith(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Commit_WhenAnotherWorkerCommittedFirst_KeepsTheirsAndDropsOurs()
    {
        var cache = Cache();
        Committed(cache, "k1");
        var ours = Path.Combine(cache.TmpDir, "ours");
        Directory.CreateDirectory(ours);
        File.WriteAllText(Path.Combine(ours, "run.json"), "{\"ok\": false}");
        SweepCache.WriteManifest(ours, "k1");

        var committed = cache.Commit("k1", ours);

        Assert.False(committed);
        Assert.False(Directory.Exists(ours));
        Assert.Equal("{\"ok\": true}", File.ReadAllText(Path.Combine(cache.CellPath("k1"), "run.json")));
    }

    [Fact]
    public void Commit_OverADamagedCell_ReplacesIt()
    {
        var cache = Cache();
        var dir = Committed(cache, "k1");
        File.Delete(Path.Combine(dir, "run.json"));
        var ours = Path.Combine(cache.TmpDir, "ours");
        Directory.CreateDirectory(ours);
        File.WriteAllText(Path.Combine(ours, "run.json"), "{\"new\": 1}");
        SweepCache.WriteManifest(ours, "k1");

        Assert.True(cache.Commit("k1", ours));

        Assert.True(cache.Verify("k1").Complete);
        Assert.Equal("{\"new\": 1}", File.ReadAllText(Path.Combine(dir, "run.json")));
    }

    [Fact]
    public void TryClaim_HeldByThisLiveProcess_IsRefusedAndReleasedOnDispose()
    {
        var cache = Cache();

        var (claim, _) = cache.TryClaim("k1");
        Assert.NotNull(claim);
        var (second, holder) = cache.TryClaim("k1");

        Assert.Null(second);
        Assert.Contains($"pid {Environment.ProcessId}", holder, StringComparison.Ordinal);
        Assert.True(cache.ClaimState("k1")!.Value.Alive);
        claim.Dispose();
        Assert.Null(cache.ClaimState("k1"));
        using var third = cache.TryClaim("k1").Claim;
        Assert.NotNull(third);
    }

    [Fact]
    public void TryClaim_OwnerProcessExited_IsProvablyDeadAndTakenOver()
    {
        var cache = Cache();
        using var gone = Process.Start("true")!;
        gone.WaitForExit();
        var dead = ProcessIdentity.Current() with { Token = "dead", Pid = gone.Id, StartTicks = 1 };
        Directory.CreateDirectory(Path.Combine(cache.ClaimsDir, "k1"));
        SweepCache.WriteOwner(Path.Combine(cache.ClaimsDir, "k1", "owner.json"), dead);
        var work = cache.NewWorkDir("k1", dead);

        Assert.False(cache.ClaimState("k1")!.Value.Alive);
        using var claim = cache.TryClaim("k1").Claim;

        Assert.NotNull(claim);
        Assert.Equal(ProcessIdentity.Current().Token, SweepCache.ReadOwner(Path.Combine(cache.ClaimsDir, "k1", "owner.json"))!.Token);
        Assert.False(Directory.Exists(work));
    }

    [Fact]
    public void IsDead_SamePidWithAnotherStartTime_IsDead_OtherBootIsDead()
    {
        var me = ProcessIdentity.Current();
        var file = Path.Combine(_dir, "owner.json");
        File.WriteAllText(file, "{}");

        Assert.False(SweepCache.IsDead(me, file));
        Assert.True(SweepCache.IsDead(me with { StartTicks = me.StartTicks + 1 }, file));
        Assert.True(SweepCache.IsDead(me with { BootId = "another-boot" }, file));
    }

    [Fact]
    public void IsDead_OtherHost_DependsOnTheHeartbeat()
    {
        var other = ProcessIdentity.Current() with { Host = "elsewhere", Pid = 1 };
        var file = Path.Combine(_dir, "owner.json");
        File.WriteAllText(file, "{}");

        var fresh = SweepCache.IsDead(other, file);
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow - SweepCache.StaleAfter - TimeSpan.FromMinutes(1));
        var silent = SweepCache.IsDead(other, file);

        Assert.False(fresh);
        Assert.True(silent);
    }

    [Fact]
    public void CollectLeftovers_RemovesOnlyDeadOwnersWorkFolders()
    {
        var cache = Cache();
        using var gone = Process.Start("true")!;
        gone.WaitForExit();
        var deadWork = cache.NewWorkDir("k1", ProcessIdentity.Current() with { Token = "dead", Pid = gone.Id, StartTicks = 1 });
        var liveWork = cache.NewWorkDir("k2", ProcessIdentity.Current());

        var removed = cache.CollectLeftovers();

        Assert.Equal(1, removed);
        Assert.False(Directory.Exists(deadWork));
        Assert.True(Directory.Exists(liveWork));
    }

    [Fact]
    public void StartTicks_OfThisProcess_MatchesProc()
    {
        var ticks = ProcessIdentity.StartTicks(Environment.ProcessId);

        Assert.NotNull(ticks);
        Assert.True(ticks > 0);
        Assert.Null(ProcessIdentity.StartTicks(int.MaxValue));
    }
}
