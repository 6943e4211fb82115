using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>One of the most likely next tokens at a position.</summary>
[Description("A likely next token.")]
internal sealed record TopToken
{
    [Description("The token id.")]
    public required long Id { get; init; }

    [Description("The token's text as it appears in decoded text (null without a tokenizer).")]
    public required string? Text { get; init; }

    [Description("Its softmax probability over the vocabulary at that position.")]
    public required double Probability { get; init; }

    [Description("Its logit.")]
    public required double Logit { get; init; }
}
