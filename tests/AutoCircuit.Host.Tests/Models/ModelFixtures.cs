using System.Text.Json;
using AutoCircuit.Testing;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>The model fixtures (tests/Fixtures/models) and the reference models of ../shared.</summary>
internal static class ModelFixtures
{
    public static string Folder(string name) => Path.Combine(TestFixtures.Root, "models", name);

    public static JsonDocument Reference(string name) => TestFixtures.Load(Path.Combine("models", "reference", name + ".json"));

    /// <summary>
    /// <c>shared/models</c> beside the repository (the repository root is the folder holding
    /// AutoCircuit.sln; the nearest ancestor with <c>shared/models</c> wins, so worktrees find it too),
    /// or <c>AUTOCIRCUIT_SHARED</c>; <c>null</c> when absent.
    /// </summary>
    public static string? SharedModels
    {
        get
        {
            if (Environment.GetEnvironmentVariable("AUTOCIRCUIT_SHARED") is { Length: > 0 } env)
            {
                return Directory.Exists(Path.Combine(env, "models")) ? Path.Combine(env, "models") : null;
            }

            var dir = new DirectoryInfo(TestFixtures.OutputDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AutoCircuit.sln")))
            {
                dir = dir.Parent;
            }

            for (var up = dir?.Parent; up is not null; up = up.Parent)
            {
                var candidate = Path.Combine(up.FullName, "shared", "models");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }
    }

    /// <summary>A file or folder under shared/models, or <c>null</c> (the caller skips with <see cref="MissingShared"/>).</summary>
    public static string? Shared(string relative)
    {
        var root = SharedModels;
        var path = root is null ? null : Path.Combine(root, relative);
        return path is not null && (File.Exists(path) || Directory.Exists(path)) ? path : null;
    }

    public static string MissingShared(string relative) =>
        $"needs ../shared/models/{relative} (the reference models beside the repository; set AUTOCIRCUIT_SHARED to another shared/ folder)";

    public static Tensor Ids(JsonElement e) =>
        TestFixtures.ToTensor(e).to_type(ScalarType.Int64);
}

/// <summary>A fact that is skipped, with the reason shown, when a reference model of ../shared is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SharedModelFactAttribute : FactAttribute
{
    public SharedModelFactAttribute(string relative)
    {
        if (ModelFixtures.Shared(relative) is null)
        {
            Skip = ModelFixtures.MissingShared(relative);
        }
    }
}

/// <summary>A theory that is skipped, with the reason shown, when the reference models of ../shared are absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SharedModelsTheoryAttribute : TheoryAttribute
{
    public SharedModelsTheoryAttribute()
    {
        if (ModelFixtures.SharedModels is null)
        {
            Skip = ModelFixtures.MissingShared(string.Empty);
        }
    }
}
