using System.ComponentModel;
using AutoCircuit.Host.Outputs;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary><c>sweep-compare.json</c> of <c>compare --sweep</c>.</summary>
[Description("sweep-compare.json: one comparison over a sweep's cells: per task x model, algorithms ranked by the area under the " +
             "metric's curve with bootstrap confidence intervals over seeds, seed-to-seed spread, and how ranks and areas move across " +
             "ablations and patch types.")]
internal sealed record SweepCompareFile
{
    [Description("Always 'dotnet-autocircuit compare --sweep'.")]
    public required string Tool { get; init; }

    [Description("Versions of the tool and of what it ran on.")]
    public required ToolVersions Versions { get; init; }

    [Description("The command line as given.")]
    public required IReadOnlyList<string> CommandLine { get; init; }

    [Description("The plan or cache compared.")]
    public required string Source { get; init; }

    [Description("The cache the cells were read from.")]
    public required string Cache { get; init; }

    [Description("Finished cells compared.")]
    public required int Cells { get; init; }

    [Description("Cells of the plan without a finished result (left out); 0 when a cache was given.")]
    public required int MissingCells { get; init; }

    [Description("The metric whose area under the curve ranks the algorithms.")]
    public required string Metric { get; init; }

    [Description("Whether lower areas are better for this metric.")]
    public required bool LowerBetter { get; init; }

    [Description("How the confidence intervals were computed.")]
    public required SweepBootstrap Bootstrap { get; init; }

    [Description("One entry per task x model.")]
    public required IReadOnlyList<SweepCompareGroup> Groups { get; init; }
}

/// <summary>The bootstrap's settings.</summary>
[Description("The bootstrap behind the confidence intervals.")]
internal sealed record SweepBootstrap
{
    [Description("Always 'seeds': each resample draws the seeds of an algorithm and condition with replacement and averages their areas.")]
    public required string Over { get; init; }

    [Description("Resamples per interval.")]
    public required int Resamples { get; init; }

    [Description("Coverage of the percentile interval, e.g. 0.95.")]
    public required double Confidence { get; init; }

    [Description("Seed of the resampling (System.Random).")]
    public required int Seed { get; init; }
}

/// <summary>A condition: an ablation and a patch type.</summary>
[Description("A condition: the evaluation's ablation and patch type.")]
internal sealed record SweepCondition
{
    [Description("The ablation.")]
    public required string Ablation { get; init; }

    [Description("edge or tree.")]
    public required string PatchType { get; init; }
}

/// <summary>One task × model.</summary>
[Description("The comparison for one task and model.")]
internal sealed record SweepCompareGroup
{
    [Description("The task, or the dataset's file name.")]
    public required string Task { get; init; }

    [Description("The model.")]
    public required string Model { get; init; }

    [Description("Every condition present, in order.")]
    public required IReadOnlyList<SweepCondition> Conditions { get; init; }

    [Description("The condition of the main ranking: resample and edge patch when present, else the first.")]
    public required SweepCondition Reference { get; init; }

    [Description("Every algorithm, in the main ranking's order.")]
    public required IReadOnlyList<SweepCompareAlgorithm> Algorithms { get; init; }

    [Description("Per condition, Kendall's tau-b between its ranking and the reference's (1: same order); null with fewer than two algorithms.")]
    public required IReadOnlyList<double?> RankAgreement { get; init; }
}

/// <summary>One algorithm of a group.</summary>
[Description("One algorithm across the conditions.")]
internal sealed record SweepCompareAlgorithm
{
    [Description("The algorithm spec as in the plan.")]
    public required string Algorithm { get; init; }

    [Description("The algorithm key.")]
    public required string Key { get; init; }

    [Description("One entry per condition of the group, in its order; null where the algorithm has no cell.")]
    public required IReadOnlyList<SweepCompareCell?> Conditions { get; init; }

    [Description("Mean rank over the conditions.")]
    public required double MeanRank { get; init; }

    [Description("Best rank over the conditions.")]
    public required int BestRank { get; init; }

    [Description("Worst rank over the conditions.")]
    public required int WorstRank { get; init; }

    [Description("Smallest mean area over the conditions.")]
    public required double? AucMin { get; init; }

    [Description("Largest mean area over the conditions.")]
    public required double? AucMax { get; init; }

    [Description("Mean over the conditions of the seed-to-seed standard deviation; null with one seed.")]
    public required double? SeedStd { get; init; }
}

/// <summary>An algorithm under one condition.</summary>
[Description("An algorithm under one condition, over its seeds.")]
internal sealed record SweepCompareCell
{
    [Description("The seeds, ascending.")]
    public required IReadOnlyList<long> Seeds { get; init; }

    [Description("The area under the metric's curve of each seed (null where undefined).")]
    public required IReadOnlyList<double?> Auc { get; init; }

    [Description("Mean area over the seeds with a defined area; null if none.")]
    public required double? Mean { get; init; }

    [Description("Sample standard deviation over the seeds; null with fewer than two.")]
    public required double? Std { get; init; }

    [Description("Lower end of the bootstrap interval of the mean.")]
    public required double? CiLow { get; init; }

    [Description("Upper end of the bootstrap interval of the mean.")]
    public required double? CiHigh { get; init; }

    [Description("Rank among the algorithms under this condition (1 = best; ties share the better rank).")]
    public required int Rank { get; init; }
}
