using System.Globalization;
using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>The IOI and greater-than generators: formats, corrupt variants, determinism, GPT-2 tokenization.</summary>
public sealed partial class PromptGeneratorTests
{
    private static readonly Gpt2Tokenizer Gpt2 = Gpt2Tokenizer.BuiltIn();

    private static string[] Words(string text) => text.Split(' ');

    [Fact]
    public void Ioi_SameSeed_SamePrompts_OtherSeed_OtherPrompts()
    {
        static string[] Texts(long seed) => IoiTask.Generate(Gpt2, 40, IoiPattern.Mixed, null, seed).Prompts.Select(p => p.Clean.Text + "|" + p.Corrupt.Text).ToArray();

        Assert.Equal(Texts(3), Texts(3));
        Assert.NotEqual(Texts(3), Texts(4));
    }

    [Fact]
    public void Ioi_Mixed_AnswerIsTheNameSaidOnce_WrongAnswerTheRepeatedSubject()
    {
        var doc = IoiTask.Generate(Gpt2, 200, IoiPattern.Mixed, null, seed: 1);
        var abba = 0;

        foreach (var p in doc.Prompts)
        {
            var clean = p.Clean.Text!;
            var io = p.Answers.Texts!.Single();
            var s = p.WrongAnswers.Texts!.Single();
            Assert.StartsWith(" ", io, StringComparison.Ordinal);
            Assert.EndsWith(" to", clean, StringComparison.Ordinal);
            var names = Words(clean).Select(w => w.TrimEnd(',', '.')).Where(w => IoiTask.Names.Contains(w)).ToList();
            Assert.Equal(3, names.Count);
            Assert.Equal(1, names.Count(n => n == io.Trim()));
            Assert.Equal(2, names.Count(n => n == s.Trim()));
            Assert.Equal(s.Trim(), names[2]); // S2 is the subject of the second clause
            abba += names[0] == io.Trim() ? 1 : 0;
            Assert.Single(Gpt2.Encode(io));
            Assert.Single(Gpt2.Encode(s));
        }

        Assert.Equal(100, abba); // ABBA and BABA alternate
    }

    [Fact]
    public void Ioi_Corrupt_ReplacesTheThreeNamesInOrderByThreeOthers()
    {
        var doc = IoiTask.Generate(Gpt2, 200, IoiPattern.Mixed, null, seed: 2);

        foreach (var p in doc.Prompts)
        {
            var clean = Words(p.Clean.Text!);
            var corrupt = Words(p.Corrupt.Text!);
            Assert.Equal(clean.Length, corrupt.Length);
            var changed = Enumerable.Range(0, clean.Length).Where(i => clean[i] != corrupt[i]).ToList();
            Assert.Equal(3, changed.Count); // only the name occurrences differ
            var newNames = changed.Select(i => corrupt[i].TrimEnd(',', '.')).ToList();
            Assert.Equal(3, newNames.Distinct().Count());
            Assert.DoesNotContain(p.Answers.Texts![0].Trim(), newNames);
            Assert.DoesNotContain(p.WrongAnswers.Texts![0].Trim(), newNames);
            Assert.All(changed, i => Assert.Contains(clean[i].TrimEnd(',', '.'), IoiTask.Names));
        }
    }

    [Fact]
    public void IoiToken_OneTemplate_EqualLengthsLabelsAndWordPositions()
    {
        var doc = IoiTask.Generate(Gpt2, 64, IoiPattern.Baba, template: 0, seed: 0);
        var lengths = doc.Prompts.SelectMany(p => new[] { Gpt2.Encode(p.Clean.Text!).Count, Gpt2.Encode(p.Corrupt.Text!).Count }).Distinct().ToList();

        Assert.Single(lengths);
        Assert.Equal(lengths[0], doc.SeqLabels!.Count);
        foreach (var p in doc.Prompts)
        {
            var ids = Gpt2.Encode(p.Clean.Text!);
            var io = Gpt2.Encode(p.Answers.Texts![0]).Single();
            var s = Gpt2.Encode(p.WrongAnswers.Texts![0]).Single();
            Assert.Equal(io, ids[doc.WordIdxs["IO"]]);
            Assert.Equal(s, ids[doc.WordIdxs["S1"]]);
            Assert.Equal(s, ids[doc.WordIdxs["S2"]]);
            Assert.Equal(" to", Gpt2.TokenText(ids[doc.WordIdxs["end"]]));
            Assert.Equal(".", Gpt2.TokenText(ids[doc.WordIdxs["punct"]]));
        }

        // BABA: "Then, [S] and [IO] went to the [PLACE]. [S] gave a [OBJECT] to"
        Assert.Equal(["Then", ",", "S1", " and", "IO", " went", " to", " the", "[PLACE]", ".", "S2", " gave", " a", "[OBJECT]", " to"], doc.SeqLabels);
        Assert.Equal(2, doc.WordIdxs["S1"]);
        Assert.Equal(4, doc.WordIdxs["IO"]);
        Assert.Equal(3, doc.WordIdxs["IO-1"]);
        Assert.Equal(0, doc.WordIdxs["starts"]);
    }

