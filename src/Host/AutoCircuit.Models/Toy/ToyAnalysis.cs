using AutoCircuit.Engine.Hooks;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Toy;

/// <summary>How well a model does the induction task.</summary>
/// <param name="Prompts">Held-out prompts measured.</param>
/// <param name="Accuracy">Fraction of clean prompts whose top-1 last-position token is the answer.</param>
/// <param name="LogitDiff">Mean logit(answer) − logit(wrong answer) on the clean prompts.</param>
/// <param name="CorruptLogitDiff">The same on the corrupt prompts (negative when the model copies C there).</param>
public sealed record ToyAccuracy(int Prompts, double Accuracy, double LogitDiff, double CorruptLogitDiff);

/// <summary>
/// Attention scores of every head, <c>[layer][head]</c>, measured on clean prompts:
/// previous-token (mean attention from each position t ≥ 1 to t − 1), induction (attention from the
/// last position to the successor of the repeated token's first occurrence) and duplicate-token
/// (attention from the last position to that first occurrence).
/// </summary>
public sealed record HeadScores(double[][] PreviousToken, double[][] Induction, double[][] DuplicateToken);

/// <summary>Measurements of the toy model: accuracy and attention-pattern scores.</summary>
internal static class ToyAnalysis
{
    /// <summary>Top-1 accuracy and logit differences on <paramref name="prompts"/>.</summary>
    public static ToyAccuracy Measure(Transformer model, InductionBatch prompts)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        var clean = model.Forward(prompts.Clean, prefix: null).select(1, -1); // [n, V]
        var corrupt = model.Forward(prompts.Corrupt, prefix: null).select(1, -1); // [n, V]
        var answer = prompts.Answer.unsqueeze(1);
        var wrong = prompts.Wrong.unsqueeze(1);
        var accuracy = clean.argmax(1).eq(prompts.Answer).to_type(ScalarType.Float64).mean().ToDouble();
        var diff = (clean.gather(1, answer) - clean.gather(1, wrong)).to_type(ScalarType.Float64).mean().ToDouble();
        var corruptDiff = (corrupt.gather(1, answer) - corrupt.gather(1, wrong)).to_type(ScalarType.Float64).mean().ToDouble();
        return new ToyAccuracy((int)prompts.Count, accuracy, diff, corruptDiff);
    }

    /// <summary>Attention scores of every head on the clean prompts (one forward pass with pattern hooks).</summary>
    public static HeadScores MeasureHeads(Transformer model, InductionBatch prompts)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        var layers = model.Config.Layers;
        var patterns = new Tensor?[layers];
        var hooks = Enumerable.Range(0, layers).Select(l => model.HookPoints[HookNames.AttnPattern(l)]).ToList();
        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        try
        {
            for (var l = 0; l < layers; l++)
            {
                var layer = l;
                if (hooks[l].Hook is not null)
                {
                    throw new InvalidOperationException($"{hooks[l].Name} already has a hook.");
                }

                hooks[l].Hook = p =>
                {
                    patterns[layer] = p.clone(); // [B, H, T, S]
                    return p;
                };
            }

            model.Forward(prompts.Clean, prefix: null);
        }
        finally
        {
            foreach (var h in hooks)
            {
                h.Hook = null;
            }
        }

        var t = prompts.Clean.size(1);
        var rows = torch.arange(prompts.Count); // [n]
        var first = prompts.FirstPosition; // [n]
        double[][] Read(Func<Tensor, Tensor> score) =>
            patterns.Select(p => score(p!).to_type(ScalarType.Float64).data<double>().ToArray()).ToArray();

        // Previous token: the sub-diagonal, averaged over prompts and positions 1..T-1.
        var prev = Read(p => p.diagonal(offset: -1, dim1: 2, dim2: 3).mean([0L, 2L])); // [H]
        var last = patterns.Select(p => p!.select(2, t - 1)).ToArray(); // [B, H, S] each
        double[][] AtPosition(Tensor position) => last
            .Select(p => p.index(TensorIndex.Tensor(rows), TensorIndex.Colon, TensorIndex.Tensor(position)).mean([0L])) // [H]
            .Select(x => x.to_type(ScalarType.Float64).data<double>().ToArray()).ToArray();
        var induction = AtPosition(first + 1);
        var duplicate = AtPosition(first);
        return new HeadScores(prev, induction, duplicate);
    }
}
