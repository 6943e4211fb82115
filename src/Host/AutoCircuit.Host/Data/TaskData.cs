using AutoCircuit.Data;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Data;

/// <summary>How to split and batch a dataset (auto-circuit's <c>load_datasets_from_json</c> arguments).</summary>
/// <param name="BatchSize">Prompts per batch (train and test). Incomplete batches are dropped.</param>
/// <param name="TrainSize">Prompts in the train split; <c>null</c> for the default (see <see cref="TaskData.Build"/>).</param>
/// <param name="TestSize">Prompts in the test split; <c>null</c> for the default.</param>
/// <param name="Shuffle">Shuffle the prompts once with <see cref="Seed"/> before splitting (Python's <c>random.shuffle</c>).</param>
/// <param name="Seed">Shuffle seed (auto-circuit's default is 42).</param>
/// <param name="TokenPositions">One edge per token position: every prompt must have the same length.</param>
/// <param name="PrependBos">Text prompts start with the tokenizer's BOS (auto-circuit's <c>prepend_bos</c>).</param>
/// <param name="TailDivergence">Remove the prefix every prompt shares and run it once into a key/value cache
/// (auto-circuit's <c>tail_divergence</c>); transformers only.</param>
public sealed record DataOptions(
    int BatchSize = 8,
    int? TrainSize = null,
    int? TestSize = null,
    bool Shuffle = true,
    long Seed = 42,
    bool TokenPositions = false,
    bool PrependBos = true,
    bool TailDivergence = false);

/// <summary>
/// The train and test batches of a task, split exactly as auto-circuit does: shuffle once (CPython's
/// Mersenne Twister with the seed), take the first <c>train + test</c> prompts, train = the first
/// <c>train</c>, test = the rest, batches of equal size in order (last incomplete batch dropped).
/// With <see cref="DataOptions.TailDivergence"/> the shared prefix is cut off and cached in the model
/// for as long as this object lives.
/// </summary>
public sealed class TaskData : IDisposable
{
    private PrefixCache? _prefixCache;
    private IDisposable? _prefixAttachment;

    private TaskData(
        IReadOnlyList<PromptBatch> train, IReadOnlyList<PromptBatch> test, int trainSize, int testSize, int batchSize,
        int? seqLen, IReadOnlyList<string>? seqLabels, IReadOnlyList<int> trainPrompts, IReadOnlyList<int> testPrompts, int divergeIndex,
        IReadOnlyDictionary<string, int> wordIdxs)
    {
        Train = train;
        Test = test;
        TrainSize = trainSize;
        TestSize = testSize;
        BatchSize = batchSize;
        SeqLen = seqLen;
        SeqLabels = seqLabels;
        TrainPromptIndices = trainPrompts;
        TestPromptIndices = testPrompts;
        DivergeIndex = divergeIndex;
        WordIdxs = wordIdxs;
    }

    /// <summary>Train batches (used by the algorithms).</summary>
    public IReadOnlyList<PromptBatch> Train { get; }

    /// <summary>Test batches (used for evaluation).</summary>
    public IReadOnlyList<PromptBatch> Test { get; }

    /// <summary>Prompts in the train split.</summary>
    public int TrainSize { get; }

    /// <summary>Prompts in the test split.</summary>
    public int TestSize { get; }

    /// <summary>Prompts per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Token positions when every prompt has the same length and token positions were asked for.</summary>
    public int? SeqLen { get; }

    /// <summary>Labels of token positions, if the dataset has them.</summary>
    public IReadOnlyList<string>? SeqLabels { get; }

    /// <summary>File indices of the train prompts in batch order.</summary>
    public IReadOnlyList<int> TrainPromptIndices { get; }

    /// <summary>File indices of the test prompts in batch order.</summary>
    public IReadOnlyList<int> TestPromptIndices { get; }

    /// <summary>Common prefix removed from every prompt (0 when none): the inputs start at this position of the encoded
    /// prompts, and <see cref="SeqLen"/> and <see cref="SeqLabels"/> count from it.</summary>
    public int DivergeIndex { get; }

    /// <summary>Positions of named words in the encoded prompts (BOS included; not shifted by <see cref="DivergeIndex"/>,
    /// as in auto-circuit).</summary>
    public IReadOnlyDictionary<string, int> WordIdxs { get; }

    /// <summary>The cached shared prefix, <c>[batch, DivergeIndex]</c> token ids, or <c>null</c>.</summary>
    public Tensor? PrefixTokens => _prefixCache?.Tokens;

