using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AutoCircuit.Bench.Outputs;

/// <summary>
/// The serialization contract of <c>bench --json</c> (source-generated): the same conventions as the host's output
/// files (snake_case names, nulls written, two-space indentation). Its schemas are generated into <c>docs/schemas/</c>.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(BenchFile))]
[JsonSerializable(typeof(BenchMemoryLine))]
[JsonSerializable(typeof(VsAutoCircuitFile))]
internal sealed partial class BenchJsonContext : JsonSerializerContext
{
    private static BenchJsonContext? s_compact;

    /// <summary>The same contract written on one line (<c>bench --memory-only --json</c>).</summary>
    // Built on first use: a static initializer could run before the generated Default exists.
    public static BenchJsonContext Compact => s_compact ??= new(new JsonSerializerOptions(Default.Options) { WriteIndented = false });

    /// <summary>The outputs of <c>bench</c>: the schema's file name stem, its title and the contract (see <c>OutputSchemas</c>).</summary>
    public static IReadOnlyList<(string Stem, string Title, JsonTypeInfo Contract)> Files =>
    [
        ("bench", "dotnet autocircuit bench --json", Default.BenchFile),
        ("bench-memory", "dotnet autocircuit bench --memory-only --json", Default.BenchMemoryLine),
        ("bench-vs-auto-circuit", "dotnet autocircuit bench --vs-auto-circuit --json", Default.VsAutoCircuitFile),
    ];
}
