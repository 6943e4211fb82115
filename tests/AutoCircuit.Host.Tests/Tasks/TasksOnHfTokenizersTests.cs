using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>
/// The task generators with the model's own tokenizer: IOI and induction on the Llama-3, Qwen and Gemma vocabularies
/// (single-token names and answers, fixed token positions), greater-than refused where numbers are not split in two-digit
/// tokens, naming the year and the tokenizer.
/// </summary>
public sealed class TasksOnHfTokenizersTests
{
    private static HfTokenizer Load(string name) => HfTokenizer.Load(TokenizerFixtures.Folder(name)!);

    private static EncodedPrompts Encode(HfTokenizer tokenizer, DatasetDocument doc, TokenPadding? padding = null) =>
        new TextPromptEncoder(tokenizer, padding, prependBos: tokenizer.BosId is not null).Encode(doc, doc.Prompts);

    [TokenizerFact("llama3.1", "qwen2.5", "gemma2")]
    public void Ioi_OnLlama3QwenGemma_AnswersAreOneTokenAndTokenPositionsAreFixed()
    {
        foreach (var name in new[] { "llama3.1", "qwen2.5", "gemma2" })
        {
            using var tokenizer = Load(name);
            var mixed = IoiTask.Generate(tokenizer, 64, IoiPattern.Mixed, template: null, seed: 0);
            foreach (var p in mixed.Prompts)
            {
                Assert.Single(tokenizer.Encode(p.Answers.Texts![0]));
                Assert.Single(tokenizer.Encode(p.WrongAnswers.Texts![0]));
            }

            var doc = IoiTask.Generate(tokenizer, 32, IoiPattern.Baba, template: 0, seed: 0);
            var e = Encode(tokenizer, doc);
            Assert.True(e.AllSameLength, name);
            for (var i = 0; i < doc.Prompts.Count; i++)
            {
                // BABA: the IO is the second name; the encoded prompt holds the answer's token there.
                Assert.Equal(e.Answers[i][0], e.Clean[i, e.WordIdxs!["IO"]].ToInt64());
                Assert.Equal(e.WrongAnswers[i][0], e.Clean[i, e.WordIdxs["S2"]].ToInt64());
            }
        }
    }

    [TokenizerFact("llama3.1", "qwen2.5", "gemma2")]
    public void Induction_OnLlama3QwenGemma_TheAnswerFollowsTheFirstOccurrence()
    {
        foreach (var name in new[] { "llama3.1", "qwen2.5", "gemma2" })
        {
            using var tokenizer = Load(name);
            var doc = InductionTask.TextDataset(tokenizer, prompts: 32);
            var e = Encode(tokenizer, doc);
            Assert.True(e.AllSameLength, name);
            var offset = tokenizer.BosId is null ? 0 : 1;
            Assert.Equal(15 + offset, (int)e.Clean.shape[1]);
            for (var i = 0; i < doc.Prompts.Count; i++)
            {
                var row = e.Clean[i].data<long>().ToArray();
                var first = Array.IndexOf(row, row[^1]);
                Assert.True(first < row.Length - 1);
                Assert.Equal(e.Answers[i][0], row[first + 1]);
                var corrupt = e.Corrupt[i].data<long>().ToArray();
                Assert.Equal(e.WrongAnswers[i][0], corrupt[first + 1]);
                Assert.DoesNotContain(e.WrongAnswers[i][0], row);
            }
        }
    }

    [TokenizerFact("llama3.1", "qwen2.5", "gemma2")]
    public void GreaterThan_OnDigitSplittingVocabularies_IsRefusedNamingTheYearAndTokenizer()
    {
        foreach (var name in new[] { "llama3.1", "qwen2.5", "gemma2" })
        {
            using var tokenizer = Load(name);
            var e = Assert.Throws<AutoCircuitException>(() => GreaterThanTask.Generate(tokenizer, 8, seed: 0));
            Assert.StartsWith($"greater-than cannot be expressed with {tokenizer.Name}: ", e.Message, StringComparison.Ordinal);
            Assert.Contains("\" 1732\" → ", e.Message, StringComparison.Ordinal);
        }
    }

    [TokenizerFact("gemma2", "llama3.1")]
    public void StoriesPronoun_OnBpeVocabularies_AnswersCarryTheLeadingSpace()
    {
        foreach (var name in new[] { "gemma2", "llama3.1" })
        {
            using var tokenizer = Load(name);
            var doc = StoriesPronounTask.Dataset(tokenizer);
            Assert.Equal([" she"], doc.Prompts[0].Answers.Texts!);
            Assert.Equal([" he"], doc.Prompts[0].WrongAnswers.Texts!);
            // Names differ in length (the story prompts are left-padded, as with stories260K).
            var e = Encode(tokenizer, doc, new TokenPadding(tokenizer.PadId ?? tokenizer.EosId!.Value, PadIsBos: false));
            Assert.Equal(tokenizer.Encode(" she").Single(), e.Answers[0][0]);
            Assert.Equal(tokenizer.Encode(" he").Single(), e.WrongAnswers[0][0]);
        }
    }

    [Fact]
    public void Induction_VocabularyWithoutTheWords_IsAClearError()
    {
        var e = Assert.Throws<AutoCircuitException>(() => InductionTask.TextDataset(new Data.WordTokenizer()));

        Assert.StartsWith("induction cannot be expressed with word tokenizer (test): it needs 15 words that are one token after a space, and 0 of 48 are (e.g. \" apple\" → 5 tokens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StoriesPronoun_VocabularyWithoutThePronoun_IsAClearError()
    {
        var e = Assert.Throws<AutoCircuitException>(() => StoriesPronounTask.Dataset(new Data.WordTokenizer()));

        Assert.StartsWith("stories-pronoun cannot be expressed with word tokenizer (test): \"she\" is not one token after \"Lily was a little girl who loved to play. Every day,\"", e.Message, StringComparison.Ordinal);
    }
}
