using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>
/// The serialization contract of every JSON file the host writes (source-generated: no reflection): snake_case names,
/// nulls written (optional members say so with <see cref="JsonIgnoreAttribute"/>), two-space indentation. A
/// non-nullable member holding <c>null</c> throws instead of writing a file its schema rejects. The schemas in
/// <c>docs/schemas/</c> are generated from this context (<see cref="OutputSchemas"/>).
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(RunFile))]
[JsonSerializable(typeof(CompareFile))]
[JsonSerializable(typeof(EvaluateFile))]
[JsonSerializable(typeof(CircuitEvaluationFile))]
[JsonSerializable(typeof(CircuitEdgesFile))]
[JsonSerializable(typeof(LogitsOutput<float[]>), TypeInfoPropertyName = "LastLogits")]
[JsonSerializable(typeof(LogitsOutput<float[][]>), TypeInfoPropertyName = "AllLogits")]
[JsonSerializable(typeof(IReadOnlyDictionary<string, JsonNode?>), TypeInfoPropertyName = "OptionValues")]
internal sealed partial class OutputJsonContext : JsonSerializerContext
{
    private static OutputJsonContext? s_compact;

    /// <summary>The same contract written on one line (the logits output).</summary>
    // Built on first use: a static initializer could run before the generated Default exists.
    public static OutputJsonContext Compact => s_compact ??= new(new JsonSerializerOptions(Default.Options) { WriteIndented = false });
}
