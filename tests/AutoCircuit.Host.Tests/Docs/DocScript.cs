using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using AutoCircuit.Host.Tests.Plugins;
using AutoCircuit.Testing;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// Runs documentation shell blocks as written, with bash: the tool built with the tests stands in for
/// <c>dotnet autocircuit</c> (and <c>dotnet run --project src/Host/AutoCircuit.Tool --</c>, and a built
/// <c>dotnet-autocircuit.dll</c>); everything else on the lines is left as the reader would type it.
/// </summary>
internal static partial class DocScript
{
    /// <summary>Whether the doc tests run a command: a tool command that <c>.ci/run</c> does not run.</summary>
    public static bool RunByTests(DocCommand command) => command.ToolArguments is not null && CiScript.Running(command) is null;

    /// <summary>
    /// The bash text of <paramref name="blocks"/>: tool commands call <c>"$AC_TOOL"</c>; with
    /// <paramref name="skipCiCommands"/>, commands that <c>.ci/run</c> runs become no-ops; <paramref name="rewrite"/> may
    /// replace any other command line (return <c>null</c> to keep it).
    /// </summary>
    public static string ToBash(IEnumerable<DocBlock> blocks, bool skipCiCommands, Func<DocCommand, string, string?>? rewrite = null)
    {
        var script = new StringBuilder("set -euo pipefail\n");
        foreach (var block in blocks)
        {
            script.Append(CultureInfoFree($"# {block.Page}:{block.Line} ({block.Section})\n"));
            string? heredoc = null;
            var pending = new List<string>();
            foreach (var line in block.Lines)
            {
                if (heredoc is not null)
                {
                    script.Append(line).Append('\n');
                    heredoc = line.Trim() == heredoc ? null : heredoc;
                    continue;
                }

                pending.Add(line);
                if (line.EndsWith('\\'))
                {
                    continue;
                }

                var logical = string.Join(" ", pending.Select(l => l.EndsWith('\\') ? l[..^1] : l));
                var commands = DocCommand.FromLine($"{block.Page}:{block.Line}", logical).ToList();
                var replaced = commands.Count == 0 ? null : Rewrite(logical, commands, skipCiCommands, rewrite);
                script.Append(replaced ?? string.Join("\n", pending)).Append('\n');
                pending.Clear();
                if (HeredocStart().Match(logical) is { Success: true } m)
                {
                    heredoc = m.Groups[1].Value;
                }
            }
        }

        return script.ToString();
    }

    private static string? Rewrite(string line, List<DocCommand> commands, bool skipCiCommands, Func<DocCommand, string, string?>? rewrite)
    {
        var needs = commands.Where(c => c.ToolArguments is not null || (skipCiCommands && CiScript.Running(c) is not null)).ToList();
        if (ShellLine.Commands(line).Count > 1)
        {
            return needs.Count == 0
                ? null
                : throw new InvalidOperationException($"{commands[0].Where}: put each tool command on a line of its own: {line}");
        }

        var command = commands[0];
        if (skipCiCommands && CiScript.Running(command) is { } ci)
        {
            return $": covered by {CiScript.Path}:{ci.Where.Split(':')[^1]}";
        }

        if (rewrite?.Invoke(command, line) is { } custom)
        {
            return custom;
        }

        if (command.ToolArguments is null)
        {
            return null;
        }

        var match = ToolPrefix().Match(line);
        return match.Success
            ? match.Groups["env"].Value + "\"$AC_TOOL\"" + line[match.Length..]
            : throw new InvalidOperationException($"{command.Where}: cannot find the tool in: {line}");
    }

    /// <summary>
    /// Runs <paramref name="script"/> with bash in <paramref name="workingDirectory"/>, <c>HOME</c> set to
    /// <paramref name="home"/> and <c>AC_TOOL</c> to a launcher of the tool built with the tests.
    /// </summary>
    public static (int ExitCode, string Output) Run(string script, string workingDirectory, string home, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var launcher = Path.Combine(home, ".ac-tool");
        Directory.CreateDirectory(home);
        var tool = Path.Combine(TestFixtures.OutputDirectory, "dotnet-autocircuit.dll");
        File.WriteAllText(launcher, $"#!/bin/sh\nexec '{DotNetProcess.Executable}' '{tool}' \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var file = Path.Combine(home, ".doc-script.sh");
        File.WriteAllText(file, script);

        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-x");
        start.ArgumentList.Add(file);
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["HOME"] = home;
        start.Environment["AC_TOOL"] = launcher;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var limit = timeout ?? TimeSpan.FromMinutes(10);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the documentation's commands did not finish in {limit}:\n{output}");
        }

        process.WaitForExit();
        return (process.ExitCode, output.ToString());
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string CultureInfoFree(FormattableString text) => FormattableString.Invariant(text);

    [GeneratedRegex(@"^(?<env>\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)dotnet\s+(?:autocircuit|\S*dotnet-autocircuit\.dll|run\s(?:.*?\s)?--project\s+src/Host/AutoCircuit\.Tool\S*(?:\s.*?)?\s--)(?=\s|$)")]
    private static partial Regex ToolPrefix();

    [GeneratedRegex(@"<<-?\s*['""]?(\w+)['""]?")]
    private static partial Regex HeredocStart();
}
