using AutoCircuit.Algorithms.MaskGradient;
using AutoCircuit.Engine;
using AutoCircuit.Host.Algorithms;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Presets;

/// <summary>
/// The built-in algorithms and auto-circuit's named presets (<c>prune_algos.py</c>) as the CLI resolves them.
/// </summary>
public sealed class CatalogTests
{
    private static readonly AlgorithmCatalog Catalog = AlgorithmCatalog.BuiltIn();

    public static TheoryData<string, string, string> PresetCases() => new()
    {
        // preset (auto-circuit's short name), key, effective options that must hold
        { "EAP", "mask-gradient", "grad-function=logit,answer-function=avg-diff,mask-value=0" },
        { "eap (prob)", "mask-gradient", "grad-function=prob,answer-function=avg-val,mask-value=0" },
        { "EAP (Answer Logit)", "mask-gradient", "grad-function=logit-exp,answer-function=avg-val,mask-value=0" },
        { "EAP (Answer Logprob)", "mask-gradient", "grad-function=logprob,answer-function=avg-val,mask-value=0" },
        { "EAP (Logprob Diff)", "mask-gradient", "grad-function=logprob,answer-function=avg-diff,mask-value=0" },
        { "EAP (MSE)", "mask-gradient", "grad-function=logit,answer-function=mse,mask-value=0" },
        { "IEG", "mask-gradient", "grad-function=logit,answer-function=avg-diff,integrated-gradients=1000,mask-value=none" },
        { "IEG (Answer Logit)", "mask-gradient", "grad-function=logit,answer-function=avg-val,integrated-gradients=50" },
        { "ACDC", "acdc", "tau-exps=-6;-5;-4;-3,tau-bases=1,target=kl-div" },
        { "ACDC (MSE)", "acdc", "tau-exps=-10;-9;-8;-7;-6;-5;-4;-3;-2;-1,tau-bases=1,target=mse" },
        { "MSE ACDC", "acdc", "tau-exps=-10;-9;-8;-7;-6;-5;-4;-3;-2;-1,tau-bases=1,target=mse" },
        { "SP", "subnetwork-probing", "learning-rate=0.1,epochs=200,regularize-lambda=0.5,mask-fn=hard-concrete,tree-optimisation=false" },
        { "SEP", "subnetwork-probing", "learning-rate=0.1,epochs=200,regularize-lambda=0.5,mask-fn=hard-concrete,tree-optimisation=false" },
        { "STP", "subnetwork-probing", "epochs=2000,regularize-lambda=0.5,tree-optimisation=true,target=kl-div" },
        { "STP (MSE)", "subnetwork-probing", "epochs=200,regularize-lambda=0.5,tree-optimisation=true,target=mse" },
        { "CP", "circuit-probing", "epochs=2000,regularize-lambda=0.1,circuit-sizes=true-size;1000,tree-optimisation=false" },
        { "TP", "circuit-tree-probing", "epochs=200,regularize-lambda=0.1,circuit-sizes=100;true-size;1000;10000" },
        { "TP (MSE)", "circuit-tree-probing", "epochs=200,regularize-lambda=0.1,circuit-sizes=true-size,target=mse" },
        { "OTP", "opposite-tree-probing", "epochs=100,regularize-lambda=0.1,circuit-sizes=true-size;1000;10000" },
        { "Random", "random", "" },
        { "gt", "ground-truth", "" },
        { "Act Mag", "activation-magnitude", "" },
    };

    [Theory]
    [MemberData(nameof(PresetCases))]
    public void Create_PresetName_ResolvesToAutoCircuitsConfiguration(string preset, string key, string expected)
    {
        var (entry, configured) = Catalog.Create(AlgorithmSpec.Parse(preset));

        Assert.Equal(key, entry.Descriptor.Key);
        var effective = configured.Options.ToDictionary(o => o.Key, o => OptionParsing.Format(o.Value));
        foreach (var (name, value) in AlgorithmSpec.Parse($"{key}:{expected}").Options)
        {
            Assert.Equal(value, effective[name]);
        }
    }

