using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Xunit;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// No host read of a tensor (which waits for the GPU: <c>.item</c>, <c>ToSingle</c>, <c>data&lt;&gt;</c>, <c>.cpu()</c>,
/// ...) in the code that runs per destination or per edge: the patch wrapper, the mask-gradient probe, the models'
/// modules, the mask-gradient and ACDC loops. The engine's only read per forward pass is whether every mask is zero
/// (<c>AllMasksZero</c>, before the forward pass, when masks are trained); ACDC's one read per tau is its log line.
/// </summary>
public sealed partial class HotPathSyncTests
{
    // Methods that copy a tensor's values to the host (and so wait for the device).
    [GeneratedRegex(@"\.item<|\.To(Single|Double|Int32|Int64|Boolean)\(|\.data<|\.cpu\(\)|\.tolist\(|\.ToArray<")]
    private static partial Regex HostRead();

    public static TheoryData<string, string[]> HotFiles() => new()
    {
        { "src/Host/AutoCircuit.Engine/Patching/PatchWrapper.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/MaskGradientProbe.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Norm.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Mlp.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Attention.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Embeddings.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/TransformerBlock.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/ForwardContext.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Transformer.cs", ["ValidateTokens"] }, // input check, once per call
        { "src/Host/AutoCircuit.Models/Micro/MicroModel.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.cs", ["AllMasksZero"] },
        { "src/Algorithms/MaskGradient/MaskGradient.cs", [] },
        { "src/Algorithms/Acdc/Acdc.cs", ["removedCount"] }, // one read per tau, for the log line
    };

    [Theory]
    [MemberData(nameof(HotFiles))]
    public void HotPath_ReadsNoTensorToTheHost(string relativePath, string[] allowedIn)
    {
        var path = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", "..", "..", relativePath));
        Assert.True(File.Exists(path), $"Cannot find {path} (this test reads the source tree).");
        var lines = File.ReadAllLines(path);

        var hits = lines
            .Select((text, i) => (Text: text, Line: i + 1))
            .Where(l => HostRead().IsMatch(l.Text))
            .Where(l => !allowedIn.Any(a =>
                l.Text.Contains(a, StringComparison.Ordinal) || EnclosingMember(lines, l.Line - 1).Contains(a, StringComparison.Ordinal)))
            .Select(l => $"{relativePath}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(hits.Count == 0, "Host reads in a hot path:\n" + string.Join("\n", hits));
    }

    [Fact]
    public void Detector_FindsHostReads()
    {
        Assert.Matches(HostRead(), "var v = t.item<float>();");
        Assert.Matches(HostRead(), "x.ToSingle()");
        Assert.Matches(HostRead(), "t.cpu().data<float>()");
        Assert.DoesNotMatch(HostRead(), "using var y = x.to_type(ScalarType.Float64);");
    }

    [GeneratedRegex(@"^\s*(public|private|internal|protected)\b[^=;]*\(")]
    private static partial Regex MemberDeclaration();

    /// <summary>The declaration line of the member that contains line <paramref name="index"/>.</summary>
    private static string EnclosingMember(string[] lines, int index)
    {
        for (var i = index; i >= 0; i--)
        {
            if (MemberDeclaration().IsMatch(lines[i]))
            {
                return lines[i];
            }
        }

        return string.Empty;
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
