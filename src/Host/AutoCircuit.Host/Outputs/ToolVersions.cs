using System.ComponentModel;
using System.Reflection;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"versions"</c> object of run.json and compare.json.</summary>
[Description("Versions of the tool and of what it ran on.")]
internal sealed record ToolVersions
{
    /// <summary>The versions of this process.</summary>
    /// <param name="withAbstractions">Include the plugin SDK's version (run.json does, compare.json does not).</param>
    public static ToolVersions Current(bool withAbstractions) => new()
    {
        Autocircuit = typeof(ToolVersions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
        Abstractions = withAbstractions ? typeof(IPruneAlgorithm).Assembly.GetName().Version?.ToString() : null,
        Torchsharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
        Dotnet = Environment.Version.ToString(),
    };

    [Description("The tool's informational version (with the commit it was built from).")]
    public required string? Autocircuit { get; init; }

    [Description("The plugin SDK (AutoCircuit.Abstractions) assembly version; run.json only.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Abstractions { get; init; }

    [Description("The TorchSharp assembly version.")]
    public required string? Torchsharp { get; init; }

    [Description("The .NET runtime version.")]
    public required string Dotnet { get; init; }
}
