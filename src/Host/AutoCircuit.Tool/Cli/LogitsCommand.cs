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
public static class LogitsCommand
{
    internal static readonly Option<string> ModelOption = new("--model", "-m")
    {
        Description = "The model: " + ModelCatalog.CheckpointHelp + ".",
        HelpName = "PATH|NAME",
        Required = true,
    };

    internal static readonly Option<string> TokensOption = new("--tokens", "-t")
    {
        Description = "Comma-separated token ids, e.g. 1,403,407 (one sequence, no BOS added).",
        HelpName = "IDS",
        Required = true,
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

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var threads = new PerformanceOptions().Threads;
        var hub = new HubOptions();
        var command = new Command(
            "logits",
            "Run a transformer on token ids and print its logits as JSON on stdout: " +
            "{\"model\", \"tokens\", \"positions\": \"last\"|\"all\", \"logits\"}. Left padding is recognised as in a " +
            "batch (leading pad ids are masked). Useful to check a checkpoint against another implementation.\n\n" +
            CommandLine.ExitCodesHelp)
        {
            ModelOption, hub.Download, TokensOption, AllPositionsOption, DeviceOption, DTypeOption, threads,
        };
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var ids = ParseIds(parse.GetValue(TokensOption)!);
            var device = DeviceSelector.Resolve(parse.GetValue(DeviceOption));
            using var loaded = ModelCatalog.Load(
                parse.GetValue(ModelOption), device, hub: hub.Resolver(parse, error, token), dtype: ModelCatalog.ParseDType(parse.GetValue(DTypeOption)));
            TorchThreading.Apply(parse.GetValue(threads), loaded.Model);
            var model = loaded.Model as Transformer
                ?? throw new AutoCircuitException($"--model {loaded.Name}: logits needs a transformer over token ids.");
            var all = parse.GetValue(AllPositionsOption);
            using var scope = torch.NewDisposeScope();
            using var _ = torch.inference_mode();
            var tokens = torch.tensor(ids, [1, ids.Length], device: device); // [1, T]
            model.ValidateTokens(tokens);
            var logits = model.Forward(tokens)[0].cpu().to_type(ScalarType.Float32); // [T, V]
            var rows = all ? logits : logits.narrow(0, logits.shape[0] - 1, 1);
            var values = rows.contiguous().data<float>().ToArray();
            var vocab = (int)logits.shape[1];
            var matrix = Enumerable.Range(0, (int)rows.shape[0]).Select(r => values.AsSpan(r * vocab, vocab).ToArray()).ToArray();
            var description = model.Description;
            output.WriteLine(all
                ? JsonSerializer.Serialize(
                    new LogitsOutput<float[][]> { Model = description, Tokens = ids, Positions = "all", Logits = matrix },
                    OutputJsonContext.Compact.AllLogits)
                : JsonSerializer.Serialize(
                    new LogitsOutput<float[]> { Model = description, Tokens = ids, Positions = "last", Logits = matrix[0] },
                    OutputJsonContext.Compact.LastLogits));
            return ExitCode.Ok;
        })));
        return command;
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
