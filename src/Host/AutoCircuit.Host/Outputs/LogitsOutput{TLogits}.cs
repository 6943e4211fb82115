using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>
/// What <c>dotnet autocircuit logits</c> prints: <typeparamref name="TLogits"/> is <c>float[]</c> (the last position's
/// logits) or <c>float[][]</c> (every position's, with <c>--all-positions</c>).
/// </summary>
/// <typeparam name="TLogits">The shape of the logits.</typeparam>
[Description("The output of 'dotnet autocircuit logits': a model's logits for given token ids.")]
internal sealed record LogitsOutput<TLogits>
{
    [Description("The model's description.")]
    public required string Model { get; init; }

    [Description("The token ids given.")]
    public required IReadOnlyList<long> Tokens { get; init; }

    [Description("'last' ([vocab]) or 'all' ([seq][vocab]).")]
    public required string Positions { get; init; }

    [Description("The logits.")]
    public required TLogits Logits { get; init; }

    [Description("With --prompt: the text the token ids were encoded from (with the model's tokenizer).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Prompt { get; init; }

    [Description("With --top N: per position shown (the last, or every one with --all-positions), the N most likely next tokens, most likely first.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<IReadOnlyList<TopToken>>? Top { get; init; }
}
