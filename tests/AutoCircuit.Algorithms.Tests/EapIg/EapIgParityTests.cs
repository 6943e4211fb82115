using AutoCircuit.Host.Algorithms;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.EapIg;

/// <summary>
/// eap-ig-inputs, eap-ig-activations, clean-corrupted, information-flow-routes and exact against
/// tools/reference/eap_ig_reference.py, a plain-PyTorch transcription of EAP-IG's attribute.py (tests/Fixtures/eap-ig):
/// the micro model and a GPT-2 (3 layers, 4 heads, d_model 32), factorized graph, resample and zero ablations, logit
/// difference and answer log-probability losses, sum and mean aggregation.
/// </summary>
public sealed class EapIgParityTests
{
    // Both sides compute in float32 with the same definitions; the reference adds each step's gradient product from a
    // backward hook, we sum the gradients first (and libtorch's kernels round differently): 1e-5 relative, plus 1e-6
    // absolute for scores that cancel to ~0 (about 1e-5 of the largest scores).
    private const double Rtol = 1e-5;
    private const double Atol = 1e-6;

    private static readonly AlgorithmCatalog Catalog = AlgorithmCatalog.BuiltIn();

    public static TheoryData<string, int> Cases() => EapIgFixture.AllCases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_ReferenceCase_MatchesEapIg(string model, int index)
    {
        using var fixture = EapIgFixture.Load(model);
        var testCase = fixture.Cases[index];
        var key = testCase.GetProperty("algorithm").GetString()!;
        var options = testCase.GetProperty("options").GetString()!;
        var (_, configured) = Catalog.Create(AlgorithmSpec.Parse(options.Length == 0 ? key : $"{key}:{options}"));

        using var scores = configured.Algorithm.Run(fixture.Context());

        var modules = testCase.GetProperty("scores").EnumerateObject().ToList();
        Assert.Equal(fixture.Model.Graph.DestModules.Select(m => m.ModuleName).Order(), modules.Select(p => p.Name).Order());
        foreach (var module in modules)
        {
            using var expected = TestFixtures.ToTensor(module.Value);
            TensorAssert.AllClose(expected, scores[module.Name], Atol, Rtol, $"{model} {key}:{options} {module.Name}");
        }

        using var flat = scores.Flatten();
        Assert.True(flat.abs().max().ToDouble() > 1e-2, "the scores are all ~0: the comparison would prove nothing");
    }
}
