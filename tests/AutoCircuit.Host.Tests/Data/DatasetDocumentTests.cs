using System.Text;
using AutoCircuit.Host.Data;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Data;

public sealed class DatasetDocumentTests
{
    private const string Valid = """
        {"prompts": [
          {"clean": [[1, 2], [3, 4]], "corrupt": [[-1, -2], [-3, -4]], "answers": [1], "wrong_answers": [0]},
          {"clean": [[5, 6], [7, 8]], "corrupt": [[-5, -6], [-7, -8]], "answers": [0], "wrong_answers": [1]}
        ]}
        """;

    private static DatasetDocument Parse(string json) => DatasetDocument.Parse(Encoding.UTF8.GetBytes(json), "data.json");

    [Fact]
    public void Parse_ValidNumericDataset_ReadsPromptsAndShapes()
    {
        var doc = Parse(Valid);

        Assert.Equal(2, doc.Prompts.Count);
        Assert.Equal([2L, 2L], doc.Prompts[0].Clean.Shape!);
        Assert.Equal([1L], doc.Prompts[0].Answers.Ids!);
    }

    [Fact]
    public void Parse_MalformedJson_ReportsFileLineAndColumn()
    {
        var e = Assert.Throws<DatasetException>(() => Parse("{\"prompts\": [\n  {\"clean\": [1, 2,]}\n]}"));

        Assert.StartsWith("data.json:2:", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingPrompts_SaysWhatIsExpected()
    {
        var e = Assert.Throws<DatasetException>(() => Parse("{\"seq_labels\": []}"));

        Assert.Equal("data.json: missing \"prompts\" (an array of {\"clean\", \"corrupt\", \"answers\", \"wrong_answers\"} objects).", e.Message);
    }

    [Theory]
    [InlineData("{\"prompts\": [{\"clean\": [1], \"corrupt\": [1], \"answers\": [1]}]}", "prompts[0]: missing \"wrong_answers\"")]
    [InlineData("{\"prompts\": [{\"clean\": [[1, 2], [3]], \"corrupt\": [1], \"answers\": [1], \"wrong_answers\": [0]}]}", "prompts[0].clean[1]: ragged array")]
    [InlineData("{\"prompts\": [{\"clean\": [1, 2], \"corrupt\": [1], \"answers\": [1], \"wrong_answers\": [0]}]}", "\"clean\" has shape [2] but \"corrupt\" has [1]")]
    [InlineData("{\"prompts\": [{\"clean\": [1], \"corrupt\": [1], \"answers\": [1.5], \"wrong_answers\": [0]}]}", "prompts[0].answers[0] must be an integer token id")]
    [InlineData("{\"prompts\": []}", "\"prompts\" is empty")]
    [InlineData("[1, 2]", "the top level must be an object")]
    public void Parse_BadStructure_NamesThePlace(string json, string expected)
    {
        var e = Assert.Throws<DatasetException>(() => Parse(json));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("data.json: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_AnswerOutsideOutput_NamesPromptAndRange()
    {
        var doc = Parse(Valid.Replace("\"answers\": [0]", "\"answers\": [7]", StringComparison.Ordinal));

        var e = Assert.Throws<DatasetException>(() =>
            TaskData.Build(doc, new DataOptions(1, 1, 1, Shuffle: false), new NumericPromptEncoder(2), 2, torch.CPU));

        Assert.Equal("data.json: prompts[1].answers contains 7, outside the model's output (0..1).", e.Message);
    }

    [Fact]
    public void Build_TooFewPrompts_SaysHowMany()
    {
        var doc = Parse(Valid);

        var e = Assert.Throws<DatasetException>(() =>
            TaskData.Build(doc, new DataOptions(1, 2, 1), new NumericPromptEncoder(2), 2, torch.CPU));

        Assert.Equal("data.json: has 2 prompts, fewer than --train-size 2 + --test-size 1 = 3.", e.Message);
    }

    [Fact]
    public void Build_WrongVectorSize_NamesPromptAndShape()
    {
        var doc = Parse(Valid);

        var e = Assert.Throws<DatasetException>(() =>
            TaskData.Build(doc, new DataOptions(1, 1, 1, Shuffle: false), new NumericPromptEncoder(3), 2, torch.CPU));

        Assert.Equal("data.json: prompts[0].clean has shape [2, 2]; this model takes [seq, 3] vectors.", e.Message);
    }

    [Fact]
    public void Build_DifferentLengths_RejectsNumericPrompts()
    {
        var doc = Parse("""
            {"prompts": [
              {"clean": [[1, 2], [3, 4]], "corrupt": [[1, 2], [3, 4]], "answers": [1], "wrong_answers": [0]},
              {"clean": [[5, 6]], "corrupt": [[5, 6]], "answers": [0], "wrong_answers": [1]}
            ]}
            """);

        var e = Assert.Throws<DatasetException>(() =>
            TaskData.Build(doc, new DataOptions(1, 1, 1, Shuffle: false, TokenPositions: true), new NumericPromptEncoder(2), 2, torch.CPU));

        Assert.Contains("prompts[1] has length 1 but prompts[0] has 2", e.Message, StringComparison.Ordinal);
    }
}
