using TorchSharp;

namespace AutoCircuit.Engine.Hooks;

/// <summary>The parameter count of a hooked model (sizes the thread policy and each pass's threads).</summary>
internal static class HookedModelParameters
{
    /// <summary>Parameters of a model (0 when it is not a TorchSharp module).</summary>
    public static long ParameterCount(this IHookedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model is torch.nn.Module module ? module.parameters().Sum(p => p.numel()) : 0;
    }
}
