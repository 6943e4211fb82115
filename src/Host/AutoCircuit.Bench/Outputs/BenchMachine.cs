using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Bench.Outputs;

/// <summary>The <c>"machine"</c> object of <c>bench --json</c>.</summary>
[Description("The machine the benchmark ran on.")]
internal sealed record BenchMachine
{
    [Description("The CPU model.")]
    public required string Cpu { get; init; }

    [Description("Logical cores.")]
    public required int Cores { get; init; }

    [Description("libtorch intra-op threads.")]
    public required int TorchThreads { get; init; }

    [Description("The device measured (cpu, cuda:0, ...).")]
    public required string Device { get; init; }

    [Description("The operating system.")]
    public required string Os { get; init; }

    [Description("The 1-minute load average when the benchmark started, where known.")]
    [JsonPropertyName("load_average_1m")]
    public required double? LoadAverage1m { get; init; }
}
