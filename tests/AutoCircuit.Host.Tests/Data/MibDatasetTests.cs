using System.Text;
using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Tokenizers;
using Xunit;

namespace AutoCircuit.Host.Tests.Data;

/// <summary>
/// MIB's dataset rows (the row formats of <c>MIB_circuit_track/dataset.py</c>'s <c>HFEAPDataset</c>) read from local
/// JSON lines and JSON arrays, with rows of our own making, on GPT-2's tokenizer.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class MibDatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-mibdata-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Gpt2Tokenizer Gpt2 = Gpt2Tokenizer.BuiltIn();

    private const string IoiRow1 =
        """{"prompt": "When Mary and John went to the store, John gave a drink to", "metadata": {"indirect_object": "Mary", "subject": "John", "random_c": "Paul"}, "s2_io_flip_counterfactual": {"prompt": "When Mary and John went to the store, Mary gave a drink to"}, "abc_counterfactual": {"prompt": "When Anna and Paul went to the store, Carl gave a drink to"}}""";

    private const string IoiRow2 =
        """{"prompt": "After John and Mary met at the park, Mary handed a book to", "metadata": {"indirect_object": "John", "subject": "Mary", "random_c": "Anna"}, "s2_io_flip_counterfactual": {"prompt": "After John and Mary met at the park, John handed a book to"}, "abc_counterfactual": {"prompt": "After Carl and Anna met at the park, Paul handed a book to"}}""";

    // " Xyzzyqx" is several GPT-2 tokens, " Mary" one: MIB's filter drops the row.
    private const string IoiLongName =
        """{"prompt": "Then Xyzzyqx and Mary sat down, Mary said hi to", "metadata": {"indirect_object": "Xyzzyqx", "subject": "Mary", "random_c": "John"}, "s2_io_flip_counterfactual": {"prompt": "Then Xyzzyqx and Mary sat down, Xyzzyqx said hi to"}}""";

    private static MibDatasetFile Parse(string text, MibTask task, string? cf = null) =>
        MibDataset.Parse(Encoding.UTF8.GetBytes(text), "rows.jsonl", task, cf, Gpt2);

    [Fact]
    public void Ioi_JsonLines_CleanPromptCounterfactualPromptAndNameTokens()
    {
        var file = Parse(IoiRow1 + "\n\n" + IoiRow2 + "\n", MibTask.Ioi);

        Assert.Equal(2, file.Rows);
        Assert.Equal(0, file.Dropped);
        Assert.Equal("s2_io_flip_counterfactual", file.Counterfactual);
        var p = file.Document.Prompts[0];
        Assert.Equal("When Mary and John went to the store, John gave a drink to", p.Clean.Text);
        Assert.Equal("When Mary and John went to the store, Mary gave a drink to", p.Corrupt.Text);
        Assert.Equal([5335L], p.Answers.Ids!); // " Mary"
        Assert.Equal([1757L], p.WrongAnswers.Ids!); // " John"
        Assert.Equal([1757L], file.Document.Prompts[1].Answers.Ids!);
        Assert.Equal(1, file.Document.Prompts[1].Index);
    }

    [Fact]
    public void Ioi_OtherCounterfactual_CorruptsWithItsPromptAndKeepsTheAnswers()
    {
        var file = Parse(IoiRow1, MibTask.Ioi, "abc_counterfactual");

        var p = file.Document.Prompts[0];
        Assert.Equal("When Anna and Paul went to the store, Carl gave a drink to", p.Corrupt.Text);
        Assert.Equal([5335L], p.Answers.Ids!);
        Assert.Equal([1757L], p.WrongAnswers.Ids!);
    }

    [Fact]
    public void Ioi_NamesOfDifferentTokenCounts_RowLeftOutAsMibDoes()
    {
        Assert.True(Gpt2.Encode(" Xyzzyqx").Count > 1);

        var file = Parse(IoiRow1 + "\n" + IoiLongName + "\n" + IoiRow2, MibTask.Ioi);

        Assert.Equal(3, file.Rows);
        Assert.Equal(1, file.Dropped);
        Assert.Equal(["When", "After"], file.Document.Prompts.Select(p => p.Clean.Text!.Split(' ')[0]).ToArray());
    }

    [Fact]
    public void Ioi_JsonArray_ReadsTheSameRows()
    {
        var lines = Parse(IoiRow1 + "\n" + IoiRow2, MibTask.Ioi);
        var array = Parse("[\n" + IoiRow1 + ",\n" + IoiRow2 + "\n]", MibTask.Ioi);

        Assert.Equal(
            lines.Document.Prompts.Select(p => (p.Clean.Text, p.Corrupt.Text, p.Answers.Ids![0], p.WrongAnswers.Ids![0])),
            array.Document.Prompts.Select(p => (p.Clean.Text, p.Corrupt.Text, p.Answers.Ids![0], p.WrongAnswers.Ids![0])));
    }

    private const string McqaRow =
        """{"prompt": "Question: Kiwis are green. What color are kiwis?\nA. blue\nB. green\nAnswer:", "choices": {"label": ["A", "B"], "text": ["blue", "green"]}, "answerKey": 1, "symbol_counterfactual": {"prompt": "Question: Kiwis are green. What color are kiwis?\nC. blue\nD. green\nAnswer:", "choices": {"label": ["C", "D"], "text": ["blue", "green"]}, "answerKey": 1}, "answerPosition_counterfactual": {"prompt": "Question: Kiwis are green. What color are kiwis?\nA. green\nB. blue\nAnswer:", "choices": {"label": ["A", "B"], "text": ["green", "blue"]}, "answerKey": 0}}""";

    [Theory]
    [InlineData(MibTask.Mcqa)]
    [InlineData(MibTask.ArcEasy)]
    [InlineData(MibTask.ArcChallenge)]
    public void MultipleChoice_AnswerIsTheLabelAtAnswerKey_WrongIsTheCounterfactuals(MibTask task)
    {
        var file = Parse(McqaRow, task);

        var p = file.Document.Prompts[0];
        Assert.Equal("symbol_counterfactual", file.Counterfactual);
        Assert.EndsWith("D. green\nAnswer:", p.Corrupt.Text, StringComparison.Ordinal);
        Assert.Equal([(long)Gpt2.Encode("B")[0]], p.Answers.Ids!); // no leading space, as MIB tokenizes the label
        Assert.Equal([(long)Gpt2.Encode("D")[0]], p.WrongAnswers.Ids!);
        Assert.NotEqual(Gpt2.Encode(" B")[0], Gpt2.Encode("B")[0]);

        var position = Parse(McqaRow, task, "answerPosition_counterfactual").Document.Prompts[0];
        Assert.Equal([(long)Gpt2.Encode("A")[0]], position.WrongAnswers.Ids!);
    }

    [Fact]
    public void Arithmetic_KeepsTheTasksOperatorAndOneTokenLabels()
    {
        const string rows = """
            {"prompt": "Q: How much is 7 plus 5? A:", "label": 12, "operator": "+", "random_counterfactual": {"prompt": "Q: How much is 3 plus 6? A:", "label": 9}}
            {"prompt": "Q: How much is 9 minus 4? A:", "label": 5, "operator": "-", "random_counterfactual": {"prompt": "Q: How much is 8 minus 6? A:", "label": 2}}
            {"prompt": "Q: How much is 2 plus 2? A:", "label": 4, "operator": "+", "random_counterfactual": null}
            {"prompt": "Q: How much is 98765432 plus 1? A:", "label": 98765433, "operator": "+", "random_counterfactual": {"prompt": "Q: How much is 1 plus 1? A:", "label": 2}}
            """;
        Assert.True(Gpt2.Encode("98765433").Count > 1);

        var add = Parse(rows, MibTask.ArithmeticAddition);
        var sub = Parse(rows, MibTask.ArithmeticSubtraction);

        Assert.Equal((4, 3), (add.Rows, add.Dropped));
        Assert.Equal("Q: How much is 3 plus 6? A:", add.Document.Prompts[0].Corrupt.Text);
        Assert.Equal([(long)Gpt2.Encode("12")[0]], add.Document.Prompts[0].Answers.Ids!);
        Assert.Single(Gpt2.Encode("12"));
        Assert.Equal([(long)Gpt2.Encode("9")[0]], add.Document.Prompts[0].WrongAnswers.Ids!);
        Assert.Equal((4, 3), (sub.Rows, sub.Dropped));
        Assert.Equal([(long)Gpt2.Encode("5")[0]], sub.Document.Prompts[0].Answers.Ids!);
    }

    [Theory]
    [InlineData("{\"prompt\": \"a\", \"metadata\": {\"subject\": \"John\", \"random_c\": \"Paul\"}}", "rows.jsonl:2: metadata.indirect_object: missing.")]
    [InlineData("{\"prompt\": 5, \"metadata\": {}}", "rows.jsonl:2: prompt: must be a string; found the number 5.")]
    [InlineData(
        "{\"prompt\": \"a\", \"metadata\": {\"indirect_object\": \"Mary\", \"subject\": \"John\", \"random_c\": \"Paul\"}, \"abc_counterfactual\": {\"prompt\": \"b\"}}",
        "rows.jsonl:2: s2_io_flip_counterfactual: missing (this row's counterfactual columns: abc_counterfactual).")]
    [InlineData("{\"prompt\": \"a\",, }", "rows.jsonl:2:")]
    [InlineData("[1]", "rows.jsonl:2: a row must be an object; found an array.")]
    public void Ioi_BadRow_NamesFileLineAndField(string row, string expected)
    {
        var e = Assert.Throws<DatasetException>(() => Parse(IoiRow1 + "\n" + row + "\n", MibTask.Ioi));

        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MultipleChoice_AnswerKeyOutsideTheLabels_NamesTheField()
    {
        var row = McqaRow.Replace("\"answerKey\": 1}, \"answerPosition", "\"answerKey\": 7}, \"answerPosition", StringComparison.Ordinal);

        var e = Assert.Throws<DatasetException>(() => Parse("\n" + row, MibTask.Mcqa));

        Assert.Equal("rows.jsonl:2: symbol_counterfactual.answerKey: 7 is outside choices.label (which has 2 labels).", e.Message);
    }

    [Fact]
    public void JsonArray_BadRow_NamesTheLineOfTheElement()
    {
        var e = Assert.Throws<DatasetException>(() => Parse("[\n" + IoiRow1 + ",\n\n{\"prompt\": \"x\"}\n]", MibTask.Ioi));

        Assert.Equal("rows.jsonl:4: metadata: missing.", e.Message);
    }

    [Fact]
    public void EveryRowLeftOut_SaysWhyAndWithWhichTokenizer()
    {
        var e = Assert.Throws<DatasetException>(() => Parse(IoiLongName, MibTask.Ioi));

        Assert.Contains("all 1 rows are left out", e.Message, StringComparison.Ordinal);
        Assert.Contains("same token count", e.Message, StringComparison.Ordinal);
        Assert.Contains(Gpt2.Name, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ioi", MibTask.Ioi, "ioi")]
    [InlineData("arithmetic_addition", MibTask.ArithmeticAddition, "arithmetic-addition")]
    [InlineData("arc-easy", MibTask.ArcEasy, "arc-easy")]
    [InlineData("ARC_CHALLENGE", MibTask.ArcChallenge, "arc-challenge")]
    [InlineData("copycolors_mcqa", MibTask.Mcqa, "mcqa")]
    public void ParseTask_AcceptsMibsSpellings_TaskNameIsTheSubmissionFolders(string name, MibTask task, string folder)
    {
        Assert.Equal(task, MibDataset.ParseTask(name));
        Assert.Equal(folder, MibDataset.TaskName(task));
    }

    [Fact]
    public void ParseTask_Unknown_ListsTheTasks()
    {
        var e = Assert.Throws<DatasetException>(() => MibDataset.ParseTask("greater-than"));

        Assert.Contains(MibDataset.TaskNames, e.Message, StringComparison.Ordinal);
    }

    [SharedModelFact("fake-gpt2/model.safetensors")]
    public void Prepare_MibTaskOnAGpt2Folder_EncodesTheRowsWithTheModelsTokenizer()
    {
        var file = Path.Combine(_dir, "ioi.jsonl");
        File.WriteAllText(file, IoiRow1 + "\n" + IoiLongName + "\n" + IoiRow2 + "\n");

        using var prepared = TaskSetup.Prepare(
            ModelFixtures.Shared("fake-gpt2")!, file, task: null, new DataArguments(Shuffle: false, MibTask: "ioi", Counterfactual: "abc_counterfactual"),
            TorchSharp.torch.CPU);

        Assert.Equal((3, 1, "abc_counterfactual"), (prepared.Mib!.Rows, prepared.Mib.Dropped, prepared.Mib.Counterfactual));
        var encoded = prepared.Encoder.Encode(prepared.Document, prepared.Document.Prompts);
        Assert.Equal([5335L], encoded.Answers[0]);
        Assert.Equal([1757L], encoded.WrongAnswers[0]);
        var clean = encoded.Clean[0].data<long>().ToArray();
        var prompt = Gpt2.Encode("When Mary and John went to the store, John gave a drink to").Select(i => (long)i).ToArray();
        Assert.Equal(prompt, clean[^prompt.Length..]);
        Assert.Equal(50256L, clean[^(prompt.Length + 1)]); // BOS before the prompt
    }

    [Theory]
    [InlineData(null, "abc_counterfactual", true, "--counterfactual needs --mib-task")]
    [InlineData("ioi", null, false, "--mib-task needs --dataset")]
    public void Prepare_MibOptionsWithoutTheirPartners_AreRefused(string? task, string? cf, bool withDataset, string expected)
    {
        var file = Path.Combine(_dir, "ioi.jsonl");
        File.WriteAllText(file, IoiRow1);

        var e = Assert.Throws<AutoCircuitException>(() => TaskSetup.Prepare(
            "micro", withDataset ? file : null, task: null, new DataArguments(MibTask: task, Counterfactual: cf), TorchSharp.torch.CPU));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
