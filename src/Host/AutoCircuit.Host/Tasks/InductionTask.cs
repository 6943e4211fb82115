using AutoCircuit.Host.Data;
using AutoCircuit.Models.Toy;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// The default task: in-context copying on the embedded toy model (<see cref="InductionData"/>), as
/// token ids. Clean: <c>BOS … A B … A</c>, answer B; corrupt: B replaced by C, wrong answer C. The
/// prompts are generated with their own seed, disjoint from the training stream and from the held-out
/// prompts <c>train-toy</c> measured.
/// </summary>
public static class InductionTask
{
    /// <summary>Seed of the task's prompts.</summary>
    public const long Seed = 7;

    /// <summary>Prompts generated (train and test take 128 each by default).</summary>
    public const int Prompts = 512;

    /// <summary>The task definition.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Key = "induction",
        Description = "in-context copying (BOS … A B … A → B; corrupt: B → C) on the embedded toy model; known circuit: " +
                      "its induction heads' value path",
        DefaultModel = ToyModel.Name,
        ModelHint = $"the embedded {ToyModel.Name} model (or a model trained by train-toy: a {ToyModel.FileName} file)",
        Dataset = _ => Dataset(),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
        // The circuit comes with a toy-induction model (measured by train-toy); other models have none.
        KnownCircuit = loaded => loaded.ToyInfo?.Circuit.Select(name => new CircuitEdge(name)).ToList(),
    };

    /// <summary>The dataset: <see cref="Prompts"/> prompt pairs from <see cref="Seed"/>.</summary>
    public static DatasetDocument Dataset(int prompts = Prompts, long seed = Seed)
    {
        using var batch = InductionData.Generate(prompts, seed);
        var clean = batch.Clean.data<long>().ToArray();
        var corrupt = batch.Corrupt.data<long>().ToArray();
        var answer = batch.Answer.data<long>().ToArray();
        var wrong = batch.Wrong.data<long>().ToArray();
        var t = InductionData.SeqLen;
        var records = new List<PromptRecord>(prompts);
        for (var i = 0; i < prompts; i++)
        {
            records.Add(new PromptRecord(
                i,
                PromptInput.FromNumbers(clean.AsSpan(i * t, t).ToArray().Select(v => (double)v).ToArray(), [t]),
                PromptInput.FromNumbers(corrupt.AsSpan(i * t, t).ToArray().Select(v => (double)v).ToArray(), [t]),
                new AnswerList([answer[i]], null),
                new AnswerList([wrong[i]], null)));
        }

        string[] labels = ["BOS", .. Enumerable.Range(1, t - 2).Select(p => $"x{p}"), "repeat"];
        return DatasetDocument.FromPrompts($"induction task (generated, {prompts} prompts, seed {seed})", records, labels);
    }
}
