using AutoCircuit.Models.Tokenizers;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

public sealed class Gpt2TokenizerTests
{
    private const string Ioi = "When Mary and John went to the store, John gave a drink to";

    // Ids from PLATFORM.md (GPT-2's tokenizer).
    private static readonly int[] IoiIds = [2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284];

    private static readonly string[] Texts =
    [
        Ioi,
        "Hello world",
        "<|endoftext|>When Mary and John went to the store",
        "The war lasted from the year 1732 to the year 17",
        "  spaces,\ttabs\nand naïve café 😀 ümlauts's 'quotes' don't",
    ];

    [Fact]
    public void Encode_BuiltIn_GivesGpt2Ids()
    {
        var tokenizer = Gpt2Tokenizer.BuiltIn();

        Assert.Equal(IoiIds, tokenizer.Encode(Ioi));
        Assert.Equal([15496, 995], tokenizer.Encode("Hello world"));
        Assert.Equal([50256, 15496], tokenizer.Encode("<|endoftext|>Hello"));
        Assert.Equal(50256, tokenizer.BosId);
        Assert.Equal(50257, tokenizer.VocabSize);
        Assert.Equal(" Mary", tokenizer.TokenText(5335));
    }

    [Fact]
    public void Decode_BuiltIn_RoundTripsAndDropsEndOfText()
    {
        var tokenizer = Gpt2Tokenizer.BuiltIn();

        foreach (var text in Texts.Skip(1))
        {
            Assert.Equal(text.Replace("<|endoftext|>", string.Empty, StringComparison.Ordinal), tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [SharedModelFact("fake-gpt2/vocab.json")]
    public void Encode_FromVocabAndMerges_EqualsBuiltIn()
    {
        var fromFiles = Gpt2Tokenizer.FromFolder(ModelFixtures.Shared("fake-gpt2")!);
        var builtIn = Gpt2Tokenizer.BuiltIn();

        Assert.Equal(IoiIds, fromFiles.Encode(Ioi));
        foreach (var text in Texts)
        {
            Assert.Equal(builtIn.Encode(text), fromFiles.Encode(text));
        }

        Assert.Equal(50256, fromFiles.BosId);
        Assert.Equal(50257, fromFiles.VocabSize);
    }
}
