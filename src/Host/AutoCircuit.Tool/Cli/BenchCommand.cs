using System.CommandLine;
using System.Text.Json;
using AutoCircuit.Bench;
using AutoCircuit.Bench.Outputs;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit bench</c>: the patching engine's cost ratios on GPT-2-shaped random models.</summary>
internal static class BenchCommand
{
    internal static readonly Option<bool> QuickOption = new("--quick")
    {
        Description = "Only the small shape, 3 repetitions (a smoke run of a few seconds).",
    };

    internal static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print one JSON object on stdout instead of a Markdown table.",
    };

    internal static readonly Option<bool> MemoryOnlyOption = new("--memory-only")
    {
        Description = "Only measure the memory of one mask-gradient batch per shape (peak resident memory and source buffers; " +
                      "Linux), e.g. --shape 36x20x1280 --batch 8 --seq 32 --memory-only.",
    };

    internal static readonly Option<string[]> ShapeOption = new("--shape")
    {
        Description = "Model shape(s) to measure, in order: small (2x4x64), gpt2 (12x12x768) or LAYERSxHEADSxDMODEL. " +
                      "Default: small, then gpt2.",
        HelpName = "SHAPE",
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal static readonly Option<int?> BatchOption = new("--batch")
    {
        Description = "Prompts per batch (default: 8 for small, 4 otherwise).",
    };

    internal static readonly Option<int?> SeqOption = new("--seq")
    {
        Description = "Tokens per prompt (default: 16).",
    };

    internal static readonly Option<int?> VocabOption = new("--vocab")
    {
        Description = "Vocabulary size (default: 512 for small, 8192 otherwise; GPT-2's is 50257).",
    };

    internal static readonly Option<bool> VsAutoCircuitOption = new("--vs-auto-circuit")
    {
        Description = "Our side of the head-to-head with auto-circuit (tools/perf-vs-auto-circuit): auto-circuit's MicroModel(n_layers), " +
                      "256 prompt pairs in 4 batches of 64, the workloads of --workloads, timings and checksums (with --json: the harness's JSON).",
    };

    internal static readonly Option<int> LayersOption = new("--n-layers")
    {
        Description = "With --vs-auto-circuit: layers of the micro model.",
        DefaultValueFactory = _ => 2,
    };

    internal static readonly Option<int> WarmupOption = new("--warmup")
    {
        Description = "With --vs-auto-circuit: untimed repetitions before the timed ones.",
        DefaultValueFactory = _ => 1,
    };

    internal static readonly Option<string> WorkloadsOption = new("--workloads")
    {
        Description = "With --vs-auto-circuit: all, or some of construct, forward, patched_forward, activation_magnitude, mask_gradient, " +
                      "integrated_gradients, run_circuits, acdc (comma-separated).",
        DefaultValueFactory = _ => "all",
    };

    internal static readonly Option<string?> DatasetOption = new("--dataset")
    {
        Description = "With --vs-auto-circuit: the harness's dataset file (default: generated, the same bytes).",
    };

    internal static readonly Option<int> RepetitionsOption = new("--repetitions", "-r", "--reps")
    {
        Description = "Timed repetitions per operation (after one warm-up).",
        DefaultValueFactory = _ => 5,
    };

    internal static readonly Option<string> QkvOption = new("--qkv")
    {
        Description = "Attention destinations of the benchmark graphs: separate (a Q, a K and a V input per head, " +
                      "auto-circuit's separate_qkv=True; 37 destination rows per GPT-2 layer) or joint (one input per head; 13 rows).",
        DefaultValueFactory = _ => "separate",
    };

    internal static readonly Option<string> DeviceOption = new("--device")
    {
        Description = "cpu (default), cuda or cuda:N.",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var performanceOptions = new PerformanceOptions();
        var command = new Command(
            "bench",
            "Measure the patching engine on GPT-2-shaped random models: patched forward / forward, mask-gradient per batch / " +
            "(2 forwards + 1 backward), ACDC per tested edge / forward, circuit evaluation per size / forward, and the peak " +
            "source-output buffers / (n_src x batch x seq x d_model x bytes). Medians and quartiles over repetitions; progress " +
            "on stderr, results on stdout.")
        {
            QuickOption, JsonOption, MemoryOnlyOption, ShapeOption, BatchOption, SeqOption, VocabOption, RepetitionsOption,
            performanceOptions.Threads, performanceOptions.MaxPatchMemory, performanceOptions.BufferDType, QkvOption, DeviceOption,
            VsAutoCircuitOption, LayersOption, WarmupOption, WorkloadsOption, DatasetOption,
        };
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var quick = parse.GetValue(QuickOption);
            var names = parse.GetValue(ShapeOption) is { Length: > 0 } s ? s : quick ? ["small"] : ["small", "gpt2"];
            var shapes = names.Select(BenchShape.Parse).Select(shape => shape with
            {
                Batch = parse.GetValue(BatchOption) ?? shape.Batch,
                Seq = parse.GetValue(SeqOption) ?? shape.Seq,
                Vocab = parse.GetValue(VocabOption) ?? shape.Vocab,
            }).ToList();
            var reps = quick && parse.GetResult(RepetitionsOption) is not { Implicit: false } ? 3 : parse.GetValue(RepetitionsOption);
            if (reps < 1)
            {
                throw new AutoCircuitException($"--repetitions {reps}: expected at least 1.");
            }

            var separateQkv = parse.GetValue(QkvOption)?.Trim().ToLowerInvariant() switch
            {
                "separate" => true,
                "joint" => false,
                var other => throw new AutoCircuitException($"--qkv {other}: expected separate or joint."),
            };
            var performance = performanceOptions.Parse(parse);
            if (parse.GetValue(VsAutoCircuitOption))
            {
                var settings = new VsAutoCircuitSettings(
                    parse.GetValue(LayersOption), performance.Threads, parse.GetResult(RepetitionsOption) is { Implicit: false } ? reps : 5,
                    parse.GetValue(WarmupOption), VsAutoCircuit.ParseWorkloads(parse.GetValue(WorkloadsOption)), parse.GetValue(DatasetOption));
                var file = VsAutoCircuit.Run(settings, error, token);
                output.WriteLine(parse.GetValue(JsonOption)
                    ? JsonSerializer.Serialize(file, BenchJsonContext.Compact.VsAutoCircuitFile)
                    : VsAutoCircuit.ToMarkdown(file));
                return ExitCode.Ok;
            }

            var device = DeviceSelector.Resolve(parse.GetValue(DeviceOption));
            TorchThreading.Apply(performance.Threads, shapes.Max(x => x.Parameters));
            if (parse.GetValue(MemoryOnlyOption))
            {
                foreach (var shape in shapes)
                {
                    token.ThrowIfCancellationRequested();
                    error.WriteLine($"bench: memory of one mask-gradient batch on {shape.Describe()}");
                    var memory = MemoryReport.Measure(shape, device, performance.PatchOptions, separateQkv);
                    output.WriteLine(parse.GetValue(JsonOption) ? memory.ToJson() : memory.ToString());
                }

                return ExitCode.Ok;
            }

            var report = BenchRunner.Run(new BenchSettings(shapes, reps, device, PatchOptions: performance.PatchOptions, SeparateQkv: separateQkv), error, token);
            output.Write(parse.GetValue(JsonOption) ? report.ToJson() + Environment.NewLine : report.ToMarkdown());
            return ExitCode.Ok;
        })));
        return command;
    }
}
