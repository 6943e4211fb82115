using System.Diagnostics;
using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AutoCircuit.Models.Toy;

/// <summary>How <c>dotnet autocircuit train-toy</c> trains the toy model.</summary>
/// <param name="Seed">Seeds the initial weights and the training prompts (held-out prompts use other seeds).</param>
/// <param name="Steps">Optimiser steps, one fresh batch each.</param>
/// <param name="BatchSize">Prompts per step.</param>
/// <param name="LearningRate">Peak AdamW learning rate (linear warm-up, then cosine decay to a tenth).</param>
/// <param name="WeightDecay">AdamW weight decay.</param>
public sealed record ToyTrainOptions(
    long Seed = 1,
    int Steps = 1000,
    int BatchSize = 256,
    double LearningRate = 3e-3,
    double WeightDecay = 0.01)
{
    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps => Math.Min(100, Steps / 10);

    /// <summary>Throws <see cref="AutoCircuitException"/> for values that cannot train.</summary>
    public void Validate()
    {
        if (Steps < 1 || BatchSize < 1 || LearningRate <= 0 || WeightDecay < 0 || Seed < 0)
        {
            throw new AutoCircuitException(
                $"train-toy: --steps ({Steps}) and the batch size ({BatchSize}) must be at least 1, the learning rate ({LearningRate}) " +
                $"positive, the weight decay ({WeightDecay}) and --seed ({Seed}) not negative.");
        }
    }
}

/// <summary>
/// Trains the embedded toy model: a 2-layer attention-only transformer (GPT-2 family: LayerNorm,
/// learned positions; 4 heads, d_model 64, vocabulary 64) on <see cref="InductionData"/>, with the
/// cross-entropy of the answer at the last position. Deterministic: the same options give the same
/// weights bit for bit on the same machine (seeded generators, no data-dependent control flow).
/// </summary>
internal static class ToyTraining
{
    /// <summary>The toy model's architecture.</summary>
    public static TransformerConfig Config { get; } = new()
    {
        Family = TransformerFamily.Gpt2,
        Name = "toy-induction",
        DModel = 64,
        Layers = 2,
        Heads = 4,
        DMlp = 0,
        VocabSize = InductionData.VocabSize,
        ContextLength = InductionData.SeqLen,
        AttnOnly = true,
        TiedEmbeddings = false,
        AttnBias = true,
        MlpBias = false,
    };

    /// <summary>Trains a fresh model on the CPU. <paramref name="log"/> gets one line every few hundred steps.</summary>
    public static Transformer Train(ToyTrainOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var model = new Transformer(Config);
        var threads = torch.get_num_threads();
        try
        {
            // One thread: the steps are small enough that more threads mostly wait on each other (badly so on a
            // shared machine), and a fixed thread count keeps the floating-point reductions, hence the weights, the same.
            torch.set_num_threads(1);
            Initialize(model, options.Seed);
            using var gen = new Generator((ulong)options.Seed + 1);
            using var optimizer = torch.optim.AdamW(model.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
            var clock = Stopwatch.StartNew();
            for (var step = 0; step < options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = LearningRate(options, step);
                }

                using var batch = InductionData.Generate(options.BatchSize, gen);
                var logits = model.Forward(batch.Clean, prefix: null); // [B, T, V]
                var loss = F.cross_entropy(logits.select(1, -1), batch.Answer);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                if (log is not null && (step % 250 == 0 || step == options.Steps - 1))
                {
                    log($"step {step + 1}/{options.Steps}: loss {loss.ToSingle():0.0000} ({clock.Elapsed.TotalSeconds:0.0} s)");
                }
            }

            model.FreezeParameters();
            return model;
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

    /// <summary>Linear warm-up to the peak, then cosine decay to a tenth of it.</summary>
    private static double LearningRate(ToyTrainOptions o, int step)
    {
        if (step < o.WarmupSteps)
        {
            return o.LearningRate * (step + 1) / o.WarmupSteps;
        }

        var progress = (double)(step - o.WarmupSteps) / Math.Max(1, o.Steps - o.WarmupSteps);
        return o.LearningRate * (0.1 + (0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress))));
    }

    /// <summary>
    /// Matrices and embeddings normal(0, 0.1) (about 1/sqrt(d_model); GPT-2's 0.02 also learns the task but leaves
    /// the loss plateau later), norms 1, biases 0.
    /// </summary>
    private static void Initialize(Transformer model, long seed)
    {
        using var _ = torch.no_grad();
        using var gen = new Generator((ulong)seed);
        foreach (var (name, p) in model.named_parameters())
        {
            var leaf = name[(name.LastIndexOf('.') + 1)..];
            if (leaf == "w")
            {
                p.fill_(1.0);
            }
            else if (leaf.StartsWith("b", StringComparison.Ordinal))
            {
                p.zero_();
            }
            else
            {
                p.normal_(0.0, 0.1, gen);
            }
        }
    }
}
