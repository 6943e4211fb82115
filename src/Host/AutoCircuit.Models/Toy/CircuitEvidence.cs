namespace AutoCircuit.Models.Toy;

/// <summary>Patching evidence for a circuit (logit difference as % of the full model's on the clean prompts).</summary>
/// <param name="CircuitAlone">Edge patch on the corrupt prompts: the circuit's edges carry clean activations, the others
/// what the run computes (so edges downstream of the circuit pass its effect on).</param>
/// <param name="ComplementAblated">Tree patch on the clean prompts: every edge outside the circuit carries corrupt
/// activations; only the circuit computes from clean ones. The faithfulness of the circuit.</param>
/// <param name="ComplementAlone">Edge patch of every edge outside the circuit, on the corrupt prompts.</param>
/// <param name="CircuitAblated">Tree patch on the clean prompts with the circuit's edges corrupt and the others clean.</param>
/// <param name="MatchPathAlone">Edge patch of the query/key half of the mechanism alone (the query/key edges):
/// it carries the same activations in clean and corrupt prompts, so this stays at the corrupt model's value.</param>
/// <param name="MatchPathMeanAblated">The clean prompts with only the query/key half ablated by its token-wise mean
/// over the clean prompts (instead of resampled): the induction heads no longer find the token to copy.</param>
/// <param name="CorruptModel">The full model on the corrupt prompts (every edge corrupt): the floor.</param>
public sealed record CircuitEvidence(
    double CircuitAlone,
    double ComplementAblated,
    double ComplementAlone,
    double CircuitAblated,
    double MatchPathAlone,
    double MatchPathMeanAblated,
    double CorruptModel);
