namespace AutoCircuit;

/// <summary>
/// Implemented by options records with rules that involve several options (e.g. "exactly one of
/// <c>mask-value</c> and <c>integrated-gradients</c>"). The generated binder calls it after binding.
/// </summary>
public interface IValidatableOptions
{
    /// <summary>Returns <c>null</c> when the options are consistent, else a message saying what to change.</summary>
    string? Validate();
}