    [Fact]
    public void Catalog_HasEveryAlgorithmWithHelp()
    {
        var keys = Catalog.Entries.Select(e => e.Descriptor.Key).ToList();

        Assert.Equal(
            ["acdc", "activation-magnitude", "circuit-probing", "circuit-tree-probing", "clean-corrupted", "eap",
             "eap-ig-activations", "eap-ig-inputs", "exact", "ground-truth", "information-flow-routes", "mask-gradient",
             "opposite-tree-probing", "random", "subnetwork-probing"],
            keys);
        Assert.All(Catalog.Entries, e =>
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Descriptor.Description));
            Assert.All(e.Descriptor.Options, o =>
                Assert.False(string.IsNullOrWhiteSpace(o.Description), $"{e.Descriptor.Key}:{o.Name}"));
        });
        var names = Catalog.Presets.Select(p => p.Name.ToUpperInvariant()).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void Options_Defaults_ShownAsAutoCircuitsDefaults()
    {
        Assert.True(Catalog.TryGet("acdc", out var acdc));
        Assert.Equal("-5;-4;-3;-2", acdc.Descriptor.Options.Single(o => o.Name == "tau-exps").DefaultValue);
        Assert.Equal("1;3;5;7;9", acdc.Descriptor.Options.Single(o => o.Name == "tau-bases").DefaultValue);
        Assert.True(Catalog.TryGet("mask-gradient", out var mg));
        Assert.Equal(
            [
                "resample", "zero", "tokenwise-mean-clean", "tokenwise-mean-corrupt", "tokenwise-mean-clean-and-corrupt",
                "batch-tokenwise-mean", "batch-all-tok-mean",
            ],
            mg.Descriptor.Options.Single(o => o.Name == "ablation").AllowedValues);
        var gradFunction = mg.Descriptor.Options.Single(o => o.Name == "grad-function");
        Assert.Equal(["logit", "prob", "logprob", "logit-exp"], gradFunction.AllowedValues);
    }

    [Fact]
    public void Create_MaskValueAndIntegratedGradients_Rejected()
    {
        var e = Assert.Throws<AutoCircuitException>(() =>
            Catalog.Create(AlgorithmSpec.Parse("mask-gradient:mask-value=0,integrated-gradients=10")));

        Assert.Contains("not both", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mask-gradient", null, null, 0.0)]
    [InlineData("mask-gradient:mask-value=0.25", 0.25, null, 0.25)]
    [InlineData("mask-gradient:grad-function=prob,answer-function=avg-val,integrated-gradients=10", null, 10, 0.0)]
    public void Create_MaskGradientSpecs_Bind(string spec, double? maskValue, int? samples, double effective)
    {
        var (_, configured) = Catalog.Create(AlgorithmSpec.Parse(spec));

        var options = ((AutoCircuit.Algorithms.MaskGradient.MaskGradient)configured.Algorithm).Options;
        Assert.Equal(
            (maskValue, samples, effective),
            (options.MaskValue, options.IntegratedGradients, options.EffectiveMaskValue));
    }

    [Theory]
    [InlineData("acdc:tau-exps=-6;-5;-4,tau-bases=1,target=mse")]
    [InlineData("subnetwork-probing:mask-fn=sigmoid,epochs=20")]
    [InlineData("subnetwork-probing:mask-fn=none,avoid-edges=Resid Start->Resid End;B0.0->B1.1,circuit-size=3")]
    [InlineData("mask-gradient:ablation=tokenwise-mean-clean-and-corrupt,ablation-source=clean")]
    [InlineData("circuit-tree-probing:circuit-sizes=100;true-size")]
    [InlineData("eap:grad-function=logprob,answer-function=avg-val")]
    [InlineData("eap-ig-inputs:steps=5,aggregation=mean,ablation=zero")]
    [InlineData("eap-ig-activations:steps=2,ablation=tokenwise-mean-clean")]
    [InlineData("clean-corrupted:grad-function=logprob,answer-function=avg-val")]
    [InlineData("exact:patch-type=edge-patch,edges-per-pass=8,ablation=batch-all-tok-mean")]
    public void Create_IssueSpecs_Bind(string spec)
    {
        var (entry, configured) = Catalog.Create(AlgorithmSpec.Parse(spec));

        Assert.Equal(AlgorithmSpec.Parse(spec).Key, entry.Descriptor.Key);
        Assert.NotEmpty(configured.Options);
    }

    [Fact]
    public void Create_BadAblationName_ListsTheKebabNames()
    {
        var e = Assert.Throws<AutoCircuitException>(() =>
            Catalog.Create(AlgorithmSpec.Parse("mask-gradient:ablation=mean")));

        Assert.Contains("tokenwise-mean-corrupt", e.Message, StringComparison.Ordinal);
        Assert.Equal(AblationSource.Corrupt, new MaskGradientOptions().AblationSource);
    }

    [Fact]
    public void Options_EapIgDefaults_AreEapIgs()
    {
        Assert.True(Catalog.TryGet("eap-ig-inputs", out var inputs));
        Assert.True(Catalog.TryGet("eap-ig-activations", out var activations));

        // get_scores_eap_ig(..., steps=30) and get_scores_ig_activations(..., steps=30); attribute(aggregation='sum').
        Assert.Equal("30", inputs.Descriptor.Options.Single(o => o.Name == "steps").DefaultValue);
        Assert.Equal("30", activations.Descriptor.Options.Single(o => o.Name == "steps").DefaultValue);
        Assert.Equal("sum", inputs.Descriptor.Options.Single(o => o.Name == "aggregation").DefaultValue);
        Assert.Equal("resample", inputs.Descriptor.Options.Single(o => o.Name == "ablation").DefaultValue);
    }
}
