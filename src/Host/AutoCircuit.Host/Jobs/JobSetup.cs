using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Hub;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// The one setup path of every job: the algorithm catalog, then device selection, model and task, data, thread policy
/// and patchable model, handed over as a <see cref="JobContext"/> the job disposes at its end. A sweep prepares one
/// context per cell from the same catalog.
/// </summary>
internal static class JobSetup
{
    /// <summary>
    /// The algorithms a job can run: <paramref name="given"/>, else the built-ins and the plugins of
    /// <see cref="JobRequest.Plugins"/>; the catalog's warnings go to stderr.
    /// </summary>
    public static AlgorithmCatalog Catalog(JobRequest request, RunEnvironment env, AlgorithmCatalog? given = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var catalog = given ?? AlgorithmCatalog.Load(request.Plugins);
        foreach (var w in catalog.Warnings)
        {
            env.Error.WriteLine($"warning: {w}");
        }

        return catalog;
    }

    /// <summary>
    /// Resolves the device, loads the model and the task or dataset (<see cref="TaskSetup.Prepare"/>; a model given by
    /// Hugging Face name through a <see cref="HubResolver"/> of this process's environment, <see cref="JobRequest.Download"/>
    /// and the job's progress display), splits and batches the data onto the device, applies the thread policy and wraps
    /// the model for patching.
    /// </summary>
    /// <exception cref="AutoCircuitException">Bad or conflicting input, an unknown model or task, device unavailable.</exception>
    public static JobContext Prepare(JobRequest request, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var started = DateTimeOffset.UtcNow;
        var device = DeviceSelector.Resolve(request.Device);

        // An explicit results folder is claimed first, so a second run into it is refused before anything is loaded.
        var results = request.Out is null ? null : new ResultsDirectory(request.Out, line => env.Error.WriteLine(line));
        PreparedTask prepared;
        try
        {
            var hub = HubResolver.FromEnvironment(request.Download, env.Progress, env.Error, env.CancellationToken);
            prepared = TaskSetup.Prepare(request.Model, request.Dataset, request.Task, request.Data, device, hub, request.DType, request.WeightDType);
            if (request.DType == TorchSharp.torch.ScalarType.BFloat16 && device.type == TorchSharp.DeviceType.CPU && !CpuHasBFloat16Instructions())
            {
                env.Error.WriteLine(
                    "note: this CPU has no bfloat16 instructions (avx512_bf16, amx_bf16), so libtorch's bfloat16 matrix products run a " +
                    "reference loop, many times slower than float32; --dtype float32 --weight-dtype bfloat16 keeps the weights in bfloat16 " +
                    "(a bfloat16 checkpoint stays mapped from its file) and computes in float32.");
            }
            if (prepared.Mib is { } mib)
            {
                env.Error.WriteLine(
                    $"MIB {request.Data.MibTask} rows: {mib.Rows - mib.Dropped} of {mib.Rows} kept, corrupted prompts from {mib.Counterfactual}" +
                    (mib.Dropped > 0 ? $" ({mib.Dropped} left out as MIB's loader leaves them out: {MibDataset.DropRule(MibDataset.ParseTask(request.Data.MibTask!))})." : "."));
            }
        }
        catch
        {
            results?.Dispose();
            throw;
        }

        TaskData? data = null;
        try
        {
            data = prepared.BuildData(device);
            var loaded = prepared.Loaded;
            var threads = request.Performance.ApplyThreads(loaded.Model);
            var model = PatchableModel.Create(
                loaded.Model, new GraphOptions(request.Factorized, data.SeqLen, request.SeparateQkv, loaded.OutputSlice),
                request.Performance.PatchOptions);
            return new JobContext(request, env, started, device, prepared, data, threads, model, results);
        }
        catch
        {
            data?.Dispose();
            prepared.Dispose();
            results?.Dispose();
            throw;
        }
    }

    /// <summary>Whether <c>/proc/cpuinfo</c> lists bfloat16 instructions; true where it cannot be read (no note then).</summary>
    internal static bool CpuHasBFloat16Instructions()
    {
        try
        {
            const string CpuInfo = "/proc/cpuinfo";
            if (!File.Exists(CpuInfo))
            {
                return true;
            }

            var flags = File.ReadLines(CpuInfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return flags is null || flags.Contains("avx512_bf16", StringComparison.Ordinal) || flags.Contains("amx_bf16", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }
}
