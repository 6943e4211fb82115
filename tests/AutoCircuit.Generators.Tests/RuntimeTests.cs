using System.Runtime.Loader;
using System.Text.Json;
using AutoCircuit.Generators.Tests.Infrastructure;
using Xunit;

namespace AutoCircuit.Generators.Tests;

/// <summary>
/// Compiles <see cref="Samples.Representative"/> with the generator into an in-memory assembly, loads it in a
/// collectible context and uses the registry the way the host does: through the one assembly attribute.
/// </summary>
public sealed class RuntimeTests(RuntimeTests.SampleAssembly sample) : IClassFixture<RuntimeTests.SampleAssembly>
{
    private AlgorithmRegistryAttribute Registry => sample.Registry;

    private AlgorithmDescriptor MaskGradient => Registry.Algorithms.Single(a => a.Key == "mask-gradient");

    [Fact]
    public void Algorithms_DeclaredOutOfOrder_SortedByKey()
    {
        var keys = Registry.Algorithms.Select(a => a.Key).ToArray();

        Assert.Equal(["ground-truth", "mask-gradient"], keys);
    }

    [Fact]
    public void SdkVersion_Always_IsReferencedAbstractionsFileVersion()
    {
        var version = Registry.SdkVersion;

        // The file version moves with every release; the assembly version stays pinned at major.0.0.0.
        var file = System.Diagnostics.FileVersionInfo.GetVersionInfo(typeof(IPruneAlgorithm).Assembly.Location);
        Assert.Equal($"{file.FileMajorPart}.{file.FileMinorPart}.{file.FileBuildPart}", version);
        Assert.NotEqual(typeof(IPruneAlgorithm).Assembly.GetName().Version!.ToString(), version);
    }

    [Fact]
    public void Descriptor_AttributeArguments_AndDefaultsForOmittedNames()
    {
        var groundTruth = Registry.Algorithms.Single(a => a.Key == "ground-truth");

        Assert.Equal(("Mask Gradient", "MG", false), (MaskGradient.Name, MaskGradient.ShortName, MaskGradient.RequiresKnownEdges));
        Assert.Equal("Gradient of the metric with respect to the edge masks.", MaskGradient.Description);
        Assert.Equal(("GroundTruthAlgorithm", "GroundTruthAlgorithm", true), (groundTruth.Name, groundTruth.ShortName, groundTruth.RequiresKnownEdges));
        Assert.Empty(groundTruth.Options);
        Assert.Empty(groundTruth.Presets);
    }

    [Fact]
    public void Options_Defaults_FormattedFromInitializers()
    {
        var defaults = MaskGradient.Options.Select(o => $"{o.Name}: {o.TypeName} = {o.DefaultValue}");

        Assert.Equal(
            [
                "grad-function: enum = logit",
                "answer-function: enum = avg-diff",
                "mask-value: double? = none",
                "integrated-gradients: int? = 50",
                "epochs: int = 10",
                "seed-offset: long = 7",
                "learning-rate: float = 0.1",
                "temperature: double = 1.5",
                "normalize: bool = true",
                "mode: string = fast",
                "label: string? = none",
                "layers: int list = 0;1",
                "answer-functions: enum list? = none",
            ],
            defaults);
    }

    [Fact]
    public void Options_Metadata_CarriesDescriptionsAllowedValuesAndBounds()
    {
        var options = MaskGradient.Options.ToDictionary(o => o.Name);

        Assert.Equal("What the gradient is taken of.", options["grad-function"].Description);
        Assert.Equal(["logit", "prob", "logit-exp", "log-prob"], options["grad-function"].AllowedValues);
        Assert.Equal(["avg-diff", "avg-val", "kl-div", "mse-loss"], options["answer-functions"].AllowedValues);
        Assert.Equal(["fast", "exact"], options["mode"].AllowedValues);
        Assert.Null(options["epochs"].AllowedValues);
        Assert.Equal((1d, 1000d), (options["epochs"].Min, options["epochs"].Max));
        Assert.Equal((1d, (double?)null), (options["integrated-gradients"].Min, options["integrated-gradients"].Max));
        Assert.Equal(((double?)null, (double?)null), (options["normalize"].Min, options["normalize"].Max));
    }

