namespace AutoCircuit;

/// <summary>An algorithm option is unknown, malformed or out of range. The message says what is accepted.</summary>
public sealed class OptionBindingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OptionBindingException(string message, string? optionName = null)
        : base(message)
    {
        OptionName = optionName;
    }

    /// <summary>Creates the exception.</summary>
    public OptionBindingException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public OptionBindingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public OptionBindingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The option concerned, when there is one.</summary>
    public string? OptionName { get; }

    /// <summary>An option name the algorithm does not have.</summary>
    public static OptionBindingException Unknown(string algorithmKey, string optionName, IEnumerable<string> known)
    {
        var list = known.ToList();
        return new OptionBindingException(
            list.Count == 0
                ? $"Algorithm '{algorithmKey}' has no options, but '{optionName}' was given."
                : $"Algorithm '{algorithmKey}' has no option '{optionName}'; its options are: {string.Join(", ", list)}.",
            optionName);
    }
}
