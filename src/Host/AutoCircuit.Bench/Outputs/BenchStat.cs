using System.ComponentModel;

namespace AutoCircuit.Bench.Outputs;

/// <summary>A measurement over repetitions in <c>bench --json</c> (rounded to 4 decimals; null where not finite).</summary>
[Description("A measurement over repetitions: median, quartiles, extremes and count (rounded to 4 decimals; null where not finite).")]
internal sealed record BenchStat
{
    [Description("Median.")]
    public required double? Median { get; init; }

    [Description("First quartile.")]
    public required double? Q1 { get; init; }

    [Description("Third quartile.")]
    public required double? Q3 { get; init; }

    [Description("Minimum.")]
    public required double? Min { get; init; }

    [Description("Maximum.")]
    public required double? Max { get; init; }

    [Description("Repetitions.")]
    public required int N { get; init; }
}
