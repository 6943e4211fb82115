using Microsoft.CodeAnalysis;
using Xunit;
using static AutoCircuit.Generators.Tests.Infrastructure.GeneratorHarness;

namespace AutoCircuit.Generators.Tests;

/// <summary>
/// One input per rule that must produce exactly that diagnostic at the marked span, and a near miss that must
/// produce nothing and register the algorithm.
/// </summary>
public sealed class DiagnosticTests
{
    private const string Run = RunMember;

    // ACG0001

    [Fact]
    public void ACG0001_ClassWithoutInterface_ReportedAtIdentifier()
    {
        var markup = """
            [PruneAlgorithm("plain")]
            public sealed class [|Plain|] { }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0001");

        Assert.Contains("'Sample.Plain'", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("implement the interface", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0001_ClassImplementingInterfaceThroughBase_NotReported()
    {
        var source = $$"""
            public abstract class Base : IPruneAlgorithm { {{Run}} }

            [PruneAlgorithm("derived")]
            public sealed class Derived : Base { }
            """;

        AssertRegisteredWithoutDiagnostics(source, "derived");
    }

    // ACG0002

    [Fact]
    public void ACG0002_SecondClassWithSameKey_ReportedAtItsKeyNamingTheFirst()
    {
        var markup = $$"""
            [PruneAlgorithm("dup")]
            public sealed class First : IPruneAlgorithm { {{Run}} }

            [PruneAlgorithm([|"dup"|])]
            public sealed class Second : IPruneAlgorithm { {{Run}} }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0002");

        Assert.Contains("already used by 'Sample.First'", diagnostic.GetMessage(), StringComparison.Ordinal);
        var (run, _) = RunMarkup(markup);
        Assert.Contains("new global::Sample.First()", run.GeneratedSource, StringComparison.Ordinal);
        Assert.DoesNotContain("Sample.Second", run.GeneratedSource, StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0002_DistinctKeys_NotReported()
    {
        var source = $$"""
            [PruneAlgorithm("dup")]
            public sealed class First : IPruneAlgorithm { {{Run}} }

            [PruneAlgorithm("dup-2")]
            public sealed class Second : IPruneAlgorithm { {{Run}} }
            """;

        AssertRegisteredWithoutDiagnostics(source, "dup-2");
    }

    // ACG0003

    [Theory]
    [InlineData("MaskGradient")]
    [InlineData("mask_gradient")]
    [InlineData("mask--gradient")]
    [InlineData("-mask")]
    [InlineData("mask-")]
    [InlineData("mask gradient")]
    [InlineData("")]
    public void ACG0003_KeyNotKebabCase_ReportedAtKeyArgument(string key)
    {
        var markup = $$"""
            [PruneAlgorithm([|"{{key}}"|], Name = "Mask gradient")]
            public sealed class MaskGradient : IPruneAlgorithm { {{Run}} }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0003");

        Assert.Contains($"'{key}'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0003_KeyGivenByParameterName_ReportedAtThatArgument()
    {
        var markup = $$"""
            [PruneAlgorithm([|key: "Mask"|], Name = "Mask gradient")]
            public sealed class MaskGradient : IPruneAlgorithm { {{Run}} }
            """;

        AssertSingleDiagnostic(markup, "ACG0003");
    }

    [Fact]
    public void ACG0003_KebabKeyWithDigits_NotReported()
    {
        var source = $$"""
            [PruneAlgorithm("mask-gradient-2")]
            public sealed class MaskGradient : IPruneAlgorithm { {{Run}} }
            """;

        AssertRegisteredWithoutDiagnostics(source, "mask-gradient-2");
    }

    // ACG0004

    [Theory]
    [InlineData("""
        [PruneAlgorithm("a")]
        public abstract class [|A|] : IPruneAlgorithm { public abstract PruneScores Run(PruneContext context); }
        """, "is abstract")]
    [InlineData("""
        [PruneAlgorithm("a")]
        public sealed class [|A|]<T> : IPruneAlgorithm { public PruneScores Run(PruneContext context) => throw new NotImplementedException(); }
        """, "is generic")]
    [InlineData("""
        [PruneAlgorithm("a")]
        public static class [|A|] { }
        """, "is static")]
    [InlineData("""
        [PruneAlgorithm("a")]
        internal sealed class [|A|] : IPruneAlgorithm { public PruneScores Run(PruneContext context) => throw new NotImplementedException(); }
        """, "is not public")]
    [InlineData("""
        internal static class Outer
        {
            [PruneAlgorithm("a")]
            public sealed class [|A|] : IPruneAlgorithm { public PruneScores Run(PruneContext context) => throw new NotImplementedException(); }
        }
        """, "is nested in 'Sample.Outer', which is not public")]
    [InlineData("""
        public static class Outer<T>
        {
            [PruneAlgorithm("a")]
            public sealed class [|A|] : IPruneAlgorithm { public PruneScores Run(PruneContext context) => throw new NotImplementedException(); }
        }
        """, "is generic")]
    public void ACG0004_ClassCannotBeRegistered_ReportedAtIdentifier(string markup, string reason)
    {
        var diagnostic = AssertSingleDiagnostic(markup, "ACG0004");

        Assert.Contains(reason, diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0004_PublicClassNestedInPublicStaticClass_NotReported()
    {
        var source = $$"""
            public static class Outer
            {
                [PruneAlgorithm("nested")]
                public sealed class A : IPruneAlgorithm { {{Run}} }
            }
            """;

        var run = AssertRegisteredWithoutDiagnostics(source, "nested");

        Assert.Contains("algorithmTypeName: \"Sample.Outer+A\",", run.GeneratedSource, StringComparison.Ordinal); // Type.FullName
    }

    // ACG0005

    [Theory]
    [InlineData("public A(int x, int y) { }")]
    [InlineData("private A() { }")]
    [InlineData("internal A() { }")]
    [InlineData("public A(double power) { }")]
    [InlineData("public A(string name) { }")]
    [InlineData("public A(Opts options) { }")]
    [InlineData("public A(OptsStruct options) { }")]
    public void ACG0005_NoPublicParameterlessOrOptionsConstructor_ReportedAtIdentifier(string constructor)
    {
        var markup = $$"""
            public sealed class Opts { }

            public record struct OptsStruct(int Epochs);

            [PruneAlgorithm("a")]
            public sealed class [|A|] : IPruneAlgorithm
            {
                {{constructor}}

                {{Run}}
            }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0005");

        Assert.Contains("add a public parameterless constructor", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("private A(int x, int y) { }")]
    [InlineData("public A(double power) { }")]
    public void ACG0005_PublicParameterlessBesideOthers_NotReported(string other)
    {
        var source = $$"""
            [PruneAlgorithm("a")]
            public sealed class A : IPruneAlgorithm
            {
                public A() { }

                {{other}}

                {{Run}}
            }
            """;

        AssertRegisteredWithoutDiagnostics(source, "a");
    }

    // ACG0006

    [Theory]
    [InlineData("DateTime", "default")]
    [InlineData("decimal", "1m")]
    [InlineData("System.Collections.Generic.List<int>", "[]")]
    [InlineData("int?[]", "[]")]
    [InlineData("string?[]", "[]")]
    [InlineData("int[,]", "new int[0, 0]")]
    [InlineData("object", "new object()")]
    public void ACG0006_UnsupportedOptionType_ReportedAtPropertyType(string type, string initializer)
    {
        var markup = OptionsAlgorithm($$"""
            [Option("value")]
            public [|{{type}}|] Value { get; init; } = {{initializer}};
            """);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0006");

        Assert.Contains("use bool, int, long, double, float, string, an enum", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0006_ArrayOfSupportedType_NotReported()
    {
        var source = OptionsAlgorithm("""
            [Option("value")]
            public long[] Value { get; init; } = [];
            """);

        AssertRegisteredWithoutDiagnostics(source, "with-options");
    }

    // ACG0007

    [Theory]
    [InlineData("""[Option("epochs", Min = 1)] public int Epochs { get; init; } = [|0|];""", "is below its Min of 1")]
    [InlineData("""[Option("rate", Max = 1)] public double Rate { get; init; } = [|1.5|];""", "is above its Max of 1")]
    [InlineData("""[Option("rate", Min = 0)] public float? Rate { get; init; } = [|-0.5f|];""", "is below its Min of 0")]
    [InlineData("""[Option("mode", AllowedValues = new[] { "fast", "exact" })] public string Mode { get; init; } = [|"slow"|];""", "is not one of its AllowedValues (fast, exact)")]
    [InlineData("""[Option("grad")] public Grad G { get; init; } = [|(Grad)7|];""", "is not a member of enum 'Sample.Grad'")]
    public void ACG0007_ConstantDefaultOutsideConstraints_ReportedAtInitializer(string property, string reason)
    {
        var markup = OptionsAlgorithm(property);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0007");

        Assert.Contains(reason, diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[Option("epochs", Min = 1, Max = 3)] public int Epochs { get; init; } = 1;""")]
    [InlineData("""[Option("epochs", Min = 1, Max = 3)] public int Epochs { get; init; } = 3;""")]
    [InlineData("""[Option("epochs", Min = 1)] public int Epochs { get; init; } = int.Parse("0");""")]
    [InlineData("""[Option("mode", AllowedValues = new[] { "fast", "exact" })] public string Mode { get; init; } = "exact";""")]
    [InlineData("""[Option("grad")] public Grad G { get; init; } = Grad.Prob;""")]
    public void ACG0007_DefaultOnBoundOrNotConstant_NotReported(string property)
    {
        AssertRegisteredWithoutDiagnostics(OptionsAlgorithm(property), "with-options");
    }

    [Theory]
    [InlineData("""[Option("epochs", Min = 1)] public int Epochs { get; init; } = "many";""")]
    [InlineData("""[Option("mode", AllowedValues = new[] { "a" })] public string Mode { get; init; } = 5;""")]
    [InlineData("""[Option("grad")] public Grad G { get; init; } = "prob";""")]
    public void ACG0007_InitializerOfWrongType_LeftToTheCompiler(string property)
    {
        var run = Infrastructure.GeneratorHarness.Run(Compile(Prelude + OptionsAlgorithm(property)));

        Assert.NotEmpty(run.CompilerErrors);
        Assert.Empty(run.Diagnostics);
    }

    // ACG0008

    [Theory]
    [InlineData("public sealed record Opts { }", "is not marked [AlgorithmOptions]; add the attribute")]
    [InlineData("[AlgorithmOptions] public sealed class Opts { }", "is not a record class")]
    [InlineData("[AlgorithmOptions] public abstract record Opts { }", "is abstract")]
    [InlineData("[AlgorithmOptions] public sealed record Opts(int Epochs);", "has no public parameterless constructor")]
    public void ACG0008_ConstructorParameterNotAnOptionsRecord_ReportedAtParameterType(string optionsType, string reason)
    {
        var markup = $$"""
            {{optionsType}}

            [PruneAlgorithm("a")]
            public sealed class A : IPruneAlgorithm
            {
                public A([|Opts|] options) { }

                {{Run}}
            }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0008");

        Assert.Contains(reason, diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0008_OptionPropertyWithoutSetter_ReportedAtPropertyIdentifier()
    {
        var markup = OptionsAlgorithm("""
            [Option("epochs")]
            public int [|Epochs|] { get; } = 1;
            """);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0008");

        Assert.Contains("declare it as '{ get; init; }'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0008_PositionalRecordWithDefaults_NotReported()
    {
        var source = $$"""
            [AlgorithmOptions]
            public sealed record Opts([property: Option("epochs", Min = 1)] int Epochs = 3);

            [PruneAlgorithm("positional")]
            public sealed class A(Opts options) : IPruneAlgorithm
            {
                public Opts Options { get; } = options;

                {{Run}}
            }
            """;

        AssertRegisteredWithoutDiagnostics(source, "positional");
    }

    // ACG0009

    [Fact]
    public void ACG0009_OptionNameNotKebabCase_ReportedAtNameArgument()
    {
        var markup = OptionsAlgorithm("""
            [Option([|"Epochs"|])]
            public int Epochs { get; init; } = 1;
            """);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0009");

        Assert.Contains("is not kebab-case", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0009_DuplicateOptionName_ReportedAtSecondNameArgument()
    {
        var markup = OptionsAlgorithm("""
            [Option("epochs")]
            public int Epochs { get; init; } = 1;

            [Option([|"epochs"|])]
            public int Steps { get; init; } = 1;
            """);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0009");

        Assert.Contains("already used by property 'Epochs'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0009_DistinctKebabNames_NotReported()
    {
        var source = OptionsAlgorithm("""
            [Option("epochs")]
            public int Epochs { get; init; } = 1;

            [Option("steps-2")]
            public int Steps { get; init; } = 1;
            """);

        AssertRegisteredWithoutDiagnostics(source, "with-options");
    }

    // ACG0010

    [Theory]
    [InlineData("""[PruneAlgorithmPreset("P", [|"epochs=3,speed=2"|])]""", "sets option 'speed', which the algorithm does not have (its options are: epochs)")]
    [InlineData("""[PruneAlgorithmPreset("P", [|"epochs"|])]""", "not of the form name=value")]
    [InlineData("""[PruneAlgorithmPreset("P", "epochs=1")] [PruneAlgorithmPreset([|"p"|], "epochs=2")]""", "same name as an earlier preset")]
    public void ACG0010_InvalidPreset_WarningAtArgumentAndPresetLeftOut(string presets, string reason)
    {
        var markup = OptionsAlgorithm("""[Option("epochs")] public int Epochs { get; init; } = 1;""", presets);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0010");

        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains(reason, diagnostic.GetMessage(), StringComparison.Ordinal);
        var (run, _) = RunMarkup(markup);
        Assert.Contains("key: \"with-options\"", run.GeneratedSource, StringComparison.Ordinal);
        Assert.DoesNotContain("epochs=2", run.GeneratedSource, StringComparison.Ordinal);
        Assert.DoesNotContain("speed=2", run.GeneratedSource, StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0010_PresetWithKnownOptions_NotReported()
    {
        var source = OptionsAlgorithm(
            """[Option("epochs")] public int Epochs { get; init; } = 1;""",
            """[PruneAlgorithmPreset("P", "epochs=3")] [PruneAlgorithmPreset("Q", "")]""");

        AssertRegisteredWithoutDiagnostics(source, "with-options");
    }

    // ACG0011

    [Theory]
    [InlineData("epochs=0", "sets option 'epochs' to '0', which is below its Min of 1")]
    [InlineData("epochs=11", "sets option 'epochs' to '11', which is above its Max of 10")]
    [InlineData("epochs=2.5", "sets option 'epochs' to '2.5', which is not an integer")]
    [InlineData("epochs=none", "sets option 'epochs' to 'none', which is none, but the option is not nullable (it needs an integer)")]
    [InlineData("rate=-0.1", "sets option 'rate' to '-0.1', which is below its Min of 0")]
    [InlineData("rate=fast", "sets option 'rate' to 'fast', which is not a number")]
    [InlineData("rate=inf", "sets option 'rate' to 'inf', which is above its Max of 1")]
    [InlineData("grad=logits", "sets option 'grad' to 'logits', which is not one of logit, prob")]
    [InlineData("mode=slow", "sets option 'mode' to 'slow', which is not one of its AllowedValues (fast, exact)")]
    [InlineData("normalize=maybe", "sets option 'normalize' to 'maybe', which is not true or false")]
    [InlineData("layers=0;-1", "sets option 'layers' to '0;-1', which contains '-1', which is below its Min of 0")]
    [InlineData("epochs=3,rate=2", "sets option 'rate' to '2', which is above its Max of 1")]
    public void ACG0011_PresetValueTheBinderRejects_ReportedAtPresetOptions(string assignments, string reason)
    {
        var markup = OptionsAlgorithm(PresetOptions, $$"""[PruneAlgorithmPreset("P", [|"{{assignments}}"|])]""");

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0011");

        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains($"Preset 'P' of pruning algorithm 'Sample.WithOptions' {reason}", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.EndsWith("; change the value or the option's constraint", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("epochs=1")]
    [InlineData("epochs= 10 ")]
    [InlineData("rate=0,rate-or-none=none,label=none")]
    [InlineData("rate=1e-1,rate-or-none=-inf")]
    [InlineData("grad=PROB,mode=exact,normalize=yes")]
    [InlineData("layers=0;3,layers-or-none=none")]
    [InlineData("layers=")]
    public void ACG0011_PresetValueTheBinderAccepts_NotReported(string assignments)
    {
        var source = OptionsAlgorithm(PresetOptions, $$"""[PruneAlgorithmPreset("P", "{{assignments}}")]""");

        var run = AssertRegisteredWithoutDiagnostics(source, "with-options");

        Assert.Contains(assignments, run.GeneratedSource, StringComparison.Ordinal);
    }

    // ACG0012

    [Theory]
    [InlineData("""[Option("epochs", [|Min = 5|], Max = 1)] public int Epochs { get; init; } = 3;""", "Option 'epochs' on 'Sample.Opts' has Min 5 greater than its Max 1")]
    [InlineData("""[Option("rate", Max = 0.5, [|Min = 0.75|])] public double? Rate { get; init; }""", "Option 'rate' on 'Sample.Opts' has Min 0.75 greater than its Max 0.5")]
    public void ACG0012_MinGreaterThanMax_ReportedAtMinInsteadOfADefaultError(string property, string reason)
    {
        var markup = OptionsAlgorithm(property);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0012");

        Assert.Contains(reason, diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("swap them, or correct the one that is wrong", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[Option("epochs", Min = 3, Max = 3)] public int Epochs { get; init; } = 3;""")]
    [InlineData("""[Option("epochs", Min = 5)] public int Epochs { get; init; } = 7;""")]
    public void ACG0012_MinNotAboveMax_NotReported(string property)
    {
        AssertRegisteredWithoutDiagnostics(OptionsAlgorithm(property), "with-options");
    }

    // ACG0013

    [Theory]
    [InlineData("""public int [|Depth|] { get; init; } = 1;""", "Property 'Depth' of options record 'Sample.Opts'", "add [Option(\"depth\")]")]
    [InlineData("""public string? [|LogFile|] { get; set; }""", "Property 'LogFile' of options record 'Sample.Opts'", "add [Option(\"log-file\")]")]
    [InlineData("""[System.ComponentModel.Description("x")] public bool [|Fast|] { get; init; }""", "Property 'Fast'", "mark it [OptionIgnore]")]
    public void ACG0013_SettablePropertyWithoutOption_WarnedAtProperty(string property, string subject, string fix)
    {
        var markup = OptionsAlgorithm("""[Option("epochs")] public int Epochs { get; init; } = 1;""" + "\n" + property);

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0013");

        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains(subject, diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(fix, diagnostic.GetMessage(), StringComparison.Ordinal);
        var (run, _) = RunMarkup(markup);
        Assert.Contains("\"epochs\"", run.GeneratedSource, StringComparison.Ordinal); // the algorithm is still registered
    }

    [Fact]
    public void ACG0013_PositionalParameterWithoutOption_WarnedAtParameter()
    {
        var markup = $$"""
            [AlgorithmOptions]
            public sealed record Opts([property: Option("epochs")] int Epochs = 3, int [|Depth|] = 2);

            [PruneAlgorithm("positional")]
            public sealed class A(Opts options) : IPruneAlgorithm
            {
                public Opts Options { get; } = options;

                {{Run}}
            }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0013");

        Assert.Contains("Property 'Depth' of options record 'Sample.Opts'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0013_IgnoredComputedReadOnlyOrNonPublicProperties_NotReported()
    {
        var source = OptionsAlgorithm("""
            [Option("epochs")] public int Epochs { get; init; } = 1;
            [OptionIgnore] public string? Tag { get; init; }
            public int Twice => Epochs * 2;
            public int Fixed { get; } = 4;
            internal int Internal { get; init; }
            public int PrivateSetter { get; private set; }
            public static int Shared { get; set; }
            """);

        AssertRegisteredWithoutDiagnostics(source, "with-options");
    }

    // ACG0014

    [Fact]
    public void ACG0014_AlgorithmPatchingWholeBatchesWithoutDeclaration_WarnedAtIdentifier()
    {
        var markup = """
            [PruneAlgorithm("whole-batches")]
            public sealed class [|WholeBatches|] : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context)
                {
                    var scores = context.Model.NewPruneScores();
                    foreach (var batch in context.TrainBatches)
                    {
                        using var outs = context.Model.SourceAblations(batch.Clean);
                    }

                    return scores;
                }
            }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG0014", reportMemoryBudget: true);

        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains("Pruning algorithm 'Sample.WholeBatches' does not say how it keeps to the patch memory budget", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("set MemoryBudget on its [PruneAlgorithm]: BatchSeparable", diagnostic.GetMessage(), StringComparison.Ordinal);
        var (run, _) = RunMarkup(markup, reportMemoryBudget: true);
        Assert.Contains("memoryBudget: global::AutoCircuit.MemoryBudgetSupport.Undeclared", run.GeneratedSource, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BatchSeparable")]
    [InlineData("ChunksItself")]
    [InlineData("NoPatching")]
    [InlineData("Unsupported")]
    public void ACG0014_Declared_NotReportedAndRecorded(string support)
    {
        var source = $$"""
            [PruneAlgorithm("declared", MemoryBudget = MemoryBudgetSupport.{{support}})]
            public sealed class Declared : IPruneAlgorithm { {{Run}} }
            """;

        var run = AssertRegisteredWithoutDiagnostics(source, "declared", reportMemoryBudget: true);

        Assert.Contains($"memoryBudget: global::AutoCircuit.MemoryBudgetSupport.{support})", run.GeneratedSource, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("foreach (var chunk in context.Model.RowChunks(context.TrainBatches[0])) { }")]
    [InlineData("using var a = ChunkedAblations.FromDatasetMean(context.Model, null!);")]
    [InlineData("var rows = ((IPatchMemoryBudget)context.Model).MaxPatchRows(context.TrainBatches[0]);")]
    [InlineData("var rows = PatchableModelExtensions.RowChunks(context.Model, context.TrainBatches[0]);")]
    public void ACG0014_UndeclaredButCallsTheChunkingApi_NotReportedAndRecordedAsChunksItself(string statement)
    {
        var source = $$"""
            [PruneAlgorithm("chunks")]
            public sealed partial class Chunks : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context)
                {
                    {{statement}}
                    return context.Model.NewPruneScores();
                }
            }
            """;

        var run = AssertRegisteredWithoutDiagnostics("using AutoCircuit.Patching;\n" + source, "chunks", reportMemoryBudget: true);

        Assert.Contains("memoryBudget: global::AutoCircuit.MemoryBudgetSupport.ChunksItself)", run.GeneratedSource, StringComparison.Ordinal);
    }

    [Fact]
    public void ACG0014_AMethodOfTheSameNameOnAnotherType_DoesNotCountAsTheChunkingApi()
    {
        var markup = $$"""
            public static class MyHelpers
            {
                public static int RowChunks(this IPruneAlgorithm algorithm) => 1;
            }

            [PruneAlgorithm("look-alike")]
            public sealed class [|LookAlike|] : IPruneAlgorithm
            {
                public int Chunks => this.RowChunks();

                {{Run}}
            }
            """;

        AssertSingleDiagnostic(markup, "ACG0014", reportMemoryBudget: true);
    }

    // ACG9999

    [Fact]
    public void ACG9999_ParserThrows_ReportedAtIdentifierAndRegistryStillEmitted()
    {
        var generator = new AlgorithmRegistryGenerator
        {
            OnParsing = _ => throw new InvalidOperationException("boom"),
        };
        var markup = $$"""
            [PruneAlgorithm("a")]
            public sealed class [|A|] : IPruneAlgorithm { {{Run}} }
            """;

        var diagnostic = AssertSingleDiagnostic(markup, "ACG9999", generator);

        Assert.Contains("System.InvalidOperationException: boom", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("please report this", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    /// <summary>Options of every kind for the preset-value tests (ACG0011).</summary>
    private const string PresetOptions = """
        [Option("epochs", Min = 1, Max = 10)] public int Epochs { get; init; } = 1;
        [Option("rate", Min = 0, Max = 1)] public double Rate { get; init; } = 0.5;
        [Option("rate-or-none", Max = 1)] public float? RateOrNone { get; init; }
        [Option("grad")] public Grad Grad { get; init; } = Grad.Logit;
        [Option("mode", AllowedValues = new[] { "fast", "exact" })] public string Mode { get; init; } = "fast";
        [Option("label")] public string? Label { get; init; }
        [Option("normalize")] public bool Normalize { get; init; }
        [Option("layers", Min = 0)] public int[] Layers { get; init; } = [];
        [Option("layers-or-none")] public long[]? LayersOrNone { get; init; }
        """;

    /// <summary>An options record with <paramref name="members"/> and an algorithm <c>with-options</c> taking it.</summary>
    private static string OptionsAlgorithm(string members, string presets = "") => $$"""
        public enum Grad { Logit, Prob }

        [AlgorithmOptions]
        public sealed record Opts
        {
            {{members}}
        }

        [PruneAlgorithm("with-options")]
        {{presets}}
        public sealed class WithOptions(Opts options) : IPruneAlgorithm
        {
            public Opts Options { get; } = options;

            {{Run}}
        }
        """;
}
