using System.Globalization;
using AutoCircuit.Models.Toy;
using AutoCircuit.Models.Transformers;
using TorchSharp;

namespace AutoCircuit.Host.Toy;

/// <summary>What <c>train-toy</c> does before writing: trains the toy model, measures it and identifies its circuit.</summary>
internal static class ToyBuilder
{
    /// <summary>Trains, measures and identifies the circuit: everything <c>train-toy</c> does before writing.</summary>
    public static (Transformer Model, ToyModelInfo Info) Build(ToyTrainOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var model = ToyTraining.Train(options, log, cancellationToken);
        var threads = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1); // as in training: the measurements are reproducible too
            log?.Invoke("measuring the held-out accuracy, the heads' attention scores and the circuit");
            using var heldOut = InductionData.Generate(ToyModel.HeldOutPrompts, ToyModel.HeldOutSeed);
            var accuracy = ToyAnalysis.Measure(model, heldOut);
            var heads = ToyAnalysis.MeasureHeads(model, heldOut);
            var found = ToyCircuit.IdentifyHeads(heads);
            var circuit = ToyCircuit.ValuePath(model.Config.Heads, found);
            var match = ToyCircuit.MatchPath(found);
            using var verification = InductionData.Generate(ToyModel.VerificationPrompts, ToyModel.HeldOutSeed + 1);
            var evidence = ToyCircuit.Verify(model, circuit, match, verification);
            var recipe = string.Create(
                CultureInfo.InvariantCulture,
                $"dotnet autocircuit train-toy --seed {options.Seed} --steps {options.Steps}");
            return (model, new ToyModelInfo(recipe, options, accuracy, heads, found, circuit, match, evidence));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }
}
