namespace AutoCircuit.Engine.Hooks;

/// <summary>
/// Implemented by models whose forward pass may accept only some batch sizes for a while (a transformer with a prefix
/// cache attached takes only the cached batch's rows); the engine then runs such a batch as it is instead of repeating
/// its prompts in one larger pass.
/// </summary>
internal interface IBatchSizeBound
{
    /// <summary>Whether the forward pass now accepts only certain batch sizes.</summary>
    bool BatchSizeBound { get; }
}
