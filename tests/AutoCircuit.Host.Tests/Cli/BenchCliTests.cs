using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary>
/// <c>dotnet autocircuit bench</c> and the performance options, end to end in process. The benchmark's numbers are
/// never asserted (timings depend on the machine): only the JSON's keys and shapes.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class BenchCliTests
{
    private static readonly string[] RatioKeys =
    [
        "patched_forward_over_forward", "mask_gradient_over_2f1b", "acdc_edge_over_forward", "evaluate_count_over_forward",
        "src_buffer_bytes_over_minimum",
    ];

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Bench_QuickJson_PrintsOneObjectWithTheRatiosAndShapes()
    {
        var (code, output, err) = await Run("bench", "--quick", "--json", "--repetitions", "1", "--threads", "1");

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output); // one JSON object and nothing else on stdout
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        foreach (var key in RatioKeys)
        {
            Assert.True(root.TryGetProperty(key, out var value), $"missing {key}");
            Assert.Equal(JsonValueKind.Number, value.ValueKind);
            Assert.True(value.GetDouble() > 0, $"{key} = {value}");
        }

        Assert.Equal("small", root.GetProperty("reference_shape").GetString());
        Assert.Equal(1, root.GetProperty("machine").GetProperty("torch_threads").GetInt32());
        Assert.True(root.GetProperty("machine").GetProperty("cores").GetInt32() >= 1);
        var shape = Assert.Single(root.GetProperty("shapes").EnumerateArray());
        Assert.Equal("small", shape.GetProperty("name").GetString());
        foreach (var field in new[] { "layers", "heads", "d_model", "vocab", "batch", "seq", "srcs", "edges" })
        {
            Assert.True(shape.GetProperty(field).GetInt32() > 0, field);
        }

        foreach (var key in RatioKeys.Where(k => k != "src_buffer_bytes_over_minimum"))
        {
            var stat = shape.GetProperty("ratios").GetProperty(key);
            Assert.True(stat.GetProperty("median").GetDouble() > 0, key);
            Assert.True(stat.GetProperty("q1").GetDouble() <= stat.GetProperty("q3").GetDouble(), key);
        }

        // The arithmetic floors: the small shape's patch is 110 edges' worth of 64-wide products against its model's.
        var floors = shape.GetProperty("floors");
        var model = floors.GetProperty("model_multiply_adds").GetDouble();
        var patch = floors.GetProperty("patch_multiply_adds").GetDouble();
        Assert.Equal((8 * 16 * ((2 * 12 * 64 * 64) + (64 * 512))) + (2 * 8 * 2 * 4 * 16 * 16 * 16), model);
        Assert.True(patch > 0 && patch < model, $"patch {patch}, model {model}");
        Assert.Equal(1 + (patch / model), floors.GetProperty("patched_forward_over_forward").GetDouble(), 4);
        Assert.Equal(1 + (patch / (3 * model)), floors.GetProperty("mask_gradient_over_2f1b").GetDouble(), 4);
        Assert.Equal(1 + (patch / model), root.GetProperty("patched_forward_floor").GetDouble(), 4);

        Assert.Contains("bench: small", err, StringComparison.Ordinal); // progress on stderr
    }

    [Fact]
    public async Task Bench_QuickJson_RecordsTheBufferType()
    {
        var (code, output, err) = await Run("bench", "--quick", "--json", "--repetitions", "1", "--threads", "1", "--patch-buffer-dtype", "float32");

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("float32", doc.RootElement.GetProperty("patch_buffer_dtype").GetString());
    }

    [Fact]
    public async Task Bench_JointQkv_BenchmarksTheSmallerGraph()
    {
        var (code, output, err) = await Run("bench", "--quick", "--json", "--repetitions", "1", "--threads", "1", "--qkv", "joint");

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.False(doc.RootElement.GetProperty("separate_qkv").GetBoolean());
        var shape = Assert.Single(doc.RootElement.GetProperty("shapes").EnumerateArray());
        // small shape, 2 layers: per layer one attention-input module (a head axis) and the MLP input, then the final
        // residual: 5 destination modules instead of 9 (Q, K, V and MLP per layer) with separate Q/K/V.
        Assert.Equal(5, shape.GetProperty("dest_modules").GetInt32());
        Assert.True(shape.GetProperty("edges").GetInt32() < 110, shape.GetProperty("edges").ToString());
    }

    [Fact]
    public async Task Bench_HalfBuffersOnTheCpu_IsRefusedWithTheReason()
    {
        var (code, output, err) = await Run("bench", "--quick", "--device", "cpu", "--patch-buffer-dtype", "bfloat16");

        Assert.Equal((int)ExitCode.UsageError, code);
        Assert.Empty(output);
        Assert.Contains("need a CUDA device", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--shape", "huge", "--shape huge")]
    [InlineData("--threads", "0", "--threads 0")]
    [InlineData("--qkv", "both", "--qkv both")]
    [InlineData("--device", "cuda:x", "--device cuda:x")]
    public async Task Bench_BadValue_IsAUsageError(string option, string value, string message)
    {
        var (code, _, err) = await Run("bench", "--quick", option, value);

        Assert.NotEqual(0, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2GB", 2L << 30)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("1.5g", 3L << 29)]
    [InlineData("100KiB", 100L << 10)]
    [InlineData("4096", 4096)]
    public void ParseByteSize_Units(string text, long bytes) =>
        Assert.Equal(bytes, PerformanceSettings.ParseByteSize(text));

    [Theory]
    [InlineData("")]
    [InlineData("-1GB")]
    [InlineData("lots")]
    [InlineData("0")]
    public void ParseByteSize_Invalid_NamesTheOption(string text)
    {
        var e = Assert.Throws<AutoCircuitException>(() => PerformanceSettings.ParseByteSize(text));

        Assert.Contains("--max-patch-memory", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 100L, 4, 1)]
    [InlineData(null, 50_000_000L, 4, 4)]
    [InlineData(3, 100L, 4, 3)]
    public void ThreadPolicy_SmallModelsRunOnOneThread(int? requested, long parameters, int cores, int expected)
    {
        Assert.Equal(expected, TorchThreading.Choose(requested, parameters, cores));
    }
}
