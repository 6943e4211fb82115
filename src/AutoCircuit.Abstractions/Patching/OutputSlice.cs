namespace AutoCircuit.Patching;

/// <summary>Which part of the model output the task is measured on (auto-circuit's <c>OutputSlice</c>).</summary>
public enum OutputSlice
{
    /// <summary>The whole output.</summary>
    All = 0,

    /// <summary>The last token position: <c>out[:, -1]</c>.</summary>
    LastSeq = 1,

    /// <summary>Every position but the first: <c>out[:, 1:]</c>.</summary>
    NotFirstSeq = 2,
}
