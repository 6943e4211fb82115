using AutoCircuit.Data;
using AutoCircuit.Engine;
using AutoCircuit.Metrics;
using AutoCircuit.Patching;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Evaluation;

/// <summary>
/// Measures all fourteen of auto-circuit's prune metrics while <see cref="CircuitRunner"/> runs, with
/// auto-circuit's definitions and averaging (<c>metrics/prune_metrics/*.py</c>):
/// <list type="bullet">
/// <item>answer values and differences: per batch the mean over prompts, then the mean of the batch means;</item>
/// <item>percentages of the full model: the mean circuit difference over the mean full-model difference on the
/// clean input (a difference of means) times 100;</item>
/// <item>KL divergences: <c>KL(full model || circuit)</c> summed over every prompt of every batch and divided by
/// the number of prompts, clamped at 0; clean compares with the full model on the clean input, corrupt on the
/// corrupt input;</item>
/// <item>correct-answer percentages: the mean of the batch proportions times 100.</item>
/// </list>
/// Per-batch statistics stay on the device; they are read to the host once, by <see cref="Results"/>.
/// </summary>
internal sealed class PruneMetricsSink : ICircuitOutputSink, IDisposable
{
    // Per (circuit, batch): the batch means and sums of PruneStatistics' statistics (the KL divergences summed).
    private const int StatCount = PruneStatistics.Count;

    private readonly IPatchableModel _model;
    private Tensor? _stats; // [circuits, batches, StatCount] float64
    private Tensor? _targets; // [batches, 3]: the full model's logit / prob / logprob difference on the clean input
    private Tensor? _cleanLogprobs;
    private Tensor? _corruptLogprobs;
    private long _rows;
    private readonly bool _perPrompt;
    private readonly List<Tensor> _promptStats = []; // per batch: [circuits, rows, StatCount] float64
    private readonly List<Tensor> _promptTargets = []; // per batch: [rows, 3] float64
    private int _circuits;

    /// <summary>Creates a sink that measures outputs of <paramref name="model"/>.</summary>
    public PruneMetricsSink(IPatchableModel model)
        : this(model, perPrompt: false)
    {
    }

