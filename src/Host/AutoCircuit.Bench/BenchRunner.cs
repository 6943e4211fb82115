using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace AutoCircuit.Bench;

/// <summary>What <c>dotnet autocircuit bench</c> measures.</summary>
/// <param name="Shapes">Model shapes, measured one after the other.</param>
/// <param name="Repetitions">Timed repetitions of each operation (after one warm-up).</param>
/// <param name="Device">Where the model runs.</param>
/// <param name="AcdcSteps">Steps of the real ACDC run to time on shapes too large to run every edge (the rest is estimated
/// from per-block restart costs, see <see cref="ShapeReport.AcdcMethod"/>).</param>
/// <param name="FullAcdcEdgeLimit">Graphs with at most this many edges run ACDC over every edge.</param>
/// <param name="PatchOptions">Engine options of the timed workloads (e.g. half-precision source buffers on CUDA), or
/// <c>null</c> for the defaults.</param>
/// <param name="SeparateQkv">Separate Q/K/V destinations per head (the default), or one attention input per head.</param>
internal sealed record BenchSettings(
    IReadOnlyList<BenchShape> Shapes,
    int Repetitions,
    Device Device,
    int AcdcSteps = 24,
    int FullAcdcEdgeLimit = 2000,
    AutoCircuit.Engine.Patching.PatchOptions? PatchOptions = null,
    bool SeparateQkv = true);

