using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AutoCircuit.Host.IO;

/// <summary>
/// Who holds a results folder: the process id, the machine's boot id (<c>/proc/sys/kernel/random/boot_id</c>) and the
/// process's start time, written into the folder's lock file. A run is proven dead when the boot id differs (the
/// machine restarted), no process has the id, or the process with the id started at another time (the id was reused).
/// </summary>
/// <param name="Pid">The process id.</param>
/// <param name="BootId">The Linux boot id, or empty where there is none.</param>
/// <param name="StartTicks">The process's start time: <c>/proc/PID/stat</c> field 22 on Linux, else UTC ticks.</param>
/// <param name="CreatedFolder">Whether the run created the results folder (then it may remove it again).</param>
internal sealed record RunOwner(int Pid, string BootId, long StartTicks, bool CreatedFolder)
{
    private const string BootIdPath = "/proc/sys/kernel/random/boot_id";

    /// <summary>This process.</summary>
    public static RunOwner Current(bool createdFolder) =>
        new(Environment.ProcessId, ReadBootId(), StartTicksOf(Environment.ProcessId) ?? 0, createdFolder);

    /// <summary>Whether the owner can be proven to have ended (a live or unknown owner is not).</summary>
    public bool IsProvenDead()
    {
        var bootId = ReadBootId();
        if (BootId.Length > 0 && bootId.Length > 0 && BootId != bootId)
        {
            return true;
        }

        if (Pid == Environment.ProcessId && StartTicks == (StartTicksOf(Pid) ?? 0))
        {
            return false;
        }

        var ticks = StartTicksOf(Pid);
        return ticks is null || (StartTicks != 0 && ticks != StartTicks);
    }

    /// <summary>The lock file's text.</summary>
    public string ToJson() => JsonSerializer.Serialize(
        new Dictionary<string, object>
        {
            ["pid"] = Pid,
            ["boot_id"] = BootId,
            ["start_ticks"] = StartTicks,
            ["created_folder"] = CreatedFolder,
        });

    /// <summary>Reads a lock file; <c>null</c> when it cannot be read or parsed (a run still writing it, or not ours).</summary>
    public static RunOwner? TryRead(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            using var doc = JsonDocument.Parse(text);
            var r = doc.RootElement;
            return new RunOwner(
                r.GetProperty("pid").GetInt32(),
                r.GetProperty("boot_id").GetString() ?? string.Empty,
                r.GetProperty("start_ticks").GetInt64(),
                r.GetProperty("created_folder").GetBoolean());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException
                                       or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static string ReadBootId()
    {
        try
        {
            return File.Exists(BootIdPath) ? File.ReadAllText(BootIdPath).Trim() : string.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>The start time of process <paramref name="pid"/>, or <c>null</c> when there is no such process.</summary>
    private static long? StartTicksOf(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (Directory.Exists("/proc/self"))
        {
            try
            {
                // pid (comm) state ppid ... : comm may hold spaces and parentheses, so count from the last ')'.
                var text = File.ReadAllText(stat);
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[19], CultureInfo.InvariantCulture); // field 22 of the whole line
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException
                                           or ArgumentOutOfRangeException)
            {
                return null;
            }
        }

        try
        {
            using var p = Process.GetProcessById(pid);
            return p.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
