using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit logits</c>: a model's logits for given token ids, as JSON on stdout.</summary>
internal static class LogitsCommand
{
    internal static readonly Option<string> ModelOption = new("--model", "-m")
    {
        Description = "The model: " + ModelCatalog.CheckpointHelp + ".",
        HelpName = "PATH|NAME",
        Required = true,
    };

    internal static readonly Option<string?> TokensOption = new("--tokens", "-t")
    {
        Description = "Comma-separated token ids, e.g. 1,403,407 (one sequence, no BOS added). Give this or --prompt.",
        HelpName = "IDS",
    };

    internal static readonly Option<string?> PromptOption = new("--prompt", "-p")
    {
        Description = "Text instead of --tokens, encoded with the model's tokenizer (or --tokenizer) as its Hugging Face " +
                      "tokenizer does by default (with the BOS it adds); the ids used are printed as \"tokens\".",
        HelpName = "TEXT",
    };

    internal static readonly Option<int?> TopOption = new("--top")
    {
        Description = "Also print the N most likely next tokens (decoded, with their probabilities) of each position shown, " +
                      "as \"top\".",
        HelpName = "N",
    };

    internal static readonly Option<bool> AllPositionsOption = new("--all-positions")
    {
        Description = "Print the logits of every position ([seq][vocab]) instead of the last ([vocab]).",
    };

    internal static readonly Option<string> DeviceOption = new("--device")
    {
        Description = "auto (CUDA when available), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "auto",
    };

    internal static readonly Option<string?> DTypeOption = new("--dtype")
    {
        Description = "Compute dtype: float32 (default), bfloat16 or float16; the logits are printed as float32.",
        HelpName = "TYPE",
    };

    internal static readonly Option<string?> WeightDTypeOption = new("--weight-dtype")
    {
        Description = "Keep a Hugging Face checkpoint's weight matrices in TYPE and convert each as it is used (default: the --dtype); " +
                      "--dtype float32 --weight-dtype bfloat16 maps a bfloat16 checkpoint from its file and computes in float32.",
        HelpName = "TYPE",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var threads = new PerformanceOptions().Threads;
        var hub = new HubOptions();
        var command = new Command(
            "logits",
            "Run a transformer on token ids and print its logits as JSON on stdout: " +
            "{\"model\", \"tokens\", \"positions\": \"last\"|\"all\", \"logits\"} (with --prompt also \"prompt\", with --top also " +
            "\"top\"). Left padding is recognised as in a " +
            "batch (leading pad ids are masked). Useful to check a checkpoint against another implementation.")
        {
            ModelOption, hub.Download, TokensOption, PromptOption, GenerateCommand.TokenizerOption, TopOption, AllPositionsOption,
            DeviceOption, DTypeOption, WeightDTypeOption, threads,
        };
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var prompt = parse.GetValue(PromptOption);
            var tokenText = parse.GetValue(TokensOption);
            if ((prompt is null) == (tokenText is null))
            {
                throw new AutoCircuitException("logits: give either --tokens (ids) or --prompt (text), not both.");
            }

            var top = parse.GetValue(TopOption);
            if (top is <= 0)
            {
                throw new AutoCircuitException($"--top {top}: must be 1 or more.");
            }

            var device = DeviceSelector.Resolve(parse.GetValue(DeviceOption));
            using var loaded = ModelCatalog.Load(
                parse.GetValue(ModelOption), device, parse.GetValue(GenerateCommand.TokenizerOption), hub.Resolver(parse, error, token),
                ModelCatalog.ParseDType(parse.GetValue(DTypeOption)), ModelCatalog.ParseWeightDType(parse.GetValue(WeightDTypeOption)));
            TorchThreading.Apply(parse.GetValue(threads), loaded.Model);
            var model = loaded.Model as Transformer
                ?? throw new AutoCircuitException($"--model {loaded.Name}: logits needs a transformer over token ids.");
            long[] ids;
            if (prompt is not null)
            {
                var tokenizer = loaded.Tokenizer
                    ?? throw new AutoCircuitException($"--model {loaded.Name}: --prompt needs a tokenizer, and none was found with the checkpoint; give --tokenizer or --tokens.");
                ids = tokenizer.EncodeWithSpecialTokens(prompt).Select(i => (long)i).ToArray();
                if (ids.Length == 0)
                {
                    throw new AutoCircuitException("--prompt: the text encodes to no tokens (and the tokenizer adds no BOS); give some text.");
                }
            }
            else
            {
                ids = ParseIds(tokenText!);
            }

            var all = parse.GetValue(AllPositionsOption);
            using var scope = torch.NewDisposeScope();
            using var _ = torch.inference_mode();
            var tokens = torch.tensor(ids, [1, ids.Length], device: device); // [1, T]
            model.ValidateTokens(tokens);
            var logits = model.Forward(tokens)[0].cpu().to_type(ScalarType.Float32); // [T, V]
            var rows = all ? logits : logits.narrow(0, logits.size(0) - 1, 1);
            var values = rows.contiguous().data<float>().ToArray();
            var vocab = (int)logits.size(1);
            var matrix = Enumerable.Range(0, (int)rows.size(0)).Select(r => values.AsSpan(r * vocab, vocab).ToArray()).ToArray();
            var description = model.Description;
            var likely = top is int n ? TopTokens(rows, Math.Min(n, vocab), loaded.Tokenizer) : null;
            output.WriteLine(all
                ? JsonSerializer.Serialize(
                    new LogitsOutput<float[][]> { Model = description, Tokens = ids, Positions = "all", Logits = matrix, Prompt = prompt, Top = likely },
                    OutputJsonContext.Compact.AllLogits)
                : JsonSerializer.Serialize(
                    new LogitsOutput<float[]> { Model = description, Tokens = ids, Positions = "last", Logits = matrix[0], Prompt = prompt, Top = likely },
                    OutputJsonContext.Compact.LastLogits));
            return ExitCode.Ok;
        })));
        return command;
    }

    /// <summary>The <paramref name="n"/> most likely next tokens of each row of <paramref name="rows"/> ([P, V] logits).</summary>
    private static IReadOnlyList<IReadOnlyList<TopToken>> TopTokens(torch.Tensor rows, int n, Models.Tokenizers.ITokenizer? tokenizer)
    {
        using var scope = torch.NewDisposeScope();
        var logits = rows.to_type(torch.ScalarType.Float64); // [P, V]
        var (values, indices) = logits.topk(n, dim: 1); // [P, n] each, largest first
        var probabilities = logits.log_softmax(1).gather(1, indices).exp(); // [P, n]
        var v = values.contiguous().data<double>().ToArray();
        var p = probabilities.contiguous().data<double>().ToArray();
        var ids = indices.contiguous().data<long>().ToArray();
        return Enumerable.Range(0, (int)rows.size(0)).Select(r => (IReadOnlyList<TopToken>)Enumerable.Range(0, n).Select(k =>
        {
            var i = (r * n) + k;
            return new TopToken
            {
                Id = ids[i],
                Text = tokenizer is null || ids[i] >= tokenizer.VocabSize ? null : tokenizer.TokenText((int)ids[i]),
                Probability = p[i],
                Logit = v[i],
            };
        }).ToList()).ToList();
    }

    /// <summary>Parses <c>1,2,3</c>.</summary>
    /// <exception cref="AutoCircuitException">An entry is not an integer, or the list is empty.</exception>
    public static long[] ParseIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new AutoCircuitException("--tokens: give at least one token id (e.g. --tokens 1,403,407).");
        }

        return parts.Select(p => long.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new AutoCircuitException($"--tokens: '{p}' is not an integer token id.")).ToArray();
    }
}
