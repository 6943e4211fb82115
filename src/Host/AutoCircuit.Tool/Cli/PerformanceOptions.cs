using System.CommandLine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;

namespace AutoCircuit.Tool.Cli;

/// <summary>The options of every command that runs a patched model: threads, the patch memory budget, the buffer type.</summary>
internal static class PerformanceOptions
{
    internal static readonly Option<int?> ThreadsOption = new("--threads")
    {
        Description = TorchThreading.Help,
        HelpName = "N",
    };

    internal static readonly Option<string?> MaxPatchMemoryOption = new("--max-patch-memory")
    {
        Description = "Budget for the source-output buffers of one batch (patch activations and the engine's working buffers, " +
                      "[n_src, batch, seq, d_model] each), e.g. 2GB: batches that do not fit are patched in chunks of prompts, with " +
                      "the same results (mask-gradient and circuit evaluation). Default: no budget.",
        HelpName = "SIZE",
    };

    internal static readonly Option<string?> BufferDTypeOption = new("--patch-buffer-dtype")
    {
        Description = "Element type of the source-output buffers on CUDA: float32 (default: the model's), bfloat16 or float16 " +
                      "(half the memory, less precise patches). The CPU keeps float32.",
        HelpName = "TYPE",
    };

    /// <summary>The settings given on a command line.</summary>
    internal static PerformanceSettings Parse(ParseResult parse) => new(
        parse.GetValue(ThreadsOption),
        parse.GetValue(MaxPatchMemoryOption) is { } m ? PerformanceSettings.ParseByteSize(m) : null,
        parse.GetValue(BufferDTypeOption) is { } t ? DTypes.ParseBufferType(t) : null);
}
