using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Host.Toy;
using AutoCircuit.Models.Toy;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit train-toy</c>: trains the embedded default model and finds its circuit.</summary>
internal static class TrainToyCommand
{
    internal static readonly Option<string> OutOption = new("--out", "-o")
    {
        Description = $"Folder for {ToyModel.FileName} and toy-induction.json (created if missing; existing files are replaced).",
        HelpName = "DIR",
        DefaultValueFactory = _ => ".",
    };

    internal static readonly Option<long> SeedOption = new("--seed")
    {
        Description = "Seeds the initial weights and the training prompts; the same seed gives the same weights, bit for bit, on the same machine.",
        DefaultValueFactory = _ => new ToyTrainOptions().Seed,
    };

    internal static readonly Option<int> StepsOption = new("--steps")
    {
        Description = "Optimiser steps (one fresh batch of 256 prompts each).",
        DefaultValueFactory = _ => new ToyTrainOptions().Steps,
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command(
            "train-toy",
            "Train the embedded default model (toy-induction: a 2-layer attention-only transformer) on in-context copying, " +
            "on the CPU: measure its held-out accuracy, find its previous-token and induction heads from their attention " +
            "patterns, state its known circuit and check it by patching. Writes DIR/" + ToyModel.FileName + " (weights and " +
            "measurements) and DIR/toy-induction.json; prints the measurements as JSON on stdout. The model shipped with " +
            "the tool was made by: dotnet autocircuit train-toy --out src/Host/AutoCircuit.Models/Toy")
        {
            OutOption, SeedOption, StepsOption,
        };
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var options = new ToyTrainOptions(Seed: parse.GetValue(SeedOption), Steps: parse.GetValue(StepsOption));
            options.Validate();
            var dir = parse.GetValue(OutOption)!;
            Directory.CreateDirectory(dir);
            var (model, info) = ToyBuilder.Build(options, line => error.WriteLine($"[train-toy] {line}"), token);
            using (model)
            {
                ToyModel.Save(model, info, Path.Combine(dir, ToyModel.FileName));
            }

            var json = JsonSerializer.Serialize(info, new JsonSerializerOptions(ToyModel.Json) { WriteIndented = true });
            File.WriteAllText(Path.Combine(dir, "toy-induction.json"), json + "\n");
            output.WriteLine(json);
            error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"[train-toy] held-out accuracy {info.HeldOut.Accuracy:P2} on {info.HeldOut.Prompts} prompts (logit diff {info.HeldOut.LogitDiff:0.00}); " +
                $"previous-token heads {string.Join(", ", info.Found.PreviousToken.Select(h => $"A0.{h}"))}, induction heads " +
                $"{string.Join(", ", info.Found.Induction.Select(h => $"A1.{h}"))}; circuit of {info.Circuit.Count} edges: alone " +
                $"{info.Evidence.CircuitAlone:0.0}% of the logit difference, complement ablated {info.Evidence.ComplementAblated:0.0}%; " +
                $"query/key half mean-ablated {info.Evidence.MatchPathMeanAblated:0.0}%"));
            error.WriteLine($"[train-toy] wrote {Path.Combine(dir, ToyModel.FileName)}");
            return ExitCode.Ok;
        })));
        return command;
    }
}
