namespace AutoCircuit.Host.Data;

/// <summary>
/// One prompt as written in a dataset file: text (tokenized later by the model's tokenizer) or
/// numbers (token ids <c>[seq]</c>, or vectors <c>[seq, d]</c> for the micro model).
/// </summary>
public sealed class PromptInput
{
    private PromptInput(string? text, double[]? values, long[]? shape)
    {
        Text = text;
        Values = values;
        Shape = shape;
    }

    /// <summary>The prompt text, or <c>null</c> for numeric prompts.</summary>
    public string? Text { get; }

    /// <summary>Numbers in row-major order, or <c>null</c> for text prompts.</summary>
    public double[]? Values { get; }

    /// <summary>Shape of <see cref="Values"/> (<c>[seq]</c> or <c>[seq, d]</c>).</summary>
    public long[]? Shape { get; }

    /// <summary>Whether this is a text prompt.</summary>
    public bool IsText => Text is not null;

    /// <summary>Number of positions (numeric prompts only).</summary>
    public long Length => Shape?[0] ?? throw new InvalidOperationException("Text prompts have no length before tokenization.");

    /// <summary>A text prompt.</summary>
    public static PromptInput FromText(string text) => new(text, null, null);

    /// <summary>A numeric prompt.</summary>
    public static PromptInput FromNumbers(double[] values, long[] shape) => new(null, values, shape);

    /// <summary>Whether every number is an integer (token ids).</summary>
    public bool IsIntegral => Values is not null && Values.All(v => v == Math.Floor(v) && !double.IsInfinity(v));
}
