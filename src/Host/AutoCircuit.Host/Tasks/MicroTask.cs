using AutoCircuit.Host.Data;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// The micro model's built-in task, made by our own seeded generator: random 3-token prompts of
/// 2-d vectors, corrupt = -clean; the answer is the larger component of the model's last-token
/// output (the micro model maps a last token <c>x</c> to <c>[25 x0, 49 x1]</c>), the wrong answer the other.
/// </summary>
internal static class MicroTask
{
    /// <summary>Generates the dataset.</summary>
    public static DatasetDocument Dataset(int prompts = 256, int seed = 1)
    {
        var rng = new Random(seed);
        var records = new List<PromptRecord>(prompts);
        for (var i = 0; i < prompts; i++)
        {
            var clean = new double[6];
            for (var j = 0; j < clean.Length; j++)
            {
                clean[j] = Math.Round((rng.NextDouble() * 6) - 3, 2);
            }

            var corrupt = clean.Select(v => -v).ToArray();
            var answer = 25 * clean[4] >= 49 * clean[5] ? 0L : 1L;
            records.Add(new PromptRecord(
                i,
                PromptInput.FromNumbers(clean, [3, 2]),
                PromptInput.FromNumbers(corrupt, [3, 2]),
                new AnswerList([answer], null),
                new AnswerList([1 - answer], null)));
        }

        return DatasetDocument.FromPrompts($"micro task (generated, {prompts} prompts, seed {seed})", records);
    }
}
