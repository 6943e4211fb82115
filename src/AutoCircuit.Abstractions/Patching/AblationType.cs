namespace AutoCircuit.Patching;

/// <summary>
/// What replaces an edge's activation when it is patched (auto-circuit's <c>AblationType</c>).
/// CLI names are kebab-case: <c>resample</c>, <c>zero</c>, <c>tokenwise-mean-clean</c>, ...
/// </summary>
public enum AblationType
{
    /// <summary>The activation of the other input of the pair (corrupt for clean, and vice versa).</summary>
    Resample = 1,

    /// <summary>Zeros.</summary>
    Zero = 2,

    /// <summary>Token-wise mean of the clean inputs over the whole dataset.</summary>
    TokenwiseMeanClean = 3,

    /// <summary>Token-wise mean of the corrupt inputs over the whole dataset.</summary>
    TokenwiseMeanCorrupt = 4,

    /// <summary>Token-wise mean of the clean and the corrupt inputs over the whole dataset.</summary>
    TokenwiseMeanCleanAndCorrupt = 5,

    /// <summary>Token-wise mean over the current batch.</summary>
    BatchTokenwiseMean = 6,

    /// <summary>Mean over all tokens of the current batch.</summary>
    BatchAllTokMean = 7,
}

/// <summary>Properties of <see cref="AblationType"/> values.</summary>
public static class AblationTypeExtensions
{
    /// <summary>Whether the ablation is a mean over the whole dataset (computed once, not per batch).</summary>
    public static bool IsMeanOverDataset(this AblationType type) =>
        type is AblationType.TokenwiseMeanClean or AblationType.TokenwiseMeanCorrupt
            or AblationType.TokenwiseMeanCleanAndCorrupt;

    /// <summary>Whether the dataset mean includes the clean inputs.</summary>
    public static bool UsesCleanDataset(this AblationType type) =>
        type is AblationType.TokenwiseMeanClean or AblationType.TokenwiseMeanCleanAndCorrupt;

    /// <summary>Whether the dataset mean includes the corrupt inputs.</summary>
    public static bool UsesCorruptDataset(this AblationType type) =>
        type is AblationType.TokenwiseMeanCorrupt or AblationType.TokenwiseMeanCleanAndCorrupt;

    /// <summary>Whether the ablation depends on the batch it is computed from (resample and batch means).</summary>
    public static bool IsBatchSpecific(this AblationType type) =>
        type is AblationType.Resample or AblationType.BatchTokenwiseMean or AblationType.BatchAllTokMean;

    /// <summary>The kebab-case CLI name, e.g. <c>tokenwise-mean-clean</c>.</summary>
    public static string ToCliName(this AblationType type) => type switch
    {
        AblationType.Resample => "resample",
        AblationType.Zero => "zero",
        AblationType.TokenwiseMeanClean => "tokenwise-mean-clean",
        AblationType.TokenwiseMeanCorrupt => "tokenwise-mean-corrupt",
        AblationType.TokenwiseMeanCleanAndCorrupt => "tokenwise-mean-clean-and-corrupt",
        AblationType.BatchTokenwiseMean => "batch-tokenwise-mean",
        AblationType.BatchAllTokMean => "batch-all-tok-mean",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
