using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit tokenize</c>: text to token ids (a JSON array) or ids to text (a JSON string), with a model's tokenizer.</summary>
internal static class TokenizeCommand
{
    internal static readonly Option<string> TokenizerOption = new("--tokenizer")
    {
        Description = "The tokenizer: " + TokenizerFiles.Help + ".",
        HelpName = "PATH",
        Required = true,
    };

    internal static readonly Option<string> TextOption = new("--text")
    {
        Description = "Text to encode; prints its token ids as a JSON array, with the special tokens the tokenizer adds by default " +
                      "(e.g. BOS), as Hugging Face's tokenizer.encode(text) does.",
        HelpName = "TEXT",
    };

    internal static readonly Option<string> DecodeOption = new("--decode")
    {
        Description = "Comma-separated token ids to decode, e.g. 128000,9906,1917; prints the text as a JSON string " +
                      "(special tokens written out, as tokenizer.decode(ids) does).",
        HelpName = "IDS",
    };

    internal static readonly Option<bool> NoBosOption = new("--no-bos")
    {
        Description = "With --text: add no special tokens (no BOS, nor anything else the tokenizer adds; add_special_tokens=False).",
    };

    internal static readonly Option<bool> SkipSpecialOption = new("--skip-special-tokens")
    {
        Description = "With --decode: leave special tokens (BOS, EOS, chat markers) out of the text.",
    };

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command(
            "tokenize",
            "Encode text with a tokenizer and print the token ids as a JSON array on stdout, or decode ids (--decode) and print " +
            "the text as a JSON string. For scripts and checks against other implementations.")
        {
            TokenizerOption, TextOption, DecodeOption, NoBosOption, SkipSpecialOption,
        };
        command.SetAction(parse => CommandLine.Guard(error, () =>
        {
            var text = parse.GetValue(TextOption);
            var decode = parse.GetValue(DecodeOption);
            if ((text is null) == (decode is null))
            {
                throw new AutoCircuitException("tokenize: give exactly one of --text (encode) and --decode (ids to text).");
            }

            if (decode is not null && parse.GetValue(NoBosOption))
            {
                throw new AutoCircuitException("tokenize: --no-bos goes with --text; --decode prints the ids given.");
            }

            if (text is not null && parse.GetValue(SkipSpecialOption))
            {
                throw new AutoCircuitException("tokenize: --skip-special-tokens goes with --decode.");
            }

            var tokenizer = TokenizerFiles.Load(parse.GetValue(TokenizerOption)!);
            try
            {
                if (text is not null)
                {
                    var ids = parse.GetValue(NoBosOption) ? tokenizer.Encode(text) : tokenizer.EncodeWithSpecialTokens(text);
                    output.WriteLine("[" + string.Join(",", ids.Select(i => i.ToString(CultureInfo.InvariantCulture))) + "]");
                }
                else
                {
                    var ids = ParseIds(decode!, tokenizer);
                    var decoded = tokenizer is HfTokenizer hf && !parse.GetValue(SkipSpecialOption)
                        ? hf.DecodeWithSpecialTokens(ids)
                        : tokenizer.Decode(ids);
                    output.WriteLine(JsonSerializer.Serialize(decoded, Json));
                }
            }
            finally
            {
                (tokenizer as IDisposable)?.Dispose();
            }

            return ExitCode.Ok;
        }));
        return command;
    }

    /// <summary>Parses <c>1,2,3</c> and checks every id against the vocabulary.</summary>
    /// <exception cref="AutoCircuitException">An entry is not an integer or outside the vocabulary.</exception>
    private static int[] ParseIds(string text, ITokenizer tokenizer)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 1 && parts[0].Length == 0)
        {
            return [];
        }

        return parts.Select(p =>
        {
            if (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
            {
                throw new AutoCircuitException($"--decode: '{p}' is not an integer token id (give ids like 128000,9906,1917).");
            }

            return id >= 0 && id < tokenizer.VocabSize
                ? id
                : throw new AutoCircuitException($"--decode: token id {id} is outside the vocabulary of {tokenizer.Name} (0..{tokenizer.VocabSize - 1}).");
        }).ToArray();
    }
}
