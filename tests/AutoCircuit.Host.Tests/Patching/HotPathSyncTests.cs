using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Xunit;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// No host read of a tensor (which waits for the GPU: <c>.item</c>, <c>ToSingle</c>, <c>data&lt;&gt;</c>, <c>.cpu()</c>,
/// ...) in the code that runs per destination or per edge: every unit of the patching engine (wrapper, planner, the
/// three patch modes, the probe, recording and capture passes, the model's partials), the models' modules (norm, MLP,
/// attention, embeddings, block, the micro model), the mask-gradient and ACDC loops. The engine's only read per forward pass is the planner's "is every mask zero"
/// (<c>AllMasksZero</c>, before the forward pass, when masks are trained); ACDC's one read per tau is its log line, and
/// on the CPU (where a read waits for no device) it reads each step's metric instead of deciding with tensor operations.
/// <see cref="EngineUnits_AreAllListed"/> keeps the list complete.
/// </summary>
public sealed partial class HotPathSyncTests
{
    // Methods that copy a tensor's values to the host (and so wait for the device).
    [GeneratedRegex(@"\.item<|\.To(Single|Double|Int32|Int64|Boolean)\(|\.data<|\.cpu\(\)|\.tolist\(|\.ToArray<")]
    private static partial Regex HostRead();

    // Whole-shape reads: TorchSharp's shape and size() marshal a callback per call, as costly as a small operation
    // (TensorSizes reads one axis at a time). Allowed in error messages (interpolated strings).
    [GeneratedRegex(@"\.shape\b|\.size\(\)")]
    private static partial Regex WholeShapeRead();

    private const string EngineFolder = "src/Host/AutoCircuit.Engine/Patching";

    public static TheoryData<string, string[]> HotFiles() => new()
    {
        { "src/Host/AutoCircuit.Engine/Patching/PatchWrapper.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/ForwardPass.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchForward.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchMath.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchProductKernel.cs", [] }, // CPU tensors only: reads memory, waits for nothing
        { "src/Host/AutoCircuit.Engine/Patching/ReferencePatch.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/GroupedInferencePatch.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/ZeroMaskGradientPatch.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/MaskGradientProbe.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/GroupMaskGradient.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/BackwardLeftovers.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchScope.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/SourceRecording.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/ActivationCapture.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/SourceBufferLedger.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchPlanner.cs", ["AllMasksZero"] }, // the planner's one read per pass
        { "src/Host/AutoCircuit.Engine/Patching/PassThreads.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Norm.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Mlp.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Attention.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Embeddings.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/TransformerBlock.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/ForwardContext.cs", [] },
        { "src/Host/AutoCircuit.Models/Transformers/Transformer.cs", ["ValidateTokens"] }, // input check, once per call
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.Masks.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.Ablations.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.Capture.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.Interventions.cs", [] },
        { "src/Host/AutoCircuit.Engine/Patching/PatchableModel.Restart.cs", [] },
        { "src/Host/AutoCircuit.Models/Micro/MicroModel.cs", [] },
        { "src/Algorithms/MaskGradient/MaskGradient.cs", [] },
        { "src/Algorithms/Acdc/Acdc.cs", ["removedCount", "ReadOnCpu"] }, // one read per tau, for the log line; per edge on the CPU only
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

    [Theory]
    [MemberData(nameof(HotFiles))]
    public void HotPath_ReadsSizesOneAxisAtATime(string relativePath, string[] allowedIn)
    {
        _ = allowedIn; // the host-read exceptions; none for shapes
        var path = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", "..", "..", relativePath));
        Assert.True(File.Exists(path), $"Cannot find {path} (this test reads the source tree).");

        var hits = File.ReadAllLines(path)
            .Select((text, i) => (Text: text, Line: i + 1))
            .Where(l => WholeShapeRead().IsMatch(l.Text) && !l.Text.Contains("$\"", StringComparison.Ordinal))
            .Where(l => !l.Text.TrimStart().StartsWith("//", StringComparison.Ordinal) && !l.Text.TrimStart().StartsWith("///", StringComparison.Ordinal))
            .Select(l => $"{relativePath}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(hits.Count == 0, "Whole-shape reads in a hot path (use TensorSizes):\n" + string.Join("\n", hits));
    }

    [Fact]
    public void EngineUnits_AreAllListed()
    {
        // Every file of the patching engine runs during forward passes, except the plain settings types below.
        string[] settingsOnly = ["DTypes.cs", "GraphOptions.cs", "PatchOptions.cs", "MaskSettings.cs", "PatchForwardMode.cs"];
        var folder = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", "..", "..", EngineFolder));
        var listed = HotFiles().Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);

        var missing = Directory.GetFiles(folder, "*.cs")
            .Select(Path.GetFileName)
            .Where(f => !settingsOnly.Contains(f) && !listed.Contains($"{EngineFolder}/{f}"))
            .ToList();

        Assert.True(Directory.Exists(folder), $"Cannot find {folder} (this test reads the source tree).");
        Assert.True(missing.Count == 0, $"Engine files missing from {nameof(HotFiles)}: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Detector_FindsHostReads()
    {
        Assert.Matches(HostRead(), "var v = t.item<float>();");
        Assert.Matches(HostRead(), "x.ToSingle()");
        Assert.Matches(HostRead(), "t.cpu().data<float>()");
        Assert.DoesNotMatch(HostRead(), "using var y = x.to_type(ScalarType.Float64);");
        Assert.Matches(WholeShapeRead(), "torch.empty(patch.shape, dtype: d)");
        Assert.Matches(WholeShapeRead(), "var s = x.size();");
        Assert.DoesNotMatch(WholeShapeRead(), "var b = x.size(0);");
        Assert.DoesNotMatch(WholeShapeRead(), "var s = x.Sizes();");
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