    /// <summary>Creates a sink for <paramref name="model"/>.</summary>
    /// <param name="model">The patchable model.</param>
    /// <param name="perPrompt">Also keep every prompt's statistics, for <see cref="PerPrompt"/> (bootstrap intervals).</param>
    public PruneMetricsSink(IPatchableModel model, bool perPrompt)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _perPrompt = perPrompt;
    }

    /// <inheritdoc />
    public void Begin(IReadOnlyList<int> requested, IReadOnlyList<int> patched, int batchCount)
    {
        ArgumentNullException.ThrowIfNull(requested);
        Release();
        _circuits = requested.Count;
        _rows = 0;
        _stats = torch.zeros([_circuits, batchCount, StatCount], dtype: ScalarType.Float64, device: _model.Device)
            .DetachFromDisposeScope();
        _targets = torch.zeros([batchCount, 3], dtype: ScalarType.Float64, device: _model.Device).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void BeginBatch(int batchIndex, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_stats is null)
        {
            throw new InvalidOperationException("Begin was not called.");
        }

        var clean = AsMetricInput(_model.Run(batch.Clean));
        var corrupt = AsMetricInput(_model.Run(batch.Corrupt));

        // The caller's dispose scope for the batch owns these; they are replaced at the next batch.
        _cleanLogprobs = clean.log_softmax(-1);
        _corruptLogprobs = corrupt.log_softmax(-1);
        _rows += clean.size(0);
        var target = torch.stack(
        [
            AnswerMath.AvgAnswerDiff(clean, batch),
            AnswerMath.AvgAnswerDiff(clean.softmax(-1), batch),
            AnswerMath.AvgAnswerDiff(_cleanLogprobs, batch),
        ]);
        _targets![batchIndex].copy_(target);
        if (_perPrompt)
        {
            var rows = clean.size(0);
            var perPrompt = torch.stack(
            [
                AnswerMath.AnswerDiffs(clean, batch),
                AnswerMath.AnswerDiffs(clean.softmax(-1), batch),
                AnswerMath.AnswerDiffs(_cleanLogprobs, batch),
            ], 1).to_type(ScalarType.Float64);
            _promptTargets.Add(perPrompt.DetachFromDisposeScope());
            _promptStats.Add(torch.zeros([_circuits, rows, StatCount], dtype: ScalarType.Float64, device: _model.Device)
                .DetachFromDisposeScope());
        }
    }

    /// <inheritdoc />
    public void Consume(int circuitIndex, int batchIndex, PromptBatch batch, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        var o = AsMetricInput(output);
        using var scope = torch.NewDisposeScope();
        var probs = o.softmax(-1);
        var logprobs = o.log_softmax(-1);
        var values = torch.stack(
        [
            AnswerMath.AvgAnswerValue(o, batch),
            AnswerMath.AvgAnswerValue(o, batch, wrongAnswers: true),
            AnswerMath.AvgAnswerValue(probs, batch),
            AnswerMath.AvgAnswerValue(logprobs, batch),
            AnswerMath.AvgAnswerDiff(o, batch),
            AnswerMath.AvgAnswerDiff(probs, batch),
            AnswerMath.AvgAnswerDiff(logprobs, batch),
            AnswerMath.TopIsAnswer(o, batch).to_type(o.dtype).mean(),
            AnswerMath.AnswerBeatsWrongAnswers(o, batch).to_type(o.dtype).mean(),
            AnswerMath.KlDivSum(logprobs, _cleanLogprobs!),
            AnswerMath.KlDivSum(logprobs, _corruptLogprobs!),
        ]);
        _stats![circuitIndex][batchIndex].copy_(values);
        if (_perPrompt)
        {
            var rows = torch.stack(
            [
                batch.Answers.MeanPerPrompt(o),
                batch.WrongAnswers.MeanPerPrompt(o),
                batch.Answers.MeanPerPrompt(probs),
                batch.Answers.MeanPerPrompt(logprobs),
                AnswerMath.AnswerDiffs(o, batch),
                AnswerMath.AnswerDiffs(probs, batch),
                AnswerMath.AnswerDiffs(logprobs, batch),
                AnswerMath.TopIsAnswer(o, batch).to_type(o.dtype),
                AnswerMath.AnswerBeatsWrongAnswers(o, batch).to_type(o.dtype),
                torch.nn.functional.kl_div(logprobs, _cleanLogprobs!, reduction: nn.Reduction.None, log_target: true).sum(-1),
                torch.nn.functional.kl_div(logprobs, _corruptLogprobs!, reduction: nn.Reduction.None, log_target: true).sum(-1),
            ], 1);
            _promptStats[batchIndex][circuitIndex].copy_(rows);
        }
    }

    /// <summary>
    /// Every prompt's statistics, read to the host once (only for a sink created with <c>perPrompt</c>): per circuit,
    /// prompt and statistic (answer logit, wrong-answer logit, answer prob, answer logprob, logit / prob / logprob
    /// difference, top is an answer, answer beats the wrong answers, clean KL, corrupt KL), and per prompt the full
    /// model's logit / prob / logprob difference on the clean input.
    /// </summary>
    /// <exception cref="InvalidOperationException">A sink without per-prompt statistics, or nothing measured.</exception>
    public PromptStatistics PerPrompt()
    {
        if (!_perPrompt || _promptStats.Count == 0)
        {
            throw new InvalidOperationException("This sink kept no per-prompt statistics.");
        }

        using var scope = torch.NewDisposeScope();
        var stats = torch.cat(_promptStats, 1).cpu(); // [circuits, prompts, StatCount]
        var targets = torch.cat(_promptTargets, 0).cpu(); // [prompts, 3]
        return new PromptStatistics(
            _circuits, (int)stats.size(1), StatCount, stats.data<double>().ToArray(), targets.data<double>().ToArray());
    }

    /// <summary>
    /// The metric values of each circuit (keys: <see cref="PruneMetric.Key"/>), in the order of the requested
    /// sizes. Reads the statistics to the host once. Percentages of a full-model difference of exactly 0 are
    /// infinite or NaN (auto-circuit raises <c>ZeroDivisionError</c>).
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Results()
    {
        var stats = _stats ?? throw new InvalidOperationException("No circuits were measured.");
        if (_circuits == 0)
        {
            // e.g. the default "groups" sweep of all-tied scores is empty (auto-circuit returns no circuits either).
            return [];
        }

        using var scope = torch.NewDisposeScope();
        var batchMeans = stats.mean([1L]).cpu(); // [circuits, StatCount]
        var batchSums = stats.sum(1L).cpu();
        var targetMeans = _targets!.mean([0L]).cpu();
        var means = batchMeans.data<double>().ToArray();
        var sums = batchSums.data<double>().ToArray();
        var targets = targetMeans.data<double>().ToArray();
        var results = new List<IReadOnlyDictionary<string, double>>(_circuits);
        for (var c = 0; c < _circuits; c++)
        {
            var at = c * StatCount;
            results.Add(PruneStatistics.Metrics(
                stat => means[at + stat], sums[at + PruneStatistics.CleanKl] / _rows, sums[at + PruneStatistics.CorruptKl] / _rows, targets));
        }

        return results;
    }

    /// <inheritdoc />
    /// <summary>
    /// The full model's values (on the clean input) of the metrics it has one for: <see cref="PruneMetric.LogitDiff"/>,
    /// <see cref="PruneMetric.ProbDiff"/> and <see cref="PruneMetric.LogprobDiff"/>, batch means averaged as the circuits'.
    /// </summary>
    /// <exception cref="InvalidOperationException">Before <see cref="Begin"/>.</exception>
    public IReadOnlyDictionary<string, double> FullModel()
    {
        var targets = _targets ?? throw new InvalidOperationException("No circuits were measured.");
        using var scope = torch.NewDisposeScope();
        var means = targets.mean([0L]).cpu().data<double>().ToArray();
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [PruneMetric.LogitDiff.Key] = means[0],
            [PruneMetric.ProbDiff.Key] = means[1],
            [PruneMetric.LogprobDiff.Key] = means[2],
        };
    }

    public void Dispose() => Release();

    private static Tensor AsMetricInput(Tensor output)
    {
        if (output.dim() != 2)
        {
            throw new AutoCircuitException(
                $"Circuit metrics need the task output as [batch, vocab]; this model's output slice gives " +
                $"[{string.Join(", ", output.shape)}] (use the last-token output slice).");
        }

        // Half-precision outputs are measured in float32 (auto-circuit measures in the model's dtype).
        return output.dtype is ScalarType.Float32 or ScalarType.Float64 ? output : output.to_type(ScalarType.Float32);
    }

    private void Release()
    {
        foreach (var t in _promptStats.Concat(_promptTargets))
        {
            t.Dispose();
        }

        _promptStats.Clear();
        _promptTargets.Clear();
        _stats?.Dispose();
        _targets?.Dispose();
        _stats = null;
        _targets = null;
    }
}
