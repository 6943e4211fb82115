using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AutoCircuit.Algorithms.Acdc;
using AutoCircuit.Algorithms.ActivationMagnitude;
using AutoCircuit.Algorithms.MaskGradient;
using AutoCircuit.Bench.Outputs;
using AutoCircuit.Data;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Bench;

/// <summary>What <c>bench --vs-auto-circuit</c> runs (the arguments of <c>tools/perf-vs-auto-circuit/run.py</c>).</summary>
/// <param name="NLayers">Layers of the micro model.</param>
/// <param name="Threads">libtorch intra-op threads, or <c>null</c> for the thread policy's choice.</param>
/// <param name="Reps">Timed repetitions per workload.</param>
/// <param name="Warmup">Untimed repetitions before them.</param>
/// <param name="Workloads">Workloads to run (names of <see cref="VsAutoCircuit.AllWorkloads"/>), in that order.</param>
/// <param name="DatasetPath">The dataset file, or <c>null</c> for the generated one (<see cref="VsAutoCircuit.GenerateDataset"/>).</param>
internal sealed record VsAutoCircuitSettings(int NLayers, int? Threads, int Reps, int Warmup, IReadOnlyList<string> Workloads, string? DatasetPath);

/// <summary>
/// Our side of the head-to-head with auto-circuit (<c>tools/perf-vs-auto-circuit/README.md</c>): auto-circuit's
/// <c>MicroModel(n_layers)</c>, its factorized graph, 256 prompt pairs in 4 batches of 64, and eight workloads timed
/// as auto-circuit's side times them, each with a checksum of what it computed (equal to auto-circuit's; the
/// harness compares them).
/// </summary>
internal static class VsAutoCircuit
{
    /// <summary>The workloads, in the order they run.</summary>
    public static readonly IReadOnlyList<string> AllWorkloads =
        ["construct", "forward", "patched_forward", "activation_magnitude", "mask_gradient", "integrated_gradients", "run_circuits", "acdc"];

    /// <summary>Prompt pairs used.</summary>
    public const int Prompts = 256;

    /// <summary>Prompts per batch.</summary>
    public const int BatchSize = 64;

    /// <summary>Integrated-gradient steps (11 mask values).</summary>
    public const int IgSamples = 10;

    /// <summary>run_circuits' score multiplier (prime to every n_edges).</summary>
    public const int ScoreMultiplier = 7919;

    private const ulong DatasetSeed = 17;

    /// <summary>Parses <c>--workloads</c>: <c>all</c> or a comma-separated subset.</summary>
    /// <exception cref="AutoCircuitException">An unknown name.</exception>
    public static IReadOnlyList<string> ParseWorkloads(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() == "all")
        {
            return AllWorkloads;
        }