    /// <summary>
    /// Splits, encodes and batches a dataset. When the sizes are not given, train and test each get
    /// half of the prompts, at most 128 (auto-circuit's default), rounded down to whole batches.
    /// </summary>
    /// <param name="document">The dataset.</param>
    /// <param name="options">Split and batch options.</param>
    /// <param name="encoder">Encodes prompts for the model.</param>
    /// <param name="outputSize">Size of the model output's last axis: answers must be below it.</param>
    /// <param name="device">Where the batches live.</param>
    /// <param name="transformer">The model, needed for <see cref="DataOptions.TailDivergence"/>: the prefix cache is
    /// attached to it until this object is disposed.</param>
    /// <exception cref="DatasetException">The dataset is too small, or a prompt does not fit.</exception>
    public static TaskData Build(
        DatasetDocument document, DataOptions options, IPromptEncoder encoder, long outputSize, Device device, Transformer? transformer = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(encoder);
        var src = document.Path;
        var n = document.Prompts.Count;
        if (options.BatchSize < 1)
        {
            throw new DatasetException($"--batch-size must be at least 1; got {options.BatchSize}.");
        }

        var half = Math.Min(128, n / 2) / options.BatchSize * options.BatchSize;
        var trainSize = options.TrainSize ?? half;
        var testSize = options.TestSize ?? half;
        if (trainSize < 0 || testSize < 0)
        {
            throw new DatasetException("--train-size and --test-size must not be negative.");
        }

        if ((long)trainSize + testSize > n)
        {
            throw new DatasetException(
                $"{src}: has {n} prompts, fewer than --train-size {trainSize} + --test-size {testSize} = {(long)trainSize + testSize}.");
        }

        if (trainSize < options.BatchSize)
        {
            throw new DatasetException(
                $"{src}: the train split ({trainSize} prompts) holds no complete batch of --batch-size {options.BatchSize} " +
                $"(the dataset has {n} prompts).");
        }

        var order = Enumerable.Range(0, n).ToList();
        if (options.Shuffle)
        {
            new PythonRandom(options.Seed).Shuffle(order);
        }

        if (options.TailDivergence && transformer is null)
        {
            throw new DatasetException("--tail-divergence needs a transformer (it caches the keys and values of the shared prefix).");
        }

        var selected = order.Take(trainSize + testSize).Select(i => document.Prompts[i]).ToList();
        if (transformer is not null)
        {
            PromptLimits.CheckTokenIds(src, selected, transformer.Config);
        }

        var encoded = encoder.Encode(document, selected);
        PrefixCache? cache = null;
        IDisposable? attachment = null;
        try
        {
            if (transformer is not null)
            {
                PromptLimits.CheckEncoded(src, encoded, transformer.Config);
            }

            var diverge = 0;
            var seqLabels = encoded.SeqLabels;
            if (options.TailDivergence)
            {
                diverge = SharedPrefixLength(encoded.Clean, encoded.Corrupt);
            }

            if (diverge > 0)
            {
                // Every row has this prefix, so one cache per batch size serves every batch (auto-circuit builds it from
                // the first batch's rows and relies on the same).
                using (var scope = torch.NewDisposeScope())
                {
                    var prefix = encoded.Clean.narrow(0, 0, 1).narrow(1, 0, diverge).expand(options.BatchSize, diverge).contiguous(); // [B, P]
                    cache = transformer!.BuildPrefixCache(prefix.to(device)); // no_grad inside: gradient algorithms can use it
                }

                attachment = transformer.AttachPrefixCache(cache);
                var width = encoded.Clean.size(1);
                var tailClean = encoded.Clean.narrow(1, diverge, width - diverge).contiguous();
                var tailCorrupt = encoded.Corrupt.narrow(1, diverge, width - diverge).contiguous();
                encoded.Clean.Dispose();
                encoded.Corrupt.Dispose();
                encoded = encoded with { Clean = tailClean, Corrupt = tailCorrupt };
                seqLabels = seqLabels?.Skip(diverge).ToList();
            }

            int? seqLen = null;
            if (options.TokenPositions)
            {
                if (!encoded.AllSameLength)
                {
                    throw new DatasetException(
                        $"{src}: --token-positions needs every prompt to have the same length, but the prompts differ in length " +
                        "(they would be padded). Use a dataset of equal-length prompts or drop --token-positions.");
                }

                seqLen = (int)encoded.Clean.size(1);
            }

            foreach (var (answers, name) in new[] { (encoded.Answers, "answers"), (encoded.WrongAnswers, "wrong_answers") })
            {
                for (var i = 0; i < answers.Length; i++)
                {
                    foreach (var a in answers[i])
                    {
                        if (a < 0 || a >= outputSize)
                        {
                            throw new DatasetException(
                                $"{src}: prompts[{selected[i].Index}].{name} contains {a}, outside the model's output (0..{outputSize - 1}).");
                        }
                    }
                }
            }

            var keyBase = 0;
            var train = MakeBatches(encoded, 0, trainSize, options.BatchSize, device, ref keyBase);
            var test = MakeBatches(encoded, trainSize, testSize, options.BatchSize, device, ref keyBase);
            var trainIdx = selected.Take(train.Count * options.BatchSize).Select(p => p.Index).ToList();
            var testIdx = selected.Skip(trainSize).Take(test.Count * options.BatchSize).Select(p => p.Index).ToList();
            var data = new TaskData(
                train, test, trainSize, testSize, options.BatchSize, seqLen, seqLabels, trainIdx, testIdx, diverge,
                encoded.WordIdxs ?? new Dictionary<string, int>())
            {
                _prefixCache = cache,
                _prefixAttachment = attachment,
            };
            cache = null;
            attachment = null;
            return data;
        }
        finally
        {
            encoded.Clean.Dispose();
            encoded.Corrupt.Dispose();
            attachment?.Dispose();
            cache?.Dispose();
        }
    }

