using AutoCircuit.Host.Progress;
using Xunit;

namespace AutoCircuit.Host.Tests.Progress;

/// <summary>The job-wide progress model: nesting, the status line and the time-left estimate, on a fake clock.</summary>
public sealed class JobProgressTests
{
    private TimeSpan _now;

    private JobProgress Create() => new(() => _now);

    private void At(double seconds) => _now = TimeSpan.FromSeconds(seconds);

    private static void Steps(IProgressTask task, int count, Action<double> at, double from, double secondsPerStep)
    {
        for (var i = 1; i <= count; i++)
        {
            at(from + (i * secondsPerStep));
            task.Advance();
        }
    }

    /// <summary>Scores stage a (4 steps of 1 s) and evaluates it (10 steps of 1 s), leaving b to run.</summary>
    private JobProgress TwoAlgorithmsWithAFinished()
    {
        var progress = Create();
        progress.Plan([("a", StageKind.Score), ("a", StageKind.Evaluate), ("b", StageKind.Score), ("b", StageKind.Evaluate)]);
        At(0);
        using (progress.BeginStage("a", StageKind.Score))
        using (var task = progress.Start("Activation magnitude", 4))
        {
            Steps(task, 4, At, 0, 1);
        }

        using (progress.BeginStage("a", StageKind.Evaluate))
        using (var task = progress.Start("circuits (5 sizes × 2 batches)", 10))
        {
            Steps(task, 10, At, 4, 1);
        }

        return progress;
    }

    [Fact]
    public void Snapshot_FirstStageRunning_EstimatesItsRateAndIsPartial()
    {
        var progress = Create();
        progress.Plan([("a", StageKind.Score), ("a", StageKind.Evaluate), ("b", StageKind.Score), ("b", StageKind.Evaluate)]);
        At(0);
        using var stage = progress.BeginStage("a", StageKind.Score);
        using var task = progress.Start("Activation magnitude", 4);
        Steps(task, 2, At, 0, 1);

        var status = progress.Snapshot();

        Assert.Equal("[1/2] a · Activation magnitude 2/4", status.Where());
        Assert.Equal(TimeSpan.FromSeconds(2), status.Remaining); // 2 steps left at 1 s; b and the evaluations unknown
        Assert.True(status.RemainingIsPartial);
        Assert.Equal("2.0 s elapsed · ETA …", status.When()); // too little known to say more
    }

    [Fact]
    public void Snapshot_NestedThresholdsAndEdges_ShowsBothLevelsAndEstimatesAll()
    {
        var progress = TwoAlgorithmsWithAFinished();
        using var stage = progress.BeginStage("b", StageKind.Score);
        using var taus = progress.Start("ACDC", 3, "τ");
        using (var edges = progress.Start("ACDC τ=0.1", 10, "edge", taus))
        {
            Steps(edges, 5, At, 14, 1);

            var first = progress.Snapshot();

            // Edges left in this τ (5 × 1 s), two more τs at this τ's estimated 10 s, then b's evaluation: 10 forward
            // passes at the measured 1 s each.
            Assert.Equal("[2/2] b · τ 1/3 · edge 5/10", first.Where());
            Assert.Equal(TimeSpan.FromSeconds(5 + 20 + 10), first.Remaining);
            Assert.False(first.RemainingIsPartial);
            Steps(edges, 5, At, 19, 1);
        }

        taus.Advance();
        using var second = progress.Start("ACDC τ=0.2", 10, "edge", taus);
        Steps(second, 2, At, 24, 1);

        var status = progress.Snapshot();

        // 8 edges at 1 s, one more τ at the completed τ's 10 s, the evaluation's 10 s.
        Assert.Equal("[2/2] b · τ 2/3 · edge 2/10", status.Where());
        Assert.Equal(TimeSpan.FromSeconds(8 + 10 + 10), status.Remaining);
        Assert.Equal(26.0 / (26 + 28), status.Fraction!.Value, 6);
    }

    [Fact]
    public void Snapshot_SecondThreshold_FollowsTheFirstOnesUnevenCostsAtItsOwnPace()
    {
        var progress = TwoAlgorithmsWithAFinished();
        using var stage = progress.BeginStage("b", StageKind.Score);
        using var taus = progress.Start("ACDC", 3, "τ");
        At(14);
        using (var first = progress.Start("ACDC τ=0.1", 10, "edge", taus))
        {
            // Edges near the output are cheap, those near the input dear: 5 × 0.5 s, then 5 × 1.5 s (10 s in all).
            Steps(first, 5, At, 14, 0.5);
            Steps(first, 5, At, 16.5, 1.5);
        }

        taus.Advance();
        using var second = progress.Start("ACDC τ=0.2", 10, "edge", taus);

        // Twice as slow as the first τ so far: 5 cheap edges in 5 s, where the first took 2.5 s.
        Steps(second, 5, At, 24, 1);
        var status = progress.Snapshot();

        // A quarter of the first τ's time is behind, so its pace counts a quarter: scale 0.25 × 2 + 0.75 = 1.25. The
        // rest of this τ: (10 − 2.5) s × 1.25; one more τ: 10 s × 1.25; b's evaluation: 10 s.
        Assert.Equal("[2/2] b · τ 2/3 · edge 5/10", status.Where());
        Assert.Equal((7.5 * 1.25) + (10 * 1.25) + 10, status.Remaining!.Value.TotalSeconds, 6);
    }

