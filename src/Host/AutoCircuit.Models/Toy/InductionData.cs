using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Toy;

/// <summary>
/// The in-context copying task of the embedded toy model. A prompt is BOS followed by distinct random
/// tokens, the last of which repeats an earlier one; the answer is the token that followed that
/// earlier occurrence: <c>BOS … A B … A → B</c>. Only an induction mechanism solves it (the tokens
/// are random, so no bigram statistics help, and the earlier occurrence is at a random position, so
/// no fixed offset does). The corrupt prompt replaces B by a token C that occurs nowhere else; its
/// answer would be C, the clean prompt's wrong answer.
/// </summary>
public static class InductionData
{
    /// <summary>The BOS token id.</summary>
    public const long Bos = 0;

    /// <summary>Vocabulary size (BOS + 63 content tokens).</summary>
    public const int VocabSize = 64;

    /// <summary>Prompt length including BOS.</summary>
    public const int SeqLen = 16;

    /// <summary>Random content tokens between BOS and the repeated last token.</summary>
    private const int Body = SeqLen - 2;

    /// <summary>
    /// Generates <paramref name="count"/> prompt pairs from <paramref name="seed"/> (a torch generator: the same seed
    /// gives the same prompts). Row <c>i</c>: <c>Clean[i]</c>, <c>Corrupt[i]</c> <c>[SeqLen]</c>,
    /// <c>Answer[i]</c> (B), <c>Wrong[i]</c> (C), <c>FirstPosition[i]</c> (the position of the first A; B is at the next one).
    /// </summary>
    public static InductionBatch Generate(int count, long seed)
    {
        using var gen = new Generator((ulong)seed);
        return Generate(count, gen);
    }

    /// <summary>As <see cref="Generate(int, long)"/>, drawing from an existing generator (training draws one batch per step).</summary>
    public static InductionBatch Generate(int count, Generator gen)
    {
        ArgumentNullException.ThrowIfNull(gen);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        using var scope = torch.NewDisposeScope();
        // Body + 1 distinct content tokens per row: a random permutation of 1..V-1, cut.
        var perm = torch.rand([count, VocabSize - 1], generator: gen).argsort(1).narrow(1, 0, Body + 1) + 1; // [n, Body+1]
        var body = perm.narrow(1, 0, Body); // [n, Body]
        var unused = perm.narrow(1, Body, 1); // [n, 1]: C, in no prompt position
        // The first occurrence is at body index j in [0, Body-2], so its successor (body index j+1) is a body token.
        var j = torch.randint(0, Body - 1, [count, 1], generator: gen, dtype: ScalarType.Int64); // [n, 1]
        var repeated = body.gather(1, j); // [n, 1]: A
        var answer = body.gather(1, j + 1); // [n, 1]: B
        var bos = torch.full([count, 1], Bos, dtype: ScalarType.Int64); // [n, 1]
        var clean = torch.cat([bos, body, repeated], 1); // [n, SeqLen]
        var corrupt = clean.scatter(1, j + 2, unused); // B (at position j + 2) -> C
        return new InductionBatch(
            clean.MoveToOuterDisposeScope(),
            corrupt.MoveToOuterDisposeScope(),
            answer.squeeze(1).MoveToOuterDisposeScope(),
            unused.squeeze(1).MoveToOuterDisposeScope(),
            (j + 1).squeeze(1).MoveToOuterDisposeScope());
    }
}

/// <summary>Prompt pairs of the induction task (CPU, int64).</summary>
/// <param name="Clean">Clean prompts <c>[n, SeqLen]</c>.</param>
/// <param name="Corrupt">Corrupt prompts <c>[n, SeqLen]</c>.</param>
/// <param name="Answer">The token to copy (B) <c>[n]</c>.</param>
/// <param name="Wrong">The corrupt prompt's token (C) <c>[n]</c>.</param>
/// <param name="FirstPosition">Position of the first occurrence of the repeated token <c>[n]</c>.</param>
public sealed record InductionBatch(Tensor Clean, Tensor Corrupt, Tensor Answer, Tensor Wrong, Tensor FirstPosition) : IDisposable
{
    /// <summary>Number of prompts.</summary>
    public long Count => Clean.size(0);

    /// <inheritdoc />
    public void Dispose()
    {
        Clean.Dispose();
        Corrupt.Dispose();
        Answer.Dispose();
        Wrong.Dispose();
        FirstPosition.Dispose();
    }
}