        var asked = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = asked.Where(w => !AllWorkloads.Contains(w)).ToList();
        return unknown.Count > 0
            ? throw new AutoCircuitException($"--workloads {text}: unknown {string.Join(", ", unknown)}; expected all or some of {string.Join(", ", AllWorkloads)}.")
            : AllWorkloads.Where(asked.Contains).ToList();
    }

    /// <summary>
    /// The harness's dataset, byte for byte as <c>auto_circuit_side.py --write-dataset</c> writes it: per prompt, six
    /// clean values, six corrupt ones (position-major) and the answer, from splitmix64 started at 17; a value is
    /// <c>(r mod 385 - 192) / 64</c>, the answer <c>r mod 2</c>; Python's <c>json.dumps</c> with compact separators.
    /// </summary>
    public static byte[] GenerateDataset(int prompts = Prompts)
    {
        var state = DatasetSeed;
        ulong Next()
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        string Value() => PythonFloat(((long)(Next() % 385) - 192) / 64.0);
        string Vectors() => "[" + string.Join(",", Enumerable.Range(0, 3).Select(_ => $"[{Value()},{Value()}]")) + "]";

        var sb = new StringBuilder("{\"prompts\":[");
        for (var i = 0; i < prompts; i++)
        {
            var clean = Vectors();
            var corrupt = Vectors();
            var answer = (int)(Next() % 2);
            sb.Append(i == 0 ? string.Empty : ",")
                .Append(CultureInfo.InvariantCulture, $"{{\"clean\":{clean},\"corrupt\":{corrupt},\"answers\":[{answer}],\"wrong_answers\":[{1 - answer}]}}");
        }

        sb.Append("]}\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Runs the asked workloads; progress on <paramref name="log"/>.</summary>
    public static VsAutoCircuitFile Run(VsAutoCircuitSettings settings, TextWriter log, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        if (settings.NLayers < 1)
        {
            throw new AutoCircuitException($"--n-layers {settings.NLayers}: expected at least 1.");
        }

        if (settings.Reps < 1 || settings.Warmup < 0)
        {
            throw new AutoCircuitException($"--repetitions {settings.Reps} --warmup {settings.Warmup}: expected at least 1 repetition and no negative warm-up.");
        }

        var raw = settings.DatasetPath is null ? GenerateDataset() : File.ReadAllBytes(settings.DatasetPath);
        var threads = TorchThreading.Apply(settings.Threads, 4L * settings.NLayers); // the micro model: a 2 x 2 weight per layer;
        using var h = new Harness(settings.NLayers, raw, settings.DatasetPath ?? "generated");
        log.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"bench --vs-auto-circuit: micro model, {settings.NLayers} layers, {h.Model.Graph.EdgeCount} edges, {threads} thread(s), " +
            $"{settings.Reps} reps after {settings.Warmup} warm-up"));
        var results = new Dictionary<string, VsAutoCircuitWorkload>(StringComparer.Ordinal);
        foreach (var name in settings.Workloads)
        {
            token.ThrowIfCancellationRequested();
            var before = MachineInfo.LoadAverages();
            var (samples, checksum) = h.Measure(name, settings.Warmup, settings.Reps);
            var stat = Stat.Of(samples);
            results[name] = new VsAutoCircuitWorkload
            {
                Ms = new VsAutoCircuitMs { Median = stat.Median, Q1 = stat.Q1, Q3 = stat.Q3, Min = stat.Min, Max = stat.Max, Samples = [.. samples] },
                Checksum = checksum,
                Loadavg = before is null || MachineInfo.LoadAverages() is not { } after ? null : [before, after],
            };
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench --vs-auto-circuit:   {name}: median {stat.Median:0.000} ms"));
        }

        return new VsAutoCircuitFile
        {
            Schema = 1,
            Side = "autocircuit-dotnet",
            NLayers = settings.NLayers,
            Threads = settings.Threads ?? threads,
            Reps = settings.Reps,
            Warmup = settings.Warmup,
            Graph = new VsAutoCircuitGraph { NSrcs = h.Model.Graph.Srcs.Count, NDests = h.Model.Graph.Dests.Count, NEdges = h.Model.Graph.EdgeCount },
            Dataset = new VsAutoCircuitDataset { Prompts = Prompts, BatchSize = BatchSize, Batches = Prompts / BatchSize, Sha256 = Convert.ToHexStringLower(SHA256.HashData(raw)) },
            Workloads = results,
            Env = new VsAutoCircuitEnv
            {
                Version = ToolVersions.Current(withAbstractions: false).Autocircuit ?? "?",
                Torch = "TorchSharp " + (typeof(torch).Assembly.GetName().Version?.ToString() ?? "?"),
                NumThreads = threads,
                PassThreads = torch.get_num_threads(),
                NumInteropThreads = torch.get_num_interop_threads(),
                Device = "cpu",
                ThreadingEnv = TorchThreading.ThreadingEnvironment(),
                OpenmpLoadedBeforePolicy = OpenMpEnvironment.LoadedBefore,
                NativeHeap = NativeHeap.State,
            },
        };
    }

    /// <summary>A Markdown table of a result (without <c>--json</c>).</summary>
    public static string ToMarkdown(VsAutoCircuitFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"micro model, {file.NLayers} layers ({file.Graph.NEdges} edges), {file.Env.NumThreads} thread(s), {file.Reps} reps\n\n");
        sb.Append("| workload | median ms | q1 | q3 |\n|---|---:|---:|---:|\n");
        foreach (var (name, w) in file.Workloads)
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {name} | {w.Ms.Median:0.000} | {w.Ms.Q1:0.000} | {w.Ms.Q3:0.000} |\n");
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>repr</c> of a float that is a short exact decimal (always with a point).</summary>
    private static string PythonFloat(double v)
    {
        var s = v.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.', StringComparison.Ordinal) || s.Contains('E', StringComparison.Ordinal) ? s : s + ".0";
    }

    /// <summary>One patchable micro model and the batches, reused by every workload (as auto-circuit's side does).</summary>
    private sealed class Harness : IDisposable
    {
        private readonly int _layers;
        private readonly MicroModel _micro;
        private readonly TaskData _data;

        public Harness(int layers, byte[] dataset, string source)
        {
            _layers = layers;
            var document = DatasetDocument.Parse(dataset, source);
            if (document.Prompts.Count < Prompts)
            {
                throw new AutoCircuitException($"{source}: has {document.Prompts.Count} prompts; the benchmark needs {Prompts}.");
            }

            _data = TaskData.Build(document, new DataOptions(BatchSize, Prompts, 0, Shuffle: false, PrependBos: false), new NumericPromptEncoder(2), 2, torch.CPU);
            (_micro, Model) = Build(layers);
        }

        public PatchableModel Model { get; }

        private IReadOnlyList<PromptBatch> Batches => _data.Train;

        public (List<double> Samples, JsonObject Checksum) Measure(string name, int warmup, int reps) => name switch
        {
            "construct" => Time(warmup, reps, () => Build(_layers), ConstructChecksum),
            "forward" => Time(warmup, reps, Forward, OutputsChecksum),
            "patched_forward" => PatchedForward(warmup, reps),
            "activation_magnitude" => Time(warmup, reps, () => new ActivationMagnitude().Run(Context(Batches)), ScoresChecksum),
            "mask_gradient" => Time(warmup, reps, () => new MaskGradient(new MaskGradientOptions()).Run(Context(Batches)), ScoresChecksum),
            "integrated_gradients" => Time(
                warmup, reps, () => new MaskGradient(new MaskGradientOptions { IntegratedGradients = IgSamples }).Run(Context(Batches)), ScoresChecksum),
            "run_circuits" => RunCircuits(warmup, reps),
            "acdc" => Time(
                warmup, reps, () => new Acdc(new AcdcOptions { TauBases = [1], TauExps = [-1] }).Run(Context([Batches[0]])), AcdcChecksum),
            _ => throw new AutoCircuitException($"Unknown workload {name}."),
        };

        public void Dispose()
        {
            Model.Dispose();
            _micro.Dispose();
            _data.Dispose();
        }

        private static (MicroModel, PatchableModel) Build(int layers)
        {
            var micro = new MicroModel(layers);
            return (micro, PatchableModel.Create(micro, new GraphOptions(Factorized: true)));
        }

        /// <summary>Runs <paramref name="work"/> warm-up + timed times, each in its own dispose scope (opened and closed
        /// outside the clock); the checksum is of the last repetition's result.</summary>
        private static (List<double>, JsonObject) Time<T>(int warmup, int reps, Func<T> work, Func<T, JsonObject> checksum)
        {
            var samples = new List<double>();
            JsonObject? sum = null;
            for (var r = 0; r < warmup + reps; r++)
            {
                using var scope = torch.NewDisposeScope();
                var sw = Stopwatch.StartNew();
                var result = work();
                var ms = sw.Elapsed.TotalMilliseconds;
                if (r >= warmup)
                {
                    samples.Add(ms);
                }

                if (r == warmup + reps - 1)
                {
                    sum = checksum(result);
                }

                DisposeResult(result);
            }

            return (samples, sum!);
        }

        private static void DisposeResult(object? result)
        {
            switch (result)
            {
                case IDisposable d:
                    d.Dispose();
                    break;
                case (IDisposable a, IDisposable b):
                    b.Dispose();
                    a.Dispose();
                    break;
            }
        }

        private static JsonObject ConstructChecksum((MicroModel Micro, PatchableModel Model) built) => new()
        {
            ["n_srcs"] = built.Model.Graph.Srcs.Count,
            ["n_dests"] = built.Model.Graph.Dests.Count,
            ["n_edges"] = built.Model.Graph.EdgeCount,
        };

        private PruneContext Context(IReadOnlyList<PromptBatch> batches) => new() { Model = Model, TrainBatches = batches, Seed = 0 };

        private Outputs Forward()
        {
            using var inference = torch.inference_mode();
            return new Outputs([.. Batches.Select(b => Model.Run(b.Clean))], Batches);
        }

        private (List<double>, JsonObject) PatchedForward(int warmup, int reps)
        {
            var ablations = new List<Tensor>();
            try
            {
                using (torch.inference_mode())
                {
                    ablations.AddRange(Batches.Select(b => Model.SourceAblations(b.Corrupt).DetachFromDisposeScope()));
                }

                SetPatternMasks();
                return Time(warmup, reps, () =>
                {
                    using var inference = torch.inference_mode();
                    var outs = new List<Tensor>();
                    for (var b = 0; b < Batches.Count; b++)
                    {
                        using var patch = Model.PatchMode(ablations[b]);
                        outs.Add(Model.Run(Batches[b].Clean));
                    }

                    return new Outputs(outs, Batches);
                }, OutputsChecksum);
            }
            finally
            {
                Model.SetAllMasks(0);
                foreach (var a in ablations)
                {
                    a.Dispose();
                }
            }
        }

        /// <summary>Mask element (d, h, s) = ((3 s + 5 h + 7 d) mod 8) / 8, d the module's position in graph order.</summary>
        private void SetPatternMasks()
        {
            using var noGrad = torch.no_grad();
            for (var d = 0; d < Model.Graph.DestModules.Count; d++)
            {
                var mask = Model.Masks[Model.Graph.DestModules[d].ModuleName];
                var heads = mask.dim() == 2 ? mask.size(0) : 1;
                var srcs = mask.shape[^1];
                var values = new float[heads * srcs];
                for (var h = 0; h < heads; h++)
                {
                    for (var s = 0; s < srcs; s++)
                    {
                        values[(h * srcs) + s] = ((3 * s) + (5 * h) + (7 * d)) % 8 / 8f;
                    }
                }

                using var t = torch.tensor(values).reshape(mask.shape);
                mask.copy_(t);
            }
        }

        private (List<double>, JsonObject) RunCircuits(int warmup, int reps)
        {
            var graph = Model.Graph;
            var counts = EdgeCountSweep.Compute(graph.EdgeCount, EdgeCountRequest.Logarithmic);
            using var scores = CircuitScores();
            return Time(warmup, reps, () =>
            {
                var sink = new LogitDiffSink();
                CircuitRunner.Run(Model, Batches, scores, counts, new CircuitRunOptions(PatchType.EdgePatch, AblationType.Resample), sink);
                return sink;
            }, sink => sink.Checksum(counts));
        }

        /// <summary>Edge g (flat order) scores (-1)^g (1 + (7919 g mod n_edges)).</summary>
        private PruneScores CircuitScores()
        {
            var graph = Model.Graph;
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var m in graph.DestModules)
            {
                var shape = Model.Masks[m.ModuleName].shape;
                var n = shape.Aggregate(1L, (a, b) => a * b);
                var values = new float[n];
                for (var i = 0; i < n; i++)
                {
                    var g = offset + i;
                    values[i] = (g % 2 == 0 ? 1 : -1) * (1 + (g * ScoreMultiplier % graph.EdgeCount));
                }

                tensors[m.ModuleName] = torch.tensor(values).reshape(shape);
                offset += n;
            }

            return PruneScores.FromTensors(graph, tensors);
        }

        private static JsonObject OutputsChecksum(Outputs outputs) => outputs.Checksum();

        private JsonObject ScoresChecksum(PruneScores scores)
        {
            using var scope = torch.NewDisposeScope();
            var flat = scores.Flatten().to_type(ScalarType.Float64);
            var finite = flat.masked_select(flat.isfinite());
            return new JsonObject
            {
                ["sum"] = finite.sum().item<double>(),
                ["abs_sum"] = finite.abs().sum().item<double>(),
                ["n_finite"] = (int)finite.numel(),
                ["n"] = (int)flat.numel(),
            };
        }

        /// <summary>Removed edges are those with a finite score: our ACDC gives unremoved edges the float's largest
        /// finite value where auto-circuit gives +inf, so that value counts as infinite here.</summary>
        private JsonObject AcdcChecksum(PruneScores scores)
        {
            using var scope = torch.NewDisposeScope();
            var flat = scores.Flatten().to_type(ScalarType.Float64);
            var values = flat.data<double>().ToArray();
            long count = 0, indexSum = 0, squareSum = 0;
            double scoreSum = 0;
            for (var g = 0; g < values.Length; g++)
            {
                if (double.IsFinite(values[g]) && values[g] < float.MaxValue)
                {
                    count++;
                    indexSum += g;
                    squareSum += (long)g * g;
                    scoreSum += values[g];
                }
            }

            return new JsonObject
            {
                ["removed"] = count,
                ["removed_index_sum"] = indexSum,
                ["removed_index_square_sum"] = squareSum,
                ["score_sum"] = scoreSum,
            };
        }

        /// <summary>The sliced outputs of the four batches (<c>[64, 2]</c> each).</summary>
        private sealed class Outputs(List<Tensor> outputs, IReadOnlyList<PromptBatch> batches) : IDisposable
        {
            /// <summary>sum and abs_sum of every output, logit_diff_sum and logit_diff_abs_sum over the prompts.</summary>
            public JsonObject Checksum()
            {
                using var scope = torch.NewDisposeScope();
                var all = torch.cat(outputs, 0).to_type(ScalarType.Float64);
                var diffs = torch.cat(outputs.Select((o, b) => LogitDiffs(o, batches[b])).ToList(), 0);
                return new JsonObject
                {
                    ["sum"] = all.sum().item<double>(),
                    ["abs_sum"] = all.abs().sum().item<double>(),
                    ["logit_diff_sum"] = diffs.sum().item<double>(),
                    ["logit_diff_abs_sum"] = diffs.abs().sum().item<double>(),
                };
            }

            public void Dispose()
            {
                foreach (var o in outputs)
                {
                    o.Dispose();
                }
            }
        }

        /// <summary>Sums each circuit's logit differences over the batches, on the device (read once at the end).</summary>
        private sealed class LogitDiffSink : ICircuitOutputSink, IDisposable
        {
            private readonly Dictionary<int, List<Tensor>> _diffs = [];

            public void Begin(IReadOnlyList<int> requested, IReadOnlyList<int> patched, int batchCount)
            {
            }

            public void BeginBatch(int batchIndex, PromptBatch batch)
            {
            }

            public void Consume(int circuitIndex, int batchIndex, PromptBatch batch, Tensor output)
            {
                if (!_diffs.TryGetValue(circuitIndex, out var list))
                {
                    _diffs[circuitIndex] = list = [];
                }

                list.Add(LogitDiffs(output, batch).DetachFromDisposeScope());
            }

            public JsonObject Checksum(IReadOnlyList<int> counts)
            {
                var per = new JsonObject();
                double total = 0, totalAbs = 0;
                for (var c = 0; c < counts.Count; c++)
                {
                    using var all = torch.cat(_diffs[c], 0);
                    using var abs = all.abs();
                    var (sum, absSum) = (all.sum().item<double>(), abs.sum().item<double>());
                    per[counts[c].ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["logit_diff_sum"] = sum, ["logit_diff_abs_sum"] = absSum };
                    total += sum;
                    totalAbs += absSum;
                }

                return new JsonObject
                {
                    ["edge_counts"] = new JsonArray([.. counts.Select(k => (JsonNode)k)]),
                    ["per_count"] = per,
                    ["logit_diff_sum"] = total,
                    ["logit_diff_abs_sum"] = totalAbs,
                };
            }

            public void Dispose()
            {
                foreach (var t in _diffs.Values.SelectMany(l => l))
                {
                    t.Dispose();
                }
            }
        }
    }

    /// <summary>A prompt's <c>out[answer] - out[wrong_answer]</c>, in float64: <c>[batch]</c>.</summary>
    private static Tensor LogitDiffs(Tensor output, PromptBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var o = output.to_type(ScalarType.Float64);
        return (o.gather(1, batch.Answers.Ids) - o.gather(1, batch.WrongAnswers.Ids)).squeeze(1).MoveToOuterDisposeScope();
    }
}
