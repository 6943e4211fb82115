using System.Globalization;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using TorchSharp;

namespace AutoCircuit.Engine.Runtime;

/// <summary>
/// How many intra-op threads libtorch uses (<c>--threads</c>). libtorch's default is one per core, which pays for
/// itself only when each operation has enough work: on the 2-core development machine under load, a 2-layer
/// d_model=16 transformer's forward pass took 24 ms with 2 threads and 2.5 ms with 1, while GPT-2-sized matrix
/// products do get faster with more threads. So the default depends on the model's size.
/// </summary>
internal static class TorchThreading
{
    /// <summary>Models with fewer parameters than this run on one thread by default.</summary>
    public const long SmallModelParameters = 5_000_000;

    /// <summary>Help text of the <c>--threads</c> options.</summary>
    public const string Help =
        "libtorch intra-op threads (CPU): the most a pass uses; passes whose operations are too small to split run on one. " +
        "Default: 1 for models under 5M parameters (thread hand-offs cost more than tiny operations gain), else libtorch's " +
        "default (one per core). The AUTOCIRCUIT_THREADS environment variable sets the default.";

    /// <summary>The thread count the policy picks for a model of <paramref name="parameters"/> parameters.</summary>
    /// <param name="requested">An explicit <c>--threads</c> value (positive), or <c>null</c>.</param>
    /// <param name="parameters">The model's parameter count.</param>
    /// <param name="cores">Logical processors (default: this machine's).</param>
    /// <exception cref="AutoCircuitException"><paramref name="requested"/> is not positive.</exception>
    public static int Choose(int? requested, long parameters, int? cores = null)
    {
        if (requested is int r)
        {
            return r > 0 ? r : throw new AutoCircuitException($"--threads {r}: expected a positive number of threads.");
        }

        var env = Environment.GetEnvironmentVariable("AUTOCIRCUIT_THREADS");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return int.TryParse(env, NumberStyles.None, CultureInfo.InvariantCulture, out var e) && e > 0
                ? e
                : throw new AutoCircuitException($"AUTOCIRCUIT_THREADS={env}: expected a positive number of threads.");
        }

        return parameters < SmallModelParameters ? 1 : Math.Max(1, cores ?? Environment.ProcessorCount);
    }

    /// <summary>Applies the policy for <paramref name="model"/> and returns the thread count now in use.</summary>
    public static int Apply(int? requested, IHookedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Apply(requested, model.ParameterCount());
    }

    /// <summary>Applies the policy for a model of <paramref name="parameters"/> parameters.</summary>
    public static int Apply(int? requested, long parameters)
    {
        OpenMpEnvironment.Apply(); // no-op when the program did it before loading libtorch
        NativeHeap.Apply(); // likewise
        BoundInterOp();
        var threads = Choose(requested, parameters);
        PassThreads.Most = threads; // passes whose operations are too small to split use one

        if (torch.get_num_threads() != threads)
        {
            torch.set_num_threads(threads);
        }

        return threads;
    }

    /// <summary>Inter-op threads (libtorch's pool for forked work, which the engine does not use).</summary>
    public const int InterOpThreads = 1;

    private static readonly object InterOpGate = new();
    private static bool _interOpBounded;

    /// <summary>
    /// The OpenMP/MKL variables of this process's environment (<c>OMP_*</c>, <c>KMP_*</c>, <c>MKL_*</c>), sorted; those of
    /// <see cref="OpenMpEnvironment.Defaults"/> as native code reads them.
    /// </summary>
    public static Dictionary<string, string> ThreadingEnvironment()
    {
        var names = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("OMP_", StringComparison.Ordinal) || k.StartsWith("KMP_", StringComparison.Ordinal) || k.StartsWith("MKL_", StringComparison.Ordinal))
            .Union(OpenMpEnvironment.Defaults.Select(d => d.Name));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            var value = OpenMpEnvironment.Defaults.Any(d => d.Name == name) ? OpenMpEnvironment.NativeValue(name) : Environment.GetEnvironmentVariable(name);
            if (value is not null)
            {
                result[name] = value;
            }
        }

        return result;
    }

    /// <summary>
    /// Bounds libtorch's inter-op pool to <see cref="InterOpThreads"/> (once per process). libtorch allows it only
    /// before its first inter-op work; afterwards the pool is left as it is.
    /// </summary>
    public static void BoundInterOp()
    {
        lock (InterOpGate)
        {
            if (_interOpBounded)
            {
                return;
            }

            _interOpBounded = true;
            try
            {
                if (torch.get_num_interop_threads() > InterOpThreads)
                {
                    torch.set_num_interop_threads(InterOpThreads);
                }
            }
            catch (System.Runtime.InteropServices.ExternalException)
            {
                // The pool has started: libtorch refuses a change, and the threads are already there.
            }
        }
    }

}
