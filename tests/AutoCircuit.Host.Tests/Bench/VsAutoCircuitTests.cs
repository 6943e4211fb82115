using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Bench;
using AutoCircuit.Bench.Outputs;
using AutoCircuit.Engine;
using AutoCircuit.Host.Tests.Outputs;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Bench;

/// <summary>
/// Our side of the head-to-head with auto-circuit (<c>bench --vs-auto-circuit</c>,
/// <c>tools/perf-vs-auto-circuit/README.md</c>): the same dataset bytes as the harness, and checksums equal to
/// auto-circuit's own (<c>reference_checksums.json</c>, computed by auto-circuit 98db58c on Debian torch 1.13) under
/// the harness's agreement rule: integers and lists equal, floats within rtol 1e-4 of the larger of both values and
/// the sibling <c>abs_sum</c>.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class VsAutoCircuitTests : IDisposable
{
    private const double Rtol = 1e-4;
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-vs-ac-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonNode Reference => JsonNode.Parse(File.ReadAllText(Repository.File("tools", "perf-vs-auto-circuit", "reference_checksums.json")))!;

    [Fact]
    public void GenerateDataset_HasTheHarnessBytes()
    {
        var bytes = VsAutoCircuit.GenerateDataset();

        Assert.Equal(Reference["dataset_sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.StartsWith("{\"prompts\":[{\"clean\":[[", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public void EveryWorkload_ChecksumsEqualAutoCircuits(int layers)
    {
        var file = VsAutoCircuit.Run(new VsAutoCircuitSettings(layers, 1, 1, 0, VsAutoCircuit.AllWorkloads, null), TextWriter.Null);
        var expected = Reference["n_layers"]![layers.ToString(System.Globalization.CultureInfo.InvariantCulture)]!["checksums"]!.AsObject();

        Assert.Equal(VsAutoCircuit.AllWorkloads, file.Workloads.Keys);
        var differences = file.Workloads.SelectMany(w => Compare(expected[w.Key]!, w.Value.Checksum, w.Key + ".")).ToList();
        Assert.True(differences.Count == 0, string.Join("\n", differences));
        Assert.Equal(2 * layers * layers + 2 * layers + 1, file.Graph.NEdges);
        Assert.All(file.Workloads.Values, w => Assert.Single(w.Ms.Samples));
    }

    [Fact]
    public void Compare_DetectsADifferentChecksum()
    {
        var expected = JsonNode.Parse("""{"sum": 1.0, "abs_sum": 3.0, "n": 4, "edge_counts": [0, 1]}""")!;

        Assert.Empty(Compare(expected, JsonNode.Parse("""{"sum": 1.0002, "abs_sum": 3.0, "n": 4, "edge_counts": [0, 1]}""")!, string.Empty));
        Assert.NotEmpty(Compare(expected, JsonNode.Parse("""{"sum": 1.001, "abs_sum": 3.0, "n": 4, "edge_counts": [0, 1]}""")!, string.Empty));
        Assert.NotEmpty(Compare(expected, JsonNode.Parse("""{"sum": 1.0, "abs_sum": 3.0, "n": 5, "edge_counts": [0, 1]}""")!, string.Empty));
        Assert.NotEmpty(Compare(expected, JsonNode.Parse("""{"sum": 1.0, "abs_sum": 3.0, "n": 4, "edge_counts": [0, 2]}""")!, string.Empty));
        Assert.NotEmpty(Compare(expected, JsonNode.Parse("""{"sum": 1.0, "abs_sum": 3.0, "n": 4}""")!, string.Empty));
    }

    [Fact]
    public async Task Cli_JsonContract_AskedWorkloadsOnlyAndMatchesSchema()
    {
        var dataset = Path.Combine(_dir, "dataset.json");
        File.WriteAllBytes(dataset, VsAutoCircuit.GenerateDataset());
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CommandLine.InvokeAsync(
            ["bench", "--vs-auto-circuit", "--json", "--n-layers", "2", "--threads", "1", "--reps", "3", "--warmup", "0",
             "--workloads", "forward,mask_gradient", "--dataset", dataset], output, error);

        Assert.True(code == 0, error.ToString());
        var json = output.ToString();
        SchemaFiles.AssertValid("bench-vs-auto-circuit", json, "bench --vs-auto-circuit --json");
        var file = JsonSerializer.Deserialize(json, BenchJsonContext.Default.VsAutoCircuitFile)!;
        Assert.Equal(["forward", "mask_gradient"], file.Workloads.Keys);
        Assert.Equal((2, 1, 3, 0), (file.NLayers, file.Threads, file.Reps, file.Warmup));
        Assert.Equal(1, file.Env.NumThreads);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(dataset))), file.Dataset.Sha256);
        Assert.All(file.Workloads.Values, w => Assert.Equal(3, w.Ms.Samples.Length));
        Assert.All(file.Workloads.Values, w => Assert.InRange(w.Ms.Median, w.Ms.Q1, w.Ms.Q3));
    }

    [Fact]
    public async Task Cli_UnknownWorkload_IsRefused()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CommandLine.InvokeAsync(["bench", "--vs-auto-circuit", "--workloads", "forward,warp_drive"], output, error);

        Assert.NotEqual(0, code);
        Assert.Contains("warp_drive", error.ToString(), StringComparison.Ordinal);
        Assert.Throws<AutoCircuitException>(() => VsAutoCircuit.ParseWorkloads("nope"));
    }

    /// <summary>The harness's agreement rule (<c>compare</c> in <c>tools/perf-vs-auto-circuit/run.py</c>).</summary>
    private static List<string> Compare(JsonNode expected, JsonNode actual, string path)
    {
        var diffs = new List<string>();
        if (expected is JsonObject e && actual is JsonObject a)
        {
            foreach (var key in e.Select(p => p.Key).Union(a.Select(p => p.Key)))
            {
                if (!e.ContainsKey(key) || !a.ContainsKey(key))
                {
                    diffs.Add($"{path}{key}: only on one side");
                    continue;
                }

                var (x, y) = (e[key]!, a[key]!);
                if (x is JsonValue vx && y is JsonValue vy)
                {
                    if (IsInteger(vx) && IsInteger(vy))
                    {
                        if (JsonSerializer.SerializeToElement(vx).GetInt64() != JsonSerializer.SerializeToElement(vy).GetInt64())
                        {
                            diffs.Add($"{path}{key}: {vx} != {vy}");
                        }

                        continue;
                    }

                    var scaleKey = key.EndsWith("sum", StringComparison.Ordinal) && !key.EndsWith("abs_sum", StringComparison.Ordinal)
                        ? key[..^3] + "abs_sum" : null;
                    var scale = scaleKey is not null && e[scaleKey] is JsonValue se && a[scaleKey] is JsonValue sa
                        ? Math.Max(Math.Abs(Number(se)), Math.Abs(Number(sa))) : 0;
                    var (fx, fy) = (Number(vx), Number(vy));
                    if (Math.Abs(fx - fy) > Rtol * Math.Max(Math.Max(Math.Abs(fx), Math.Abs(fy)), scale))
                    {
                        diffs.Add($"{path}{key}: {fx} vs {fy}");
                    }
                }
                else
                {
                    diffs.AddRange(Compare(x, y, $"{path}{key}."));
                }
            }
        }
        else if (expected is JsonArray ea && actual is JsonArray aa)
        {
            if (ea.Count != aa.Count || ea.Zip(aa).Any(p => Number(p.First!.AsValue()) != Number(p.Second!.AsValue())))
            {
                diffs.Add($"{path.TrimEnd('.')}: lists differ");
            }
        }
        else
        {
            diffs.Add($"{path.TrimEnd('.')}: {expected} != {actual}");
        }

        return diffs;
    }

    private static double Number(JsonValue v) => JsonSerializer.SerializeToElement(v).GetDouble();

    private static bool IsInteger(JsonValue v)
    {
        var el = JsonSerializer.SerializeToElement(v);
        return el.ValueKind == JsonValueKind.Number && !el.GetRawText().Contains('.', StringComparison.Ordinal) && !el.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase);
    }
}
