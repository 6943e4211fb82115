using System.CommandLine;
using AutoCircuit.Host.Plugins;

namespace AutoCircuit.Tool.Cli;

/// <summary>The <c>--plugins</c> option, shared by every command that takes algorithms.</summary>
internal static class PluginOptions
{
    /// <summary>A new <c>--plugins</c> option (one per command).</summary>
    public static Option<string[]> Create() => new("--plugins")
    {
        Description =
            "Folder of algorithm plugins, each in its own subfolder DIR/<Name>/<Name>.dll; repeatable. Also searched, " +
            $"after these: the folders in {PluginSearchPath.EnvironmentVariable} (separated by '{Path.PathSeparator}') " +
            "and ~/.autocircuit/plugins. A plugin that cannot be loaded is skipped with a warning, unless one of its " +
            "algorithms is asked for (then exit code 2).",
        HelpName = "DIR",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>The search path: the option's folders, then the environment variable's, then the user folder.</summary>
    public static PluginSearchPath Resolve(ParseResult parse, Option<string[]> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return PluginSearchPath.FromEnvironment(parse.GetValue(option) ?? []);
    }
}
