using AutoCircuit.Algorithms.Acdc;
using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using AcdcAlgorithm = AutoCircuit.Algorithms.Acdc.Acdc;

namespace AutoCircuit.Algorithms.Tests.Acdc;

/// <summary>
/// auto-circuit's ACDC test mode for any patchable model: every step's output must equal a full,
/// independent tree-patched forward pass of the current circuit (the edges removed so far at this tau and
/// the edge being tried ablated with the corrupt activations, on the clean input), computed on a second
/// model instance. One call per model kind.
/// </summary>
public static class AcdcStepCheck
{
    // auto-circuit's test mode uses atol 1e-3; the two float32 paths here agree far closer.
    public const double Atol = 1e-4;

    /// <summary>
    /// Runs ACDC on <paramref name="model"/> checking every step against <paramref name="reference"/>; returns the step
    /// count. <paramref name="decideOnDevice"/>: where ACDC makes its keep/remove decisions (<c>null</c>: its default).
    /// </summary>
    public static int AssertEachStepEqualsTreePatchedForward(
        IPatchableModel model, IPatchableModel reference, IReadOnlyList<PromptBatch> batches, AcdcOptions options, bool? decideOnDevice = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(batches);
        var batch = batches[0];
        using var patch = reference.SourceAblations(batch.Corrupt);
        var removed = new HashSet<Edge>();
        double? tau = null;
        var steps = 0;
        var acdc = new AcdcAlgorithm(options, step =>
        {
            if (tau != step.Tau)
            {
                tau = step.Tau;
                removed.Clear();
            }

            reference.SetMasks(removed.Append(step.Edge));
            using (reference.PatchMode(patch))
            {
                using var expected = reference.Run(batch.Clean);
                var what = $"tau {step.Tau}, after trying {step.Edge} with {removed.Count} removed";
                TensorAssert.AllClose(expected, step.Output, Atol, 0, what);
            }

            if (step.Removed.ToBoolean())
            {
                removed.Add(step.Edge);
            }

            steps++;
        })
        {
            DecideOnDevice = decideOnDevice,
        };

        using var scores = acdc.Run(new PruneContext { Model = model, TrainBatches = batches });
        reference.SetAllMasks(0);
        Assert.Equal(options.Taus().Count * model.Graph.EdgeCount, steps);
        return steps;
    }
}
