using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary><c>dotnet autocircuit tokenize</c>: ids as a JSON array, text as a JSON string, bad input refused with exit code 1.</summary>
public sealed class TokenizeCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-tokcli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string Tokenizer() => HfTokenizerTests.WriteFolder(
        Path.Combine(_dir, "tok"),
        HfTokenizerTests.WordLevelJson(["hello", "world", "mary", "john"]),
        new JsonObject { ["bos_token"] = "<s>", ["eos_token"] = "</s>" });

    [Fact]
    public async Task Tokenize_Text_PrintsIdsWithTheTokenizersSpecialTokens()
    {
        var folder = Tokenizer();

        var (code, output, err) = await Run("tokenize", "--tokenizer", folder, "--text", "hello world");
        Assert.True(code == 0, err);
        Assert.Equal("[0,3,4,1]", output.Trim());

        (code, output, err) = await Run("tokenize", "--tokenizer", Path.Combine(folder, "tokenizer.json"), "--text", "hello world", "--no-bos");
        Assert.True(code == 0, err);
        Assert.Equal("[3,4]", output.Trim());
    }

    [Fact]
    public async Task Tokenize_Decode_PrintsAJsonString()
    {
        var folder = Tokenizer();

        var (code, output, err) = await Run("tokenize", "--tokenizer", folder, "--decode", "0, 3,4,1");
        Assert.True(code == 0, err);
        Assert.Equal("<s>hello world</s>", JsonSerializer.Deserialize<string>(output));

        (code, output, err) = await Run("tokenize", "--tokenizer", folder, "--decode", "0,3,4,1", "--skip-special-tokens");
        Assert.True(code == 0, err);
        Assert.Equal("hello world", JsonSerializer.Deserialize<string>(output));
    }

    [SharedModelFact("fake-gpt2/vocab.json")]
    public async Task Tokenize_Gpt2Vocabulary_FolderWithVocabAndMerges()
    {
        var gpt2 = ModelFixtures.Shared("fake-gpt2/vocab.json")!;
        var folder = Path.Combine(_dir, "gpt2");
        Directory.CreateDirectory(folder);
        foreach (var f in new[] { "vocab.json", "merges.txt" })
        {
            File.Copy(Path.Combine(Path.GetDirectoryName(gpt2)!, f), Path.Combine(folder, f));
        }

        var (code, output, err) = await Run("tokenize", "--tokenizer", folder, "--text", "When Mary and John");
        Assert.True(code == 0, err);
        Assert.Equal("[2215,5335,290,1757]", output.Trim());
    }

    [Theory]
    [InlineData("--decode", "3,x", "--decode: 'x' is not an integer token id")]
    [InlineData("--decode", "3,7", "--decode: token id 7 is outside the vocabulary of tokenizer.json (")]
    [InlineData("--decode", "-1", "--decode: token id -1 is outside the vocabulary")]
    public async Task Tokenize_BadIds_ExitCode1(string option, string value, string message)
    {
        var (code, output, err) = await Run("tokenize", "--tokenizer", Tokenizer(), option, value);

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokenize_BadArguments_ExitCode1()
    {
        var folder = Tokenizer();

        var (code, _, err) = await Run("tokenize", "--tokenizer", Path.Combine(_dir, "absent"), "--text", "x");
        Assert.Equal(1, code);
        Assert.Equal($"error: --tokenizer {Path.Combine(_dir, "absent")}: no such file or folder.", err.Trim());

        (code, _, err) = await Run("tokenize", "--tokenizer", folder, "--text", "x", "--decode", "1");
        Assert.Equal(1, code);
        Assert.Equal("error: tokenize: give exactly one of --text (encode) and --decode (ids to text).", err.Trim());

        (code, _, err) = await Run("tokenize", "--tokenizer", folder);
        Assert.Equal(1, code);
        Assert.Contains("give exactly one of --text", err, StringComparison.Ordinal);

        (code, _, err) = await Run("tokenize", "--tokenizer", folder, "--decode", "1", "--no-bos");
        Assert.Equal(1, code);
        Assert.Contains("--no-bos goes with --text", err, StringComparison.Ordinal);

        var empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        (code, _, err) = await Run("tokenize", "--tokenizer", empty, "--text", "x");
        Assert.Equal(1, code);
        Assert.Contains("the folder has neither tokenizer.json nor vocab.json + merges.txt", err, StringComparison.Ordinal);
    }

    [TokenizerFact("llama3.1")]
    public async Task Tokenize_Llama31_EqualsTheReferenceForOneString()
    {
        using var expected = TokenizerFixtures.Expected("llama3.1");
        var c = expected.RootElement.GetProperty("cases").EnumerateArray().First(x => x.GetProperty("text").GetString() == "Hello world");

        var (code, output, err) = await Run("tokenize", "--tokenizer", TokenizerFixtures.Folder("llama3.1")!, "--text", "Hello world");

        Assert.True(code == 0, err);
        Assert.Equal(c.GetProperty("ids").GetRawText().Replace(" ", string.Empty, StringComparison.Ordinal), output.Trim());
    }
}
