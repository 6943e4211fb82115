using AutoCircuit.Engine.Hooks;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Toy;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Tasks;

/// <summary>A model ready to wrap, with what a run needs to feed it.</summary>
/// <param name="Model">The model.</param>
/// <param name="Name">How it was named (e.g. <c>micro</c>, a path).</param>
/// <param name="Encoder">Turns dataset prompts into its inputs.</param>
/// <param name="DefaultTask">The key of the model's default task (<see cref="Tasks.TaskCatalog"/>), if it has one.</param>
/// <param name="OutputSlice">Which part of the output tasks are measured on.</param>
public sealed record LoadedModel(
    IHookedModel Model,
    string Name,
    IPromptEncoder Encoder,
    string? DefaultTask,
    OutputSlice OutputSlice = OutputSlice.LastSeq) : IDisposable
{
    /// <summary>The tokenizer of a language model, when one was found (see <see cref="ModelCatalog.Load"/>).</summary>
    public ITokenizer? Tokenizer { get; init; }

    /// <summary>The commit a model given by Hugging Face name was resolved to (its snapshot in the cache,
    /// <see cref="Models.Hub.HubResolver"/>); <c>null</c> for other models.</summary>
    public string? HubCommit { get; init; }

    /// <summary>What <c>train-toy</c> measured, when the model is the toy induction model (built-in or a file it wrote).</summary>
    public ToyModelInfo? ToyInfo { get; init; }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        (Tokenizer as IDisposable)?.Dispose();
    }
}
