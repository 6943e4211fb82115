using System.Text.Json;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Testing;

/// <summary>Access to the JSON fixtures under tests/Fixtures (copied next to the test assembly).</summary>
public static class TestFixtures
{
    /// <summary>
    /// The folder holding the test assembly (and what the test project copies next to it). Not
    /// <see cref="AppContext.BaseDirectory"/>: under a stand-alone runner (xunit.console, as the GPU
    /// script uses) that is the runner's folder.
    /// </summary>
    public static string OutputDirectory { get; } = Path.GetDirectoryName(typeof(TestFixtures).Assembly.Location)!;

    /// <summary>The fixtures folder in the test output.</summary>
    public static string Root => Path.Combine(OutputDirectory, "Fixtures");

    /// <summary>Parses a fixture file.</summary>
    public static JsonDocument Load(string relativePath)
    {
        var path = Path.Combine(Root, relativePath);
        Assert.True(File.Exists(path), $"Fixture {path} is missing (it is committed under tests/Fixtures).");
        return JsonDocument.Parse(File.ReadAllBytes(path));
    }

    /// <summary>A nested JSON array of numbers as a float64 tensor.</summary>
    public static Tensor ToTensor(JsonElement element)
    {
        var values = new List<double>();
        var shape = new List<long>();
        Walk(element, 0, shape, values);
        return torch.tensor(values.ToArray(), [.. shape], dtype: ScalarType.Float64);
    }

    private static void Walk(JsonElement el, int depth, List<long> shape, List<double> values)
    {
        if (el.ValueKind == JsonValueKind.Number)
        {
            values.Add(el.GetDouble());
            return;
        }

        if (depth == shape.Count)
        {
            shape.Add(el.GetArrayLength());
        }

        foreach (var c in el.EnumerateArray())
        {
            Walk(c, depth + 1, shape, values);
        }
    }
}