    [Fact]
    public void IoiToken_EncodedWithBos_WordPositionsPointAtTheNames()
    {
        var doc = IoiTask.Generate(Gpt2, 8, IoiPattern.Baba, template: 0, seed: 0);
        var e = new TextPromptEncoder(Gpt2, new TokenPadding(50256, true)).Encode(doc, doc.Prompts);

        var io = Gpt2.Encode(doc.Prompts[0].Answers.Texts![0]).Single();
        Assert.True(e.AllSameLength);
        Assert.Equal(io, e.Clean[0, e.WordIdxs!["IO"]].ToInt64());
        Assert.Equal("IO", e.SeqLabels![e.WordIdxs["IO"]]);
    }

    [Fact]
    public void Ioi_TokenizerWithoutGpt2Names_IsAClearError()
    {
        var e = Assert.Throws<AutoCircuitException>(() => IoiTask.Generate(new Data.WordTokenizer(), 4, IoiPattern.Mixed, null, 0));

        Assert.StartsWith("IOI cannot be expressed with word tokenizer (test): it needs at least 5 names, 1 place and 1 object that are one token after a space, and 2 of 48 names", e.Message, StringComparison.Ordinal);
        Assert.Contains("(e.g. \" Alice\" → 5 tokens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GreaterThan_FormatAnswersAndCorrupt()
    {
        var doc = GreaterThanTask.Generate(Gpt2, 100, seed: 5);

        foreach (var p in doc.Prompts)
        {
            var m = Prompt().Match(p.Clean.Text!);
            Assert.True(m.Success, p.Clean.Text);
            var century = m.Groups["c"].Value;
            var year = int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture);
            Assert.Equal(century, m.Groups["c2"].Value);
            Assert.Equal(p.Clean.Text!.Replace($"year {century}{m.Groups["y"].Value} ", $"year {century}01 ", StringComparison.Ordinal), p.Corrupt.Text);
            Assert.Equal(Enumerable.Range(year + 1, 99 - year).Select(y => y.ToString("00", CultureInfo.InvariantCulture)), p.Answers.Texts!);
            Assert.Equal(Enumerable.Range(0, year + 1).Select(y => y.ToString("00", CultureInfo.InvariantCulture)), p.WrongAnswers.Texts!);
            var ids = Gpt2.Encode(p.Clean.Text!);
            Assert.Equal(" " + century, Gpt2.TokenText(ids[^1]));
            Assert.Equal(" " + century, Gpt2.TokenText(ids[^6])); // " XX" "YY" " to" " the" " year" " XX"
            Assert.Equal(m.Groups["y"].Value, Gpt2.TokenText(ids[^5]));
        }

        Assert.Equal(
            doc.Prompts.Select(p => p.Clean.Text),
            GreaterThanTask.Generate(Gpt2, 100, seed: 5).Prompts.Select(p => p.Clean.Text));
    }

    [Fact]
    public void GreaterThan_EveryAnswerIsOneGpt2Token()
    {
        var doc = GreaterThanTask.Generate(Gpt2, 64, seed: 0);

        var e = new TextPromptEncoder(Gpt2, new TokenPadding(50256, true)).Encode(doc, doc.Prompts);

        Assert.True(e.AllSameLength);
        Assert.All(e.Answers.Zip(e.WrongAnswers), a => Assert.Equal(100, a.First.Length + a.Second.Length));
    }

    [GeneratedRegex(@"^The (?<n>\w+) lasted from the year (?<c>1[1-7])(?<y>\d\d) to the year (?<c2>1[1-7])$")]
    private static partial Regex Prompt();
}
