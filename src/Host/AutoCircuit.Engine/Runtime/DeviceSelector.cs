using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Runtime;

/// <summary>Turns <c>--device auto|cpu|cuda[:n]</c> into a device, once, at the edge of the program.</summary>
public static class DeviceSelector
{
    /// <summary>Resolves a device spec.</summary>
    /// <exception cref="AutoCircuitException">CUDA asked for but unavailable (<see cref="ExitCode.DeviceUnavailable"/>), or a malformed spec.</exception>
    public static Device Resolve(string? spec)
    {
        var s = (spec ?? "auto").Trim().ToLowerInvariant();
        if (s is "auto")
        {
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }

        if (s is "cpu")
        {
            return torch.CPU;
        }

        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
            {
                throw new AutoCircuitException(
                    $"--device {spec}: CUDA is not available (a CPU-only libtorch build, or no GPU/driver). " +
                    "Build with -p:TorchBackend=cuda on a GPU machine, or use --device cpu.",
                    ExitCode.DeviceUnavailable);
            }

            var index = 0;
            if (s.Length > 5 && (!int.TryParse(s[5..], out index) || index < 0))
            {
                throw new AutoCircuitException($"--device {spec}: expected cuda or cuda:N.");
            }

            if (index >= torch.cuda.device_count())
            {
                throw new AutoCircuitException($"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present.", ExitCode.DeviceUnavailable);
            }

            return torch.device(DeviceType.CUDA, index);
        }

        throw new AutoCircuitException($"--device {spec}: expected auto, cpu, cuda or cuda:N.");
    }
}
