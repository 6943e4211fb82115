using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AutoCircuit.Host.IO;

/// <summary>Writes an output record through its source-generated contract (see <c>Outputs/OutputJsonContext</c>).</summary>
internal static class JsonOutput
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> (UTF-8, no BOM, no final newline).</summary>
    public static void Write<T>(string path, T value, JsonTypeInfo<T> contract)
    {
        ArgumentNullException.ThrowIfNull(contract);
        using var fs = File.Create(path);
        JsonSerializer.Serialize(fs, value, contract);
    }
}
