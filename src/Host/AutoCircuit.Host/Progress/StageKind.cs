namespace AutoCircuit.Host.Progress;

/// <summary>What a stage of a job does; stages of one kind cost alike, which is what the time estimate relies on.</summary>
internal enum StageKind
{
    /// <summary>An algorithm scoring the edges on the train split.</summary>
    Score,

    /// <summary>Evaluating one set of scores' circuits on the test split (forward passes: sizes × batches).</summary>
    Evaluate,

    /// <summary>Anything else (loading, writing).</summary>
    Other,
}