    [Fact]
    public void Snapshot_PendingScoringStage_UsesTheMedianOfTheFinishedOnes()
    {
        var progress = TwoAlgorithmsWithAFinished();
        progress.Plan([("c", StageKind.Score)]);
        using var stage = progress.BeginStage("b", StageKind.Score);
        using var task = progress.Start("Mask gradient", 10);
        Steps(task, 5, At, 14, 2);

        var status = progress.Snapshot();

        // b: 5 steps at 2 s; b's evaluation 10 s; c's scoring the median of the finished scoring stages (a: 4 s).
        Assert.Equal(TimeSpan.FromSeconds(10 + 10 + 4), status.Remaining);
        Assert.Equal("[2/3] b · Mask gradient 5/10", status.Where());
    }

    [Fact]
    public void Describe_PrefixedWithTheDescription_ShowsOnlyTheNote()
    {
        var progress = Create();
        using var stage = progress.BeginStage("sp", StageKind.Score);
        using var task = progress.Start("Subnetwork probing", 20, "epoch");
        task.Advance(3);
        task.Describe("Subnetwork probing: loss 8.221");

        var status = progress.Snapshot();

        Assert.Equal("[1/1] sp · epoch 3/20 (loss 8.221)", status.Where());
    }

    [Fact]
    public void BeginStage_NextStage_FinishesThePreviousAndRaisesTheEvent()
    {
        var progress = Create();
        var finished = new List<FinishedStage>();
        progress.StageFinished += finished.Add;
        progress.Plan([("a", StageKind.Score), ("a", StageKind.Evaluate)]);
        At(1);
        _ = progress.BeginStage("a", StageKind.Score);
        At(3.5);
        using (progress.BeginStage("a", StageKind.Evaluate))
        using (var task = progress.Start("circuits", 6))
        {
            At(4);
        }

        var stage = Assert.Single(finished, f => f.Kind == StageKind.Score);
        Assert.Equal(new FinishedStage("a", StageKind.Score, 1, 1, TimeSpan.FromSeconds(2.5), 0), stage);
        Assert.Equal(6, finished.Single(f => f.Kind == StageKind.Evaluate).Steps);
        Assert.Equal(2, progress.Finished().Count);
        Assert.Equal(TimeSpan.Zero, progress.Snapshot().Remaining); // nothing left
        Assert.Equal("4.0 s elapsed", progress.Snapshot().When());
    }

    [Fact]
    public void BeginStage_FailedOrCancelled_EndsStoppedAndOutOfTheSummary()
    {
        using var cancel = new CancellationTokenSource();
        var progress = new JobProgress(() => _now, cancel.Token);
        var finished = new List<FinishedStage>();
        progress.StageFinished += finished.Add;
        progress.Plan([("a", StageKind.Score), ("b", StageKind.Score), ("c", StageKind.Score)]);
        At(0);
        using (var stage = progress.BeginStage("a", StageKind.Score))
        {
            At(2);
            stage.Fail(); // the algorithm failed
        }

        using (progress.BeginStage("b", StageKind.Score))
        {
            At(3);
        }

        using (progress.BeginStage("c", StageKind.Score))
        {
            At(7);
            cancel.Cancel(); // Ctrl+C while c runs: the stage ends as the exception unwinds
        }

        Assert.Equal([false, true, false], finished.Select(f => f.Completed));
        Assert.Equal("b", Assert.Single(progress.Finished()).Label);
        Assert.Equal("[1/3] a: stopped after 2.0 s", AutoCircuit.Tool.Cli.LineStatus.Finished(finished[0]));
        Assert.Equal("[2/3] b: scored in 1.0 s", AutoCircuit.Tool.Cli.LineStatus.Finished(finished[1]));
        Assert.Equal("[3/3] c: stopped after 4.0 s", AutoCircuit.Tool.Cli.LineStatus.Finished(finished[2]));
    }

    [Fact]
    public void SkipStage_FailedAlgorithm_LeavesItsEvaluationOutOfTheEstimate()
    {
        var progress = TwoAlgorithmsWithAFinished();
        using (progress.BeginStage("b", StageKind.Score))
        {
            At(20);
        }

        progress.SkipStage("b", StageKind.Evaluate);

        Assert.Equal(TimeSpan.Zero, progress.Snapshot().Remaining);
    }

    [Theory]
    [InlineData(0.42, false, "0.4 s")]
    [InlineData(12.7, false, "12 s")]
    [InlineData(252, false, "4 min 12 s")]
    [InlineData(3780, false, "1 h 3 min")]
    [InlineData(37, true, "40 s")]
    [InlineData(170, true, "3 min")]
    [InlineData(3900, true, "1 h 5 min")]
    public void Duration_Seconds_ReadsAsExpected(double seconds, bool coarse, string expected) =>
        Assert.Equal(expected, ProgressText.Duration(TimeSpan.FromSeconds(seconds), coarse));
}
