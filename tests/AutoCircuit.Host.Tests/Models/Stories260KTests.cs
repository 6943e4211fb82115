using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Transformers;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>The trained llama2.c model of ../shared: greedy decoding and its tokenizer.</summary>
public sealed class Stories260KTests
{
    private const string Story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    [SharedModelFact("stories260K/stories260K.bin")]
    public void Greedy_FromBos_TellsTheKnownStoryTokenForToken()
    {
        using var model = LlamaCheckpoint.LoadLlama2c(ModelFixtures.Shared("stories260K/stories260K.bin")!).Model;
        var tokenizer = Llama2cTokenizer.Load(ModelFixtures.Shared("stories260K/tok512.bin")!, model.Config.VocabSize);
        var expected = tokenizer.Encode(Story);

        var generated = Generation.Greedy(model, [1], expected.Count);

        Assert.Equal(expected.Select(i => (long)i), generated);
        Assert.Equal(Story, tokenizer.Decode([1, .. generated.Select(i => (int)i)]));
    }

    [SharedModelFact("stories260K/tok512.bin")]
    public void Encode_Story_MatchesSentencePieceModelAndRoundTrips()
    {
        var tokenizer = Llama2cTokenizer.Load(ModelFixtures.Shared("stories260K/tok512.bin")!, 512);
        var sentencePiece = SentencePieceModelTokenizer.Load(ModelFixtures.Shared("stories260K/tok512.model")!);
        string[] texts = [Story, "Lily and Tom went to the park. Tom gave the ball to", "naïve café 😀 x\ny"];

        foreach (var text in texts)
        {
            var ids = tokenizer.Encode(text);
            Assert.Equal(sentencePiece.Encode(text), ids);
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [SharedModelFact("stories260K/tok512.bin")]
    public void Encode_Story_GivesKnownIds()
    {
        var tokenizer = Llama2cTokenizer.Load(ModelFixtures.Shared("stories260K/tok512.bin")!, 512);

        var ids = tokenizer.Encode("Once upon a time");

        // The greedy continuation of BOS in the reference fixture starts with these ids.
        Assert.Equal([403, 407, 261, 378], ids);
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Equal(" Once", tokenizer.TokenText(403));
    }
}