    /// <summary>
    /// auto-circuit's divergence index (the first position where some clean prompt and its corrupt prompt differ),
    /// limited to the prefix that every clean and corrupt row shares, so that one cached prefix is right for all.
    /// </summary>
    public static int SharedPrefixLength(Tensor clean, Tensor corrupt)
    {
        ArgumentNullException.ThrowIfNull(clean);
        ArgumentNullException.ThrowIfNull(corrupt);
        using var scope = torch.NewDisposeScope();
        var width = clean.size(1);
        var firstDiff = clean.ne(corrupt).to_type(ScalarType.Int32).argmax(1).min().ToInt64(); // 0 when some pair is identical
        var first = clean.narrow(0, 0, 1); // [1, T]
        var shared = clean.eq(first).all(0).logical_and(corrupt.eq(first).all(0)); // [T]
        var sharedLength = shared.logical_not().any().ToBoolean()
            ? shared.logical_not().to_type(ScalarType.Int32).argmax().ToInt64()
            : width;
        return (int)Math.Min(firstDiff, sharedLength);
    }

    private static List<PromptBatch> MakeBatches(EncodedPrompts encoded, int start, int count, int batchSize, Device device, ref int key)
    {
        var batches = new List<PromptBatch>();
        for (var b = 0; b + batchSize <= count; b += batchSize)
        {
            var from = start + b;
            var clean = encoded.Clean.narrow(0, from, batchSize).to(device, copy: true).DetachFromDisposeScope();
            var corrupt = encoded.Corrupt.narrow(0, from, batchSize).to(device, copy: true).DetachFromDisposeScope();
            var answers = ToAnswerSet(encoded.Answers, from, batchSize, device);
            var wrong = ToAnswerSet(encoded.WrongAnswers, from, batchSize, device);
            var diverge = DivergeIndexOf(clean, corrupt);
            batches.Add(new PromptBatch(key++, clean, corrupt, answers, wrong, diverge));
        }

        return batches;
    }

    private static AnswerSet ToAnswerSet(long[][] answers, int from, int count, Device device)
    {
        var rows = answers.Skip(from).Take(count).ToArray();
        var width = rows.Max(r => r.Length);
        var ids = new long[count * width];
        var mask = new bool[count * width];
        var rectangular = rows.All(r => r.Length == width);
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < width; j++)
            {
                var real = j < rows[i].Length;
                ids[(i * width) + j] = real ? rows[i][j] : rows[i][0];
                mask[(i * width) + j] = real;
            }
        }

        var idsT = torch.tensor(ids, [count, width], dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
        var maskT = rectangular ? null : torch.tensor(mask, [count, width], device: device).DetachFromDisposeScope();
        return new AnswerSet(idsT, maskT);
    }

    private static int DivergeIndexOf(Tensor clean, Tensor corrupt)
    {
        // auto-circuit: min over prompts of the first position where clean != corrupt (0 when identical).
        using var scope = torch.NewDisposeScope();
        var ne = clean.ne(corrupt);
        if (ne.dim() > 2)
        {
            ne = ne.flatten(2).any(2);
        }

        var first = ne.to_type(ScalarType.Int32).argmax(1);
        return (int)first.min().ToInt64();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var b in Train.Concat(Test))
        {
            b.Dispose();
        }

        _prefixAttachment?.Dispose();
        _prefixAttachment = null;
        _prefixCache?.Dispose();
        _prefixCache = null;
    }
}
