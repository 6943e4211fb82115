using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>Activations and gradients at hook points (<see cref="AutoCircuit.Patching.IActivationAccess"/>), patch mode off.</summary>
public sealed partial class PatchableModel
{
    /// <inheritdoc />
    public Dictionary<string, Tensor> CaptureActivations(Tensor input, IEnumerable<string> moduleNames)
    {
        ArgumentNullException.ThrowIfNull(input);
        var names = CaptureNames(moduleNames);
        var captured = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = torch.no_grad();
        var capture = new ActivationCapture((name, x) =>
        {
            if (names.Contains(name))
            {
                using var detached = x.detach();
                captured[name] = detached.clone().DetachFromDisposeScope();
            }

            return x;
        });
        using (RunForward(input, () => _model.Forward(input), capture))
        {
        }

        return CheckReached(names, captured);
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> CaptureGradients(
        Tensor input, IEnumerable<string> moduleNames, Func<Tensor, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(loss);
        var names = CaptureNames(moduleNames);

        // Each captured activation is made a tensor we hold (a fresh leaf where nothing upstream
        // requires grad, else a clone on the graph) and handed on downstream, so the gradient of the
        // loss with respect to it is the total derivative through everything after the hook point.
        var leaves = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = torch.enable_grad();
        var capture = new ActivationCapture((name, x) =>
        {
            if (!names.Contains(name))
            {
                return x;
            }

            // A new autograd node (clone), not alias(): TorchSharp's alias() shares the tensor and its
            // autograd identity, so the gradient would include every other use of x (e.g. the residual
            // stream around an MLP), not just the path through this hook point.
            var held = (x.requires_grad ? x.clone() : x.detach().requires_grad_(true)).DetachFromDisposeScope();
            leaves[name] = held;

            // Hand the model its own handle: models may dispose what a hook point returns.
            return held.alias();
        });
        try
        {
            using var scope = torch.NewDisposeScope();
            var output = RunForward(input, () => _model.Forward(input), capture);
            CheckReached(names, leaves);
            var value = loss(output);
            if (value.numel() != 1)
            {
                throw new ArgumentException(
                    $"The loss must be a scalar; got shape [{string.Join(", ", value.shape)}].", nameof(loss));
            }

            var order = leaves.Keys.ToList();
            var grads = torch.autograd.grad([value], order.Select(n => leaves[n]).ToList());
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            for (var i = 0; i < order.Count; i++)
            {
                result[order[i]] = grads[i].detach().DetachFromDisposeScope();
            }

            return result;
        }
        finally
        {
            foreach (var t in leaves.Values)
            {
                t.Dispose();
            }
        }
    }

    private HashSet<string> CaptureNames(IEnumerable<string> moduleNames)
    {
        ArgumentNullException.ThrowIfNull(moduleNames);
        if (_patch is not null)
        {
            throw new InvalidOperationException("Activations and gradients are captured with patch mode off.");
        }

        var names = new HashSet<string>(moduleNames, StringComparer.Ordinal);
        foreach (var n in names)
        {
            if (_wrappers.All(w => w.ModuleName != n))
            {
                throw new ArgumentException(
                    $"'{n}' is not a module of this graph; known: " +
                    $"{string.Join(", ", _wrappers.Select(w => w.ModuleName))}.",
                    nameof(moduleNames));
            }
        }

        return names;
    }

    private static Dictionary<string, Tensor> CheckReached(HashSet<string> names, Dictionary<string, Tensor> captured)
    {
        var missing = names.Where(n => !captured.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            foreach (var t in captured.Values)
            {
                t.Dispose();
            }

            throw new InvalidOperationException(
                $"The forward pass did not reach module(s) {string.Join(", ", missing)}.");
        }

        return captured;
    }
}
