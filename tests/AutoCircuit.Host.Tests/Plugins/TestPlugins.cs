using Microsoft.CodeAnalysis;
using static AutoCircuit.Host.Tests.Plugins.TestPluginBuilder;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// Plugin folders for the loading and CLI tests, built once per test class into a temporary folder:
/// <list type="bullet">
/// <item><see cref="Good"/>: the sample plugin (built by the solution, copied from <c>plugins/SamplePlugin</c>) and
/// plugins that load fine but whose algorithms misbehave (throw, NaN scores, a dependency that is missing only when
/// the algorithm is created).</item>
/// <item><see cref="Broken"/>: plugins that cannot be loaded, one per reason.</item>
/// <item><see cref="Duplicates"/>: plugins whose keys collide with a built-in and with each other.</item>
/// </list>
/// The folders are built once per test run (<see cref="Shared"/>) and deleted when the process exits.
/// </summary>
public sealed class TestPlugins
{
    public const string ThrowingMessage = "deliberate failure inside a plugin";

    private static readonly Lazy<TestPlugins> s_shared = new(() => new TestPlugins());

    private TestPlugins()
    {
        Root = Directory.CreateTempSubdirectory("ac-plugins-").FullName;
        Good = Path.Combine(Root, "good");
        Broken = Path.Combine(Root, "broken");
        Duplicates = Path.Combine(Root, "duplicates");
        Faulty = Path.Combine(Root, "faulty");
        BuildFaulty();

        CopyDirectory(SampleOutput, Path.Combine(Good, "SamplePlugin"));
        Build(Good, "ConstantPlugin", Usings + """
            namespace Constant;

            [AlgorithmOptions]
            public sealed record ConstantOptions
            {
                [Option("value", Description = "The score of every edge.")]
                public double Value { get; init; } = 0.5;
            }

            [PruneAlgorithm("test-constant", Description = "Every edge scores the same.")]
            public sealed class Constant(ConstantOptions options) : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => context.Model.NewPruneScores(options.Value);
            }
            """);
        Build(Good, "ThrowingPlugin", Usings + $$"""
            namespace Throwing;

            [PruneAlgorithm("test-throws")]
            public sealed class Throws : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => throw new InvalidOperationException("{{ThrowingMessage}}");
            }
            """);
        // Ships its own copies of the contract and TorchSharp (as a plugin built without ExcludeAssets="runtime" does):
        // shared types make it use the host's, so its registry and tensors are the host's types.
        Build(Good, "BundledContractPlugin", Usings + """
            namespace Bundled;

            [PruneAlgorithm("test-bundled")]
            public sealed class Bundled : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context)
                {
                    var scores = context.Model.NewPruneScores();
                    foreach (var destination in scores.Destinations)
                    {
                        // Tensors made by the plugin's own TorchSharp calls must be the host's tensors.
                        using var ones = TorchSharp.torch.ones(destination.Shape, device: context.Device);
                        using var value = ones * (destination.Destination.Index + 1);
                        destination.Add(value);
                    }

                    return scores;
                }
            }
            """);
        foreach (var contract in new[] { typeof(IPruneAlgorithm).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location })
        {
            File.Copy(contract, Path.Combine(Good, "BundledContractPlugin", Path.GetFileName(contract)));
        }

        Build(Good, "NanPlugin", Usings + """
            namespace Nan;

            [PruneAlgorithm("test-nan")]
            public sealed class NanScores : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => context.Model.NewPruneScores(double.NaN);
            }
            """);

        // Loads fine (the registry never touches the algorithm's type), but creating the algorithm needs its base
        // class from a helper assembly that was not deployed.
        var helper = HelperReference();
        Build(Good, "LateMissingDependencyPlugin", Usings + """
            namespace LateMissing;

            [PruneAlgorithm("test-late-missing")]
            public sealed class Late : Helper.AlgorithmBase
            {
            }
            """, references: [helper]);

        Build(Broken, "MissingDependencyPlugin", Usings + """
            namespace Missing;

            [AlgorithmOptions]
            public sealed record MissingOptions : Helper.OptionsBase
            {
                [Option("width")]
                public int Width { get; init; } = 2;
            }

            [PruneAlgorithm("test-missing-dependency")]
            public sealed class Missing(MissingOptions options) : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => context.Model.NewPruneScores(options.Width);
            }
            """, references: [helper]);
        Build(Broken, "ThrowsWhileLoadingPlugin", Usings + """
            namespace ThrowsWhileLoading;

            internal static class Startup
            {
                [System.Runtime.CompilerServices.ModuleInitializer]
                internal static void Initialize() => throw new InvalidOperationException("plugin start-up failed");
            }

            [PruneAlgorithm("test-throws-while-loading")]
            public sealed class Algorithm : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => context.Model.NewPruneScores();
            }
            """);
        Build(Broken, "ThrowingRegistryPlugin", HandWrittenRegistry("throw new InvalidOperationException(\"registry exploded\")", "\"1.0.0.0\""), runGenerator: false);
        Build(Broken, "BadVersionRegistryPlugin", HandWrittenRegistry("Array.Empty<AlgorithmDescriptor>()", "\"one point oh\""), runGenerator: false);
        Build(Broken, "NewerSdkRegistryPlugin", HandWrittenRegistry("Array.Empty<AlgorithmDescriptor>()", "\"2.0.0.0\""), runGenerator: false);
        Build(Broken, "BadKeyRegistryPlugin", HandWrittenRegistry(
            "new[] { new AlgorithmDescriptor(\"Not_Kebab\", \"n\", \"n\", \"\", false, Array.Empty<OptionDescriptor>(), Array.Empty<AlgorithmPreset>(), _ => throw new NotSupportedException()) }",
            "\"1.0.0.0\""), runGenerator: false);
        Build(Broken, "NoRegistryPlugin", Usings + """
            namespace NoRegistry;

            public sealed class NotAnAlgorithm
            {
                public IPruneAlgorithm? Algorithm { get; set; }
            }
            """, runGenerator: false);
        Build(Broken, "NotAPluginLibrary", "namespace Plain; public static class Library { public static int Answer => 42; }", runGenerator: false);
        Build(Broken, "FutureSdkPlugin", """
            namespace Future;

            public sealed class Algorithm : AutoCircuit.IPruneAlgorithm
            {
            }
            """, runGenerator: false, references: [FutureAbstractions()], replaceAbstractions: true);
        Directory.CreateDirectory(Path.Combine(Broken, "NotAnAssembly"));
        File.WriteAllText(Path.Combine(Broken, "NotAnAssembly", "NotAnAssembly.dll"), "not a PE file");
        Directory.CreateDirectory(Path.Combine(Broken, "EmptyFolder"));

        Build(Duplicates, "DuplicateA", DuplicatePlugin("A", "test-duplicate"));
        Build(Duplicates, "DuplicateB", DuplicatePlugin("B", "test-duplicate"));
        Build(Duplicates, "ShadowsBuiltIn", DuplicatePlugin("Shadow", "activation-magnitude"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete();
    }

    /// <summary>The sample plugin's build output, copied next to the tests by the test project.</summary>
    public static string SampleOutput => Path.Combine(AutoCircuit.Testing.TestFixtures.OutputDirectory, "plugins", "SamplePlugin");

    public string Root { get; }

    public string Good { get; }

    public string Broken { get; }

    public string Duplicates { get; }

    /// <summary>Plugins whose algorithms fail the hard way: a managed OutOfMemoryException, Environment.Exit, a stack
    /// overflow (the last two only under process isolation: they end the process they run in).</summary>
    public string Faulty { get; }

    private void BuildFaulty()
    {
        Build(Faulty, "OomPlugin", Usings + """
            namespace Oom;

            [PruneAlgorithm("test-oom")]
            public sealed class Oom : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => throw new OutOfMemoryException("deliberate: the plugin ran out of memory");
            }
            """);
        Build(Faulty, "ExitPlugin", Usings + """
            namespace Exit;

            [PruneAlgorithm("test-exit")]
            public sealed class Exit : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context)
                {
                    Environment.Exit(0);
                    return null!;
                }
            }
            """);
        Build(Faulty, "StackOverflowPlugin", Usings + """
            namespace Overflow;

            [PruneAlgorithm("test-stack-overflow")]
            public sealed class Overflow : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => Recurse(context, 0);

                // Not a tail call (the result is used after the call), so every level takes stack.
                private static PruneScores Recurse(PruneContext context, long depth)
                {
                    var inner = depth < long.MaxValue ? Recurse(context, depth + 1) : null;
                    return inner ?? context.Model.NewPruneScores(depth);
                }
            }
            """);
    }

    /// <summary>The plugin folders, built on first use.</summary>
    public static TestPlugins Shared => s_shared.Value;

    private void Delete()
    {
        // Loaded plugin assemblies stay mapped until the process ends; deleting their files is still fine on Linux.
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A plugin with a registry written by hand (as a broken or foreign tool might), not by our generator.</summary>
    private static string HandWrittenRegistry(string algorithms, string sdkVersion) => Usings + $$"""
        [assembly: HandWritten.Registry]

        namespace HandWritten;

        public sealed class Registry : AlgorithmRegistryAttribute
        {
            public override IReadOnlyList<AlgorithmDescriptor> Algorithms => {{algorithms}};

            public override string SdkVersion => {{sdkVersion}};
        }
        """;

    private static string DuplicatePlugin(string name, string key) => Usings + $$"""
        namespace Duplicate{{name}};

        [PruneAlgorithm("{{key}}", Name = "Duplicate {{name}}")]
        public sealed class Algorithm : IPruneAlgorithm
        {
            public PruneScores Run(PruneContext context) => context.Model.NewPruneScores(1);
        }
        """;

    /// <summary>A helper assembly the plugins reference but whose file is never deployed beside them.</summary>
    private static MetadataReference HelperReference() => MetadataReference.CreateFromImage(Compile("Helper", Usings + """
        namespace Helper;

        public record OptionsBase
        {
            [Option("depth")]
            public int Depth { get; init; } = 1;
        }

        public abstract class AlgorithmBase : IPruneAlgorithm
        {
            public PruneScores Run(PruneContext context) => context.Model.NewPruneScores();
        }
        """, runGenerator: false));

    /// <summary>A stand-in for a future AutoCircuit.Abstractions 2.0.0.0 that a plugin could be built against.</summary>
    private static MetadataReference FutureAbstractions() => MetadataReference.CreateFromImage(Compile("AutoCircuit.Abstractions", """
        [assembly: System.Reflection.AssemblyVersion("2.0.0.0")]

        namespace AutoCircuit;

        public interface IPruneAlgorithm
        {
        }
        """, runGenerator: false, replaceAbstractions: true));

    private static void CopyDirectory(string from, string to)
    {
        if (!File.Exists(Path.Combine(from, "SamplePlugin.dll")))
        {
            throw new InvalidOperationException($"The sample plugin was not copied to {from}; the test project's build copies it there.");
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