    [Fact]
    public void Presets_FromAttributes_InDeclarationOrder()
    {
        var presets = MaskGradient.Presets;

        Assert.Equal(
            [
                new AlgorithmPreset("EAP", "mask-gradient", "grad-function=logit,mask-value=0,integrated-gradients=none"),
                new AlgorithmPreset("IG", "mask-gradient", "integrated-gradients=10"),
            ],
            presets);
    }

    [Fact]
    public void Create_GradFunctionAndEpochs_SetsThoseAndKeepsOtherDefaults()
    {
        var configured = MaskGradient.Create(Spec("grad-function=prob,epochs=5"));

        var values = configured.Options.ToDictionary(o => o.Key, o => o.Value);
        Assert.Equal("prob", values["grad-function"]);
        Assert.Equal(5, values["epochs"]);
        Assert.Equal("avg-diff", values["answer-function"]);
        Assert.Equal(50, values["integrated-gradients"]);
        Assert.Null(values["mask-value"]);
        Assert.Equal(new object[] { 0, 1 }, values["layers"]);
        Assert.Equal(MaskGradient.Options.Select(o => o.Name), configured.Options.Select(o => o.Key));
        var algorithm = configured.Algorithm.ToString();
        Assert.Contains("GradFunction = Prob", algorithm, StringComparison.Ordinal);
        Assert.Contains("Epochs = 5", algorithm, StringComparison.Ordinal);
        Assert.Equal(configured.Algorithm.GetType().FullName, MaskGradient.AlgorithmTypeName);
        Assert.Equal(MemoryBudgetSupport.BatchSeparable, MaskGradient.MemoryBudget);
        Assert.Equal(MemoryBudgetSupport.BatchSeparable, AutoCircuit.MemoryBudgetRunner.SupportOf(configured.Algorithm));
    }

    [Fact]
    public void Create_EveryKind_ParsesValue()
    {
        var configured = MaskGradient.Create(Spec(
            "mask-value=0.25,integrated-gradients=none,seed-offset=9000000000,learning-rate=0.5,temperature=-inf," +
            "normalize=no,mode=exact,label=run-1,layers=2;3;5,answer-functions=kl-div;mse-loss,answer-function=avg-val"));

        var values = configured.Options.ToDictionary(o => o.Key, o => o.Value);
        Assert.Equal(0.25, values["mask-value"]);
        Assert.Null(values["integrated-gradients"]);
        Assert.Equal(9_000_000_000L, values["seed-offset"]);
        Assert.Equal(0.5f, values["learning-rate"]);
        Assert.Equal("-inf", values["temperature"]); // JSON has no infinity: the binder's own spelling
        Assert.Equal(false, values["normalize"]);
        Assert.Equal("exact", values["mode"]);
        Assert.Equal("run-1", values["label"]);
        Assert.Equal(new object[] { 2, 3, 5 }, values["layers"]);
        Assert.Equal(new object[] { "kl-div", "mse-loss" }, values["answer-functions"]);
        Assert.Equal("avg-val", values["answer-function"]);
    }

