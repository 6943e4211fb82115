using System.CommandLine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// The options of every command that runs a patched model: threads, the patch memory budget, the buffer type. A new
/// instance declares a fresh set for one command.
/// </summary>
internal sealed class PerformanceOptions
{
    public Option<int?> Threads { get; } = new("--threads")
    {
        Description = TorchThreading.Help,
        HelpName = "N",
    };

    public Option<string?> MaxPatchMemory { get; } = new("--max-patch-memory")
    {
        Description = "Budget for the source-output buffers of one batch (patch activations and the engine's working buffers, " +
                      "[n_src, batch, seq, d_model] each), e.g. 2GB: batches that do not fit are patched in chunks of prompts, with " +
                      "the same results (mask-gradient and circuit evaluation). Default: no budget.",
        HelpName = "SIZE",
    };

    public Option<string?> BufferDType { get; } = new("--patch-buffer-dtype")
    {
        Description = "Element type of the source-output buffers on CUDA: float32 (default: the model's), bfloat16 or float16 " +
                      "(half the memory, less precise patches). The CPU keeps float32.",
        HelpName = "TYPE",
    };

    /// <summary>The three options, in help order.</summary>
    public IEnumerable<Option> All => [Threads, MaxPatchMemory, BufferDType];

    /// <summary>The settings given on a command line.</summary>
    public PerformanceSettings Parse(ParseResult parse) => new(
        parse.GetValue(Threads),
        parse.GetValue(MaxPatchMemory) is { } m ? PerformanceSettings.ParseByteSize(m) : null,
        parse.GetValue(BufferDType) is { } t ? DTypes.ParseBufferType(t) : null);
}
