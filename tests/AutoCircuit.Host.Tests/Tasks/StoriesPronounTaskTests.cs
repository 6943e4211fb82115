using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>stories260K is actually good at the pronoun task: the numbers docs/models-and-tasks.md states.</summary>
public sealed class StoriesPronounTaskTests(ITestOutputHelper output)
{
    /// <summary>Measured over all 320 prompts (docs/models-and-tasks.md): top-1 is the right pronoun for every prompt.</summary>
    private const double DocumentedTopOne = 1.0;

    /// <summary>Measured mean logit(right pronoun) − logit(other pronoun) on the clean prompts (docs/models-and-tasks.md: 2.97).</summary>
    private const double DocumentedLogitDiff = 2.97;

    [SharedModelFact("stories260K/stories260K.bin")]
    public void PronounTask_Stories260K_TopOneAndLogitDiffAsDocumented()
    {
        using var loaded = ModelCatalog.Load(ModelFixtures.Shared("stories260K/stories260K.bin"), torch.CPU);
        var model = (Transformer)loaded.Model;
        var doc = StoriesPronounTask.Dataset();
        var encoded = new TextPromptEncoder(loaded.Tokenizer!, model.Padding).Encode(doc, doc.Prompts);

        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        var clean = model.Forward(encoded.Clean, prefix: null).select(1, -1); // [n, V], left-padded batch
        var corrupt = model.Forward(encoded.Corrupt, prefix: null).select(1, -1);
        var answer = torch.tensor(encoded.Answers.Select(a => a[0]).ToArray()).unsqueeze(1);
        var wrong = torch.tensor(encoded.WrongAnswers.Select(a => a[0]).ToArray()).unsqueeze(1);
        var topOne = clean.argmax(1).eq(answer.squeeze(1)).to_type(ScalarType.Float64).mean().ToDouble();
        var diffs = (clean.gather(1, answer) - clean.gather(1, wrong)).squeeze(1);
        var logitDiff = diffs.to_type(ScalarType.Float64).mean().ToDouble();
        var positive = diffs.gt(0).to_type(ScalarType.Float64).mean().ToDouble();
        var corruptDiff = (corrupt.gather(1, answer) - corrupt.gather(1, wrong)).to_type(ScalarType.Float64).mean().ToDouble();
        output.WriteLine($"{doc.Prompts.Count} prompts: top-1 {topOne:P2}, logit diff {logitDiff:0.000}, right > wrong {positive:P2}, corrupt logit diff {corruptDiff:0.000}");

        Assert.Equal(320, doc.Prompts.Count);
        Assert.True(topOne >= DocumentedTopOne, $"top-1 {topOne}");
        Assert.True(logitDiff >= DocumentedLogitDiff, $"logit diff {logitDiff}");
        Assert.Equal(1.0, positive);
        Assert.True(corruptDiff <= -DocumentedLogitDiff, $"corrupt logit diff {corruptDiff}: the corrupt prompt must favour the other pronoun");
    }

    [Fact]
    public void PronounTask_Dataset_PairsAGirlAndABoyBothWays()
    {
        var doc = StoriesPronounTask.Dataset();

        Assert.Equal(320, doc.Prompts.Count);
        Assert.Equal("Lily was a little girl who loved to play. Every day,", doc.Prompts[0].Clean.Text);
        Assert.Equal("Tim was a little boy who loved to play. Every day,", doc.Prompts[0].Corrupt.Text);
        Assert.Equal(["she"], doc.Prompts[0].Answers.Texts!);
        Assert.Equal(["he"], doc.Prompts[0].WrongAnswers.Texts!);
        Assert.Equal(doc.Prompts[0].Clean.Text, doc.Prompts[1].Corrupt.Text);
        Assert.Equal(["he"], doc.Prompts[1].Answers.Texts!);
        Assert.Equal(160, doc.Prompts.Count(p => p.Answers.Texts![0] == "she"));
    }
}
