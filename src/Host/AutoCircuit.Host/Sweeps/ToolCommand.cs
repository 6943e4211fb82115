using System.Reflection;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// How a worker starts the tool: the plan's <c>resources.command</c>, else AUTOCIRCUIT_SWEEP_COMMAND (words separated by
/// spaces), else the way this process was started — the tool's apphost, or <c>dotnet dotnet-autocircuit.dll</c> (also
/// when this process is a test host: the tool's assembly is found beside the host library).
/// </summary>
internal static class ToolCommand
{
    public const string EnvironmentVariable = "AUTOCIRCUIT_SWEEP_COMMAND";

    public static IReadOnlyList<string> Resolve(SweepPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Resources.Command is { Count: > 0 } given)
        {
            return given;
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env)
        {
            return env.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }

        var process = Environment.ProcessPath ?? "dotnet";
        var entry = Assembly.GetEntryAssembly();
        if (entry?.GetName().Name == "dotnet-autocircuit")
        {
            return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, entry.Location] : [process];
        }

        var beside = Path.Combine(Path.GetDirectoryName(typeof(ToolCommand).Assembly.Location)!, "dotnet-autocircuit.dll");
        var dotnet = Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
        return File.Exists(beside) ? [dotnet, beside] : ["dotnet", "autocircuit"];
    }

    /// <summary>A word quoted for a POSIX shell.</summary>
    public static string Quote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+%".Contains(c, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
