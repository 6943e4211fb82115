using System.Runtime.InteropServices;
using TorchSharp;

namespace AutoCircuit.Bench;

/// <summary>What the numbers were measured on.</summary>
/// <param name="Cpu">CPU model (from <c>/proc/cpuinfo</c> where available).</param>
/// <param name="Cores">Logical processors visible to the process.</param>
/// <param name="TorchThreads">libtorch intra-op threads in use.</param>
/// <param name="Device">The torch device.</param>
/// <param name="Os">Operating system.</param>
/// <param name="LoadAverage">1-minute load average at the start (Linux), or <c>null</c>.</param>
internal sealed record MachineInfo(string Cpu, int Cores, int TorchThreads, string Device, string Os, double? LoadAverage)
{
    /// <summary>Describes this machine.</summary>
    public static MachineInfo Current(string device) => new(
        CpuModel(), Environment.ProcessorCount, torch.get_num_threads(), device, RuntimeInformation.OSDescription, Load());

    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static double? Load() => LoadAverages()?[0];

    /// <summary><c>/proc/loadavg</c>'s three load averages (1, 5, 15 minutes), or <c>null</c> off Linux.</summary>
    public static double[]? LoadAverages()
    {
        try
        {
            if (File.Exists("/proc/loadavg"))
            {
                return [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture))];
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
