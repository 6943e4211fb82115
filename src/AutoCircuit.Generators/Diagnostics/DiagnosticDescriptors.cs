using Microsoft.CodeAnalysis;

namespace AutoCircuit.Generators.Diagnostics;

/// <summary>
/// Every diagnostic of the AutoCircuit generator. Ids are stable and tracked in AnalyzerReleases.*.md; never
/// renumber or reuse one. Messages say what to change.
/// </summary>
internal static class DiagnosticDescriptors
{
    public const string Category = "AutoCircuit";

    /// <summary>
    /// <c>ACG0001</c>: "Class '{0}' is marked [PruneAlgorithm] but does not implement AutoCircuit.IPruneAlgorithm;
    /// implement the interface or remove the attribute".
    /// </summary>
    public static readonly DiagnosticDescriptor MissingInterface = new(
        id: "ACG0001",
        title: "Pruning algorithm does not implement IPruneAlgorithm",
        messageFormat: "Class '{0}' is marked [PruneAlgorithm] but does not implement AutoCircuit.IPruneAlgorithm; implement the interface or remove the attribute",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0002</c>: "Algorithm key '{0}' of '{1}' is already used by '{2}' in this assembly; give each
    /// algorithm a distinct key". Reported on every later duplicate, which is left out of the registry.
    /// </summary>
    public static readonly DiagnosticDescriptor DuplicateKey = new(
        id: "ACG0002",
        title: "Duplicate algorithm key",
        messageFormat: "Algorithm key '{0}' of '{1}' is already used by '{2}' in this assembly; give each algorithm a distinct key",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0003</c>: "Algorithm key '{0}' of '{1}' is not kebab-case; use lowercase letters and digits separated
    /// by single hyphens, such as 'mask-gradient'".
    /// </summary>
    public static readonly DiagnosticDescriptor KeyNotKebabCase = new(
        id: "ACG0003",
        title: "Algorithm key is not kebab-case",
        messageFormat: "Algorithm key '{0}' of '{1}' is not kebab-case; use lowercase letters and digits separated by single hyphens, such as 'mask-gradient'",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0004</c>: "Pruning algorithm '{0}' {1}; make it a public, non-abstract, non-static, non-generic class
    /// whose containing types are public and non-generic" ({1}: "is abstract", "is not public", ...).
    /// </summary>
    public static readonly DiagnosticDescriptor InvalidClassShape = new(
        id: "ACG0004",
        title: "Pruning algorithm class cannot be registered",
        messageFormat: "Pruning algorithm '{0}' {1}; make it a public, non-abstract, non-static, non-generic class whose containing types are public and non-generic",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0005</c>: "Pruning algorithm '{0}' has no usable constructor; add a public parameterless constructor
    /// or a public constructor taking one [AlgorithmOptions] record".
    /// </summary>
    public static readonly DiagnosticDescriptor NoUsableConstructor = new(
        id: "ACG0005",
        title: "Pruning algorithm has no usable constructor",
        messageFormat: "Pruning algorithm '{0}' has no usable constructor; add a public parameterless constructor or a public constructor taking one [AlgorithmOptions] record",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0006</c>: "Option '{0}' has type '{1}', which is not supported; use bool, int, long, double, float,
    /// string, an enum, a one-dimensional array of those, or a nullable form of them".
    /// </summary>
    public static readonly DiagnosticDescriptor UnsupportedOptionType = new(
        id: "ACG0006",
        title: "Unsupported option type",
        messageFormat: "Option '{0}' has type '{1}', which is not supported; use bool, int, long, double, float, string, an enum, a one-dimensional array of those, or a nullable form of them",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0007</c>: "The default {0} of option '{1}' {2}; change the default or the constraint"
    /// ({2}: "is below its Min of 1", "is not one of its AllowedValues (a, b)", ...).
    /// </summary>
    public static readonly DiagnosticDescriptor DefaultViolatesConstraint = new(
        id: "ACG0007",
        title: "Option default violates its constraints",
        messageFormat: "The default {0} of option '{1}' {2}; change the default or the constraint",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0008</c>: "Options type '{0}' {1}" ({1} says what is wrong and what to change, e.g. "is not marked
    /// [AlgorithmOptions]; add the attribute").
    /// </summary>
    public static readonly DiagnosticDescriptor InvalidOptionsType = new(
        id: "ACG0008",
        title: "Invalid algorithm options type",
        messageFormat: "Options type '{0}' {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0009</c>: "Option name '{0}' on '{1}' {2}" ({2}: "is not kebab-case; ..." or "is already used by
    /// property 'X'; give each option a distinct name").
    /// </summary>
    public static readonly DiagnosticDescriptor InvalidOptionName = new(
        id: "ACG0009",
        title: "Invalid option name",
        messageFormat: "Option name '{0}' on '{1}' {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0010</c> (warning): "Preset '{0}' of pruning algorithm '{1}' {2}; it is left out of the registry"
    /// ({2}: "sets option 'x', which the algorithm does not have (its options are: ...)", ...).
    /// </summary>
    public static readonly DiagnosticDescriptor InvalidPreset = new(
        id: "ACG0010",
        title: "Invalid algorithm preset",
        messageFormat: "Preset '{0}' of pruning algorithm '{1}' {2}; it is left out of the registry",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0011</c>: "Preset '{0}' of pruning algorithm '{1}' sets option '{2}' to '{3}', which {4}; change the
    /// value or the option's constraint" ({4}: "is below its Min of 1", "is not an integer", "is not one of logit,
    /// prob", ...). The values are checked by the rules the generated binder applies at run time.
    /// </summary>
    public static readonly DiagnosticDescriptor InvalidPresetValue = new(
        id: "ACG0011",
        title: "Preset value is invalid for its option",
        messageFormat: "Preset '{0}' of pruning algorithm '{1}' sets option '{2}' to '{3}', which {4}; change the value or the option's constraint",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0012</c>: "Option '{0}' on '{1}' has Min {2} greater than its Max {3}, so it accepts no value; swap
    /// them, or correct the one that is wrong". Reported at the <c>Min</c> argument.
    /// </summary>
    public static readonly DiagnosticDescriptor MinGreaterThanMax = new(
        id: "ACG0012",
        title: "Option Min is greater than its Max",
        messageFormat: "Option '{0}' on '{1}' has Min {2} greater than its Max {3}, so it accepts no value; swap them, or correct the one that is wrong",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0013</c> (warning): "Property '{0}' of options record '{1}' has no [Option] attribute, so the command
    /// line, presets and score files never set it and it always keeps its initial value; add [Option(\"{2}\")], or
    /// mark it [OptionIgnore] if it is set only from code". Reported at the property (or positional parameter).
    /// </summary>
    public static readonly DiagnosticDescriptor PropertyNotAnOption = new(
        id: "ACG0013",
        title: "Options record property is not an option",
        messageFormat: "Property '{0}' of options record '{1}' has no [Option] attribute, so the command line, presets and score files never set it and it always keeps its initial value; add [Option(\"{2}\")], or mark it [OptionIgnore] if it is set only from code",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG0014</c> (warning): "Pruning algorithm '{0}' does not say how it keeps to the patch memory budget
    /// (--max-patch-memory) and never calls RowChunks, so a run with a budget may use more memory than allowed; set
    /// MemoryBudget on its [PruneAlgorithm]: BatchSeparable (the host then splits its batches), ChunksItself,
    /// NoPatching or Unsupported". Reported at the class identifier.
    /// </summary>
    public static readonly DiagnosticDescriptor MemoryBudgetUndeclared = new(
        id: "ACG0014",
        title: "Pruning algorithm does not declare how it keeps to the patch memory budget",
        messageFormat: "Pruning algorithm '{0}' does not say how it keeps to the patch memory budget (--max-patch-memory) and never calls RowChunks, so a run with a budget may use more memory than allowed; set MemoryBudget on its [PruneAlgorithm]: BatchSeparable (the host then splits its batches), ChunksItself, NoPatching or Unsupported",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>
    /// <c>ACG9999</c>: "The AutoCircuit generator failed unexpectedly while processing '{0}': {1}; please report
    /// this to the AutoCircuit maintainers with this message".
    /// </summary>
    public static readonly DiagnosticDescriptor UnexpectedError = new(
        id: "ACG9999",
        title: "Unexpected error in the AutoCircuit generator",
        messageFormat: "The AutoCircuit generator failed unexpectedly while processing '{0}': {1}; please report this to the AutoCircuit maintainers with this message",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}
