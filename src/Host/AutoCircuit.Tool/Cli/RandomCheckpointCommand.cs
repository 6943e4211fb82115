using System.CommandLine;
using AutoCircuit.Engine;
using AutoCircuit.Host.Tasks;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// <c>dotnet autocircuit random-checkpoint</c> (hidden): writes a random Hugging Face checkpoint of a real model's shape,
/// for measuring memory and time at scale without downloading weights.
/// </summary>
internal static class RandomCheckpointCommand
{
    internal static readonly Option<string> ConfigOption = new("--config")
    {
        Description = "A known real config (" + string.Join(", ", GraphSizes.KnownConfigNames) + ") or a config.json file.",
        HelpName = "NAME|FILE",
        Required = true,
    };

    internal static readonly Option<string> OutOption = new("--out", "-o")
    {
        Description = "The new checkpoint folder (must not exist or be empty).",
        HelpName = "DIR",
        Required = true,
    };

    internal static readonly Option<string?> DTypeOption = new("--dtype")
    {
        Description = "Stored dtype: bfloat16 (default), float16 or float32.",
        HelpName = "TYPE",
    };

    internal static readonly Option<bool> MeasureLoadOption = new("--measure-load")
    {
        Description = "Then load the checkpoint in the same dtype and print the peak resident memory of loading (Linux).",
    };

    internal static readonly Option<long> SeedOption = new("--seed")
    {
        Description = "Seed of the random weights.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command(
            "random-checkpoint",
            "Write a random checkpoint (config.json + sharded safetensors, Hugging Face layout) of a real model's shape: " +
            "normal(0, 0.02) weights, for memory and time measurements, not circuits.")
        {
            ConfigOption, OutOption, DTypeOption, SeedOption, MeasureLoadOption,
        };
        command.Hidden = true;
        command.SetAction(parse => CommandLine.Guard(error, () =>
        {
            var dtype = ModelCatalog.ParseDType(parse.GetValue(DTypeOption) ?? "bfloat16");
            var bytes = ModelCatalog.WriteRandomCheckpoint(parse.GetValue(ConfigOption)!, parse.GetValue(OutOption)!, dtype, parse.GetValue(SeedOption));
            error.WriteLine($"wrote {bytes / (1 << 20)} MiB of weights to {parse.GetValue(OutOption)}");
            if (parse.GetValue(MeasureLoadOption))
            {
                output.WriteLine(AutoCircuit.Bench.LoadMemoryReport.Measure(parse.GetValue(OutOption)!, dtype));
            }

            return ExitCode.Ok;
        }));
        return command;
    }
}
