using TorchSharp;

namespace AutoCircuit.Models.Transformers;

/// <summary>Greedy decoding (one full forward per new token: the sequences here are short).</summary>
public static class Generation
{
    /// <summary>
    /// Appends up to <paramref name="maxNewTokens"/> argmax tokens to <paramref name="prompt"/>; stops
    /// after a token in <paramref name="stopTokens"/> or at the context length. Returns the new tokens only.
    /// </summary>
    public static IReadOnlyList<long> Greedy(
        Transformer model, IReadOnlyList<long> prompt, int maxNewTokens, IReadOnlyCollection<long>? stopTokens = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0)
        {
            throw new ArgumentException("Greedy decoding needs at least one prompt token (e.g. BOS).", nameof(prompt));
        }

        using var _ = torch.inference_mode();
        var sequence = new List<long>(prompt);
        var generated = new List<long>();
        while (generated.Count < maxNewTokens && sequence.Count < model.Config.ContextLength)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var tokens = torch.tensor(sequence.ToArray(), [1, sequence.Count], device: model.Device); // [1, T]
            var logits = model.Forward(tokens, prefix: null); // [1, T, V]
            var next = logits[0, -1].argmax().ToInt64();
            sequence.Add(next);
            generated.Add(next);
            if (stopTokens?.Contains(next) == true)
            {
                break;
            }
        }

        return generated;
    }
}