/// <summary>Runs the patching benchmarks and computes the ratios we track.</summary>
/// <remarks>
/// Every ratio is computed per repetition from operations timed back to back (plain forward, patched forward,
/// forward+backward, mask gradient, evaluation), then summarised by its median and quartiles over the repetitions:
/// on a shared, noisy machine a ratio of two numbers measured seconds apart is more stable than two separate medians.
/// </remarks>
internal static class BenchRunner
{
    /// <summary>Runs every shape; progress lines go to <paramref name="log"/>.</summary>
    public static BenchReport Run(BenchSettings settings, TextWriter log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        var machine = MachineInfo.Current(settings.Device.ToString());
        log.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"bench: {machine.Cpu}, {machine.Cores} cores, {machine.TorchThreads} torch thread(s), device {machine.Device}, " +
            $"load {machine.LoadAverage?.ToString("0.00", CultureInfo.InvariantCulture) ?? "?"}; {settings.Repetitions} repetitions"));
        var shapes = new List<ShapeReport>();
        foreach (var shape in settings.Shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            shapes.Add(RunShape(shape, settings, log, cancellationToken));
        }

        return new BenchReport(machine, settings.Repetitions, shapes, settings.PatchOptions?.BufferDType?.ToString().ToLowerInvariant(), settings.SeparateQkv);
    }

    private static ShapeReport RunShape(BenchShape shape, BenchSettings settings, TextWriter log, CancellationToken token)
    {
        log.WriteLine($"bench: {shape.Describe()}");
        using var w = new BenchWorkload(shape, settings.Device, batchCount: 2, patchOptions: settings.PatchOptions, separateQkv: settings.SeparateQkv);
        var counts = w.EdgeCountSweep(8);

        // Warm-up: first calls allocate, load kernels and fill caches.
        w.PlainForward();
        w.PatchedForward();
        w.ForwardBackward();
        w.MaskGradient();
        w.Evaluate(counts);

        var plain = new List<double>();
        var patched = new List<double>();
        var fb = new List<double>();
        var mg = new List<double>();
        var eval = new List<double>();
        var rPatched = new List<double>();
        var rMg = new List<double>();
        var rEval = new List<double>();
        for (var r = 0; r < settings.Repetitions; r++)
        {
            token.ThrowIfCancellationRequested();
            var f = Time(w.PlainForward);
            var p = Time(w.PatchedForward);
            var b = Time(w.ForwardBackward);
            var m = Time(() => w.MaskGradient());
            var e = Time(() => w.Evaluate(counts)) / counts.Count;
            plain.Add(f);
            patched.Add(p);
            fb.Add(b);
            mg.Add(m);
            eval.Add(e);
            rPatched.Add(p / f);
            rMg.Add(m / (f + b));
            rEval.Add(e / f);
            log.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"bench:   rep {r + 1}: forward {f:0.0} ms, patched {p:0.0} ms ({p / f:0.00}x), forward+backward {b:0.0} ms, " +
                $"mask-gradient {m:0.0} ms ({m / (f + b):0.00}x of 2F+1B), evaluation {e:0.0} ms per size ({e / f:0.00}x)"));
        }

        var forwardMedian = Stat.Of(plain).Median;
        var acdc = MeasureAcdc(w, settings, forwardMedian, log);
        var restart = MeasureRestart(w, shape, settings, log);

        // Source buffers while mask-gradient runs on two batches (its ablations, the difference buffer of the patched
        // pass) and while circuits are evaluated, against one batch's n_src x batch x seq x d_model.
        var mgPeak = w.PeakSourceBufferBytes(() => w.MaskGradient(2));
        var evalPeak = w.PeakSourceBufferBytes(() => w.Evaluate(counts));
        var onePeak = w.PeakSourceBufferBytes(() => w.Evaluate([counts[counts.Count / 2]]));
        var acdcSteps = w.EdgeCount <= settings.FullAcdcEdgeLimit ? (int?)null : settings.AcdcSteps;
        var acdcPeak = w.PeakSourceBufferBytes(() => w.Acdc(acdcSteps));
        log.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"bench:   source buffers: mask-gradient peak {mgPeak / 1e6:0.0} MB, evaluation peak {evalPeak / 1e6:0.0} MB, " +
            $"one circuit {onePeak / 1e6:0.0} MB, ACDC {acdcPeak / 1e6:0.0} MB; minimum {w.MinimumSourceBufferBytes / 1e6:0.0} MB"));
        return new ShapeReport(
            shape,
            w.Model.Graph.Srcs.Count,
            w.Model.Graph.DestModules.Count,
            w.EdgeCount,
            counts,
            Stat.Of(plain),
            Stat.Of(patched),
            Stat.Of(fb),
            Stat.Of(mg),
            Stat.Of(eval),
            Stat.Of(rPatched),
            Stat.Of(rMg),
            Stat.Of(rEval),
            acdc.Ratio,
            acdc.Method,
            acdc.StepMs,
            restart,
            w.MinimumSourceBufferBytes,
            new SourceBufferReport("mask-gradient, 2 batches", mgPeak, w.MinimumSourceBufferBytes),
            new SourceBufferReport("circuit evaluation, 1 batch", evalPeak, w.MinimumSourceBufferBytes),
            new SourceBufferReport("circuit evaluation, 1 batch, 1 size", onePeak, w.MinimumSourceBufferBytes),
            new SourceBufferReport(acdcSteps is null ? "ACDC, 1 tau" : $"ACDC, first {acdcSteps} steps", acdcPeak, w.MinimumSourceBufferBytes),
            new ArithmeticFloors(shape.ModelMultiplyAdds, w.PatchMultiplyAdds));
    }

    private static (Stat Ratio, string Method, Stat StepMs) MeasureAcdc(BenchWorkload w, BenchSettings settings, double forwardMs, TextWriter log)
    {
        if (w.EdgeCount <= settings.FullAcdcEdgeLimit)
        {
            var perEdge = new List<double>();
            var ratios = new List<double>();
            for (var r = 0; r < Math.Max(1, settings.Repetitions / 2); r++)
            {
                var f = Time(w.PlainForward);
                var (ms, steps) = w.Acdc();
                perEdge.Add(ms / steps);
                ratios.Add(ms / steps / f);
                log.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"bench:   acdc rep {r + 1}: {steps} steps, {ms / steps:0.00} ms per edge ({ms / steps / f:0.00}x of a forward)"));
            }

            return (Stat.Of(ratios), "every edge of one tau", Stat.Of(perEdge));
        }

        // Too many edges to run them all: time the real algorithm's first steps (last block), then estimate the
        // edge-weighted average from the cost of the same step restarting at each block.
        var (firstMs, firstSteps) = w.Acdc(settings.AcdcSteps);
        var edgesPerBlock = w.EdgesPerBlock();
        var perBlock = new Dictionary<int, double>();
        foreach (var block in edgesPerBlock.Keys.Order())
        {
            perBlock[block] = w.AcdcStepsAtBlock(block, 3);
        }

        var total = edgesPerBlock.Values.Sum();
        var weighted = edgesPerBlock.Sum(kv => kv.Value * perBlock[kv.Key]) / total;
        var lastBlock = edgesPerBlock.Keys.Max();
        log.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"bench:   acdc: first {firstSteps} real steps {firstMs / Math.Max(1, firstSteps):0.0} ms each (block {lastBlock}; " +
            $"restart estimate there {perBlock[lastBlock]:0.0} ms); edge-weighted estimate {weighted:0.0} ms per edge " +
            $"({weighted / forwardMs:0.00}x of a forward)"));
        var ratio = weighted / forwardMs;
        return (Stat.Of([ratio]), $"estimated: real ACDC steps timed on block {lastBlock} ({firstMs / Math.Max(1, firstSteps):0.0} ms), " +
            "per-block restart costs weighted by edges per block", Stat.Of([weighted]));
    }

    /// <summary>
    /// What ACDC's destination-block restart saves: the same real ACDC steps (the first ones, or every edge on small
    /// graphs) on a twin model whose restart is hidden, so every step is a full forward pass.
    /// </summary>
    private static AcdcRestartReport MeasureRestart(BenchWorkload w, BenchShape shape, BenchSettings settings, TextWriter log)
    {
        int? steps = w.EdgeCount <= settings.FullAcdcEdgeLimit ? null : settings.AcdcSteps;
        using var full = new BenchWorkload(shape, settings.Device, batchCount: 1, patchOptions: settings.PatchOptions, blockRestart: false, separateQkv: settings.SeparateQkv);
        var withRestart = new List<double>();
        var without = new List<double>();
        for (var r = 0; r < Math.Max(1, settings.Repetitions / 2); r++)
        {
            var (a, na) = w.Acdc(steps);
            var (b, nb) = full.Acdc(steps);
            withRestart.Add(a / na);
            without.Add(b / nb);
        }

        var report = new AcdcRestartReport(
            steps is null ? $"every edge ({w.EdgeCount})" : $"the first {steps} steps (last block)",
            Stat.Of(withRestart),
            Stat.Of(without));
        log.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"bench:   acdc restart: {report.Steps}: {report.WithRestartMs.Median:0.00} ms per edge with, " +
            $"{report.FullForwardMs.Median:0.00} ms without ({report.Speedup:0.0}x)"));
        return report;
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }
}