    [Fact]
    public void Create_UnknownOption_ThrowsListingValidNames()
    {
        var ex = Assert.Throws<OptionBindingException>(() => MaskGradient.Create(Spec("speed=3")));

        Assert.Equal("speed", ex.OptionName);
        Assert.Contains("has no option 'speed'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(
            "grad-function, answer-function, mask-value, integrated-gradients, epochs, seed-offset, learning-rate, " +
            "temperature, normalize, mode, label, layers, answer-functions",
            ex.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Create_OptionForAlgorithmWithoutOptions_Throws()
    {
        var groundTruth = Registry.Algorithms.Single(a => a.Key == "ground-truth");

        var ex = Assert.Throws<OptionBindingException>(() => groundTruth.Create(Spec("epochs=3")));

        Assert.Contains("'ground-truth' has no options", ex.Message, StringComparison.Ordinal);
        Assert.Empty(groundTruth.Create(Spec(string.Empty)).Options);
    }

    [Fact]
    public void Create_BadEnumValue_ThrowsListingAllowedValues()
    {
        var ex = Assert.Throws<OptionBindingException>(() => MaskGradient.Create(Spec("grad-function=probability")));

        Assert.Contains("must be one of logit, prob, logit-exp, log-prob; got 'probability'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_StringOutsideAllowedValues_ThrowsListingThem()
    {
        var ex = Assert.Throws<OptionBindingException>(() => MaskGradient.Create(Spec("mode=slow")));

        Assert.Contains("must be one of fast, exact; got 'slow'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("epochs=0", "must be at least 1 and at most 1000; got 0")]
    [InlineData("epochs=1001", "must be at most 1000 and at least 1; got 1001")]
    [InlineData("mask-value=1.5,integrated-gradients=none", "must be at most 1 and at least 0; got 1.5")]
    [InlineData("layers=1;-1", "must be at least 0; got -1")]
    public void Create_OutOfRange_ThrowsWithBound(string spec, string expected)
    {
        var ex = Assert.Throws<OptionBindingException>(() => MaskGradient.Create(Spec(spec)));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ValidationFails_ThrowsValidatorMessage()
    {
        var ex = Assert.Throws<OptionBindingException>(() => MaskGradient.Create(Spec("mask-value=0.5")));

        Assert.Equal("Set exactly one of mask-value and integrated-gradients (the other to none).", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("mask-value=0.25,integrated-gradients=none,seed-offset=9000000000,learning-rate=0.3,temperature=-inf")]
    [InlineData("normalize=no,mode=exact,layers=2;3;5,answer-functions=kl-div;mse-loss,answer-function=avg-val")]
    [InlineData("label=none,layers=,grad-function=log-prob,epochs=1000,temperature=0.1")]
    public void CreateFromJson_OptionsAsWrittenToScoreFiles_RecreateTheSameOptions(string spec)
    {
        var written = MaskGradient.Create(Spec(spec));
        var json = JsonSerializer.Serialize(written.Options.ToDictionary(o => o.Key, o => o.Value)); // as ScoresFile does
        using var document = JsonDocument.Parse(json);

        var read = MaskGradient.CreateFromJson(document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value));

        Assert.Equal(json, JsonSerializer.Serialize(read.Options.ToDictionary(o => o.Key, o => o.Value)));
        Assert.Equal(written.Algorithm.ToString(), read.Algorithm.ToString());
    }

    [Fact]
    public void CreateFromJson_StringWithComma_KeptWhole()
    {
        using var document = JsonDocument.Parse("""{"label": "a,b=c", "mask-value": 0.5, "integrated-gradients": null}""");

        var read = MaskGradient.CreateFromJson(document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value));

        Assert.Equal("a,b=c", read.Options.Single(o => o.Key == "label").Value);
        Assert.Equal(0.5, read.Options.Single(o => o.Key == "mask-value").Value);
    }

    [Theory]
    [InlineData("""{"grad-function": "probability"}""", "must be one of logit, prob, logit-exp, log-prob; got 'probability'")]
    [InlineData("""{"mode": "slow"}""", "must be one of fast, exact; got 'slow'")]
    [InlineData("""{"epochs": 2.5}""", "Option 'epochs' expects an integer; got '2.5'")]
    [InlineData("""{"epochs": 0}""", "must be at least 1 and at most 1000; got 0")]
    [InlineData("""{"normalize": "maybe"}""", "expects true or false; got 'maybe'")]
    [InlineData("""{"layers": {"a": 1}}""", "Option 'layers' expects a number, string, boolean, list or null")]
    [InlineData("""{"layers": [[1]]}""", "Option 'layers' expects a flat list")]
    public void CreateFromJson_BadValue_SaysWhatIsAccepted(string json, string expected)
    {
        using var document = JsonDocument.Parse(json);

        var ex = Assert.Throws<OptionBindingException>(
            () => MaskGradient.CreateFromJson(document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value)));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Splits <c>name=value,...</c> the way the host does (list items use <c>;</c>).</summary>
    private static Dictionary<string, string> Spec(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);

    /// <summary>The sample compiled once per test class and unloaded afterwards.</summary>
    public sealed class SampleAssembly : IDisposable
    {
        private readonly AssemblyLoadContext _context = new("generator-runtime-tests", isCollectible: true);

        public SampleAssembly()
        {
            var run = GeneratorHarness.Run(GeneratorHarness.Compile(Samples.Representative));
            Assert.Empty(run.Diagnostics);
            using var stream = new MemoryStream();
            var emit = run.Output.Emit(stream);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
            stream.Position = 0;

            // Abstractions resolves to the default context's copy, so the attribute type is the one we compare with.
            var assembly = _context.LoadFromStream(stream);
            Registry = (AlgorithmRegistryAttribute)Assert.Single(
                assembly.GetCustomAttributes(typeof(AlgorithmRegistryAttribute), inherit: false));
        }

        public AlgorithmRegistryAttribute Registry { get; }

        public void Dispose() => _context.Unload();
    }
}
