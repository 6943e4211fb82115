using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// The one setup path of every job: the algorithm catalog, then device selection, model and task, data, thread policy
/// and patchable model, handed over as a <see cref="JobContext"/> the job disposes at its end. A sweep prepares one
/// context per cell from the same catalog.
/// </summary>
public static class JobSetup
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
    /// Resolves the device, loads the model and the task or dataset (<see cref="TaskSetup.Prepare"/>), splits and batches
    /// the data onto the device, applies the thread policy and wraps the model for patching.
    /// </summary>
    /// <exception cref="AutoCircuitException">Bad or conflicting input, an unknown model or task, device unavailable.</exception>
    public static JobContext Prepare(JobRequest request, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(env);
        var started = DateTimeOffset.UtcNow;
        var device = DeviceSelector.Resolve(request.Device);
        var prepared = TaskSetup.Prepare(request.Model, request.Dataset, request.Task, request.Data, device, request.DType);
        TaskData? data = null;
        try
        {
            data = prepared.BuildData(device);
            var loaded = prepared.Loaded;
            var threads = request.Performance.ApplyThreads(loaded.Model);
            var model = PatchableModel.Create(
                loaded.Model, new GraphOptions(request.Factorized, data.SeqLen, request.SeparateQkv, loaded.OutputSlice),
                request.Performance.PatchOptions);
            return new JobContext(request, env, started, device, prepared, data, threads, model);
        }
        catch
        {
            data?.Dispose();
            prepared.Dispose();
            throw;
        }
    }
}
