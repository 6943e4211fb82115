using AutoCircuit.Engine;
namespace AutoCircuit.Host.Algorithms;

/// <summary>
/// An algorithm as named on the command line: <c>key</c>, <c>key:name=value,name=value</c>, or a
/// preset name such as <c>"EAP (Prob)"</c>. Values may not contain <c>,</c>; list values use <c>;</c>.
/// </summary>
/// <param name="Text">The spec as written.</param>
/// <param name="Key">The algorithm key (or preset name, before resolution).</param>
/// <param name="Options">Option assignments in the order written.</param>
public sealed record AlgorithmSpec(string Text, string Key, IReadOnlyList<KeyValuePair<string, string>> Options)
{
    /// <summary>Parses a spec.</summary>
    /// <exception cref="AutoCircuitException">Malformed assignment or repeated option.</exception>
    public static AlgorithmSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        var key = (colon < 0 ? trimmed : trimmed[..colon]).Trim();
        if (key.Length == 0)
        {
            throw new AutoCircuitException($"Algorithm spec '{text}' has no algorithm key (expected key or key:name=value,...).");
        }

        var options = new List<KeyValuePair<string, string>>();
        if (colon >= 0)
        {
            var rest = trimmed[(colon + 1)..];
            if (rest.Trim().Length > 0)
            {
                foreach (var part in rest.Split(','))
                {
                    var eq = part.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new AutoCircuitException(
                            $"Algorithm spec '{text}': '{part}' is not name=value (options are separated by ',', list items by ';').");
                    }

                    var name = part[..eq].Trim();
                    if (options.Any(o => o.Key == name))
                    {
                        throw new AutoCircuitException($"Algorithm spec '{text}' sets option '{name}' twice.");
                    }

                    options.Add(new KeyValuePair<string, string>(name, part[(eq + 1)..].Trim()));
                }
            }
        }

        return new AlgorithmSpec(text, key, options);
    }

    /// <summary>The options as a dictionary (for binding).</summary>
    public IReadOnlyDictionary<string, string> OptionDictionary =>
        Options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);
}
