using Mono.Cecil;

namespace AutoCircuit.Host.Tests.Architecture;

/// <summary>
/// The namespace dependencies inside one assembly, read from its IL with Mono.Cecil: an edge A → B for every reference
/// from a type of namespace A to a type of namespace B of the same assembly, wherever IL names a type: base types and
/// interfaces, generic arguments and constraints, fields, properties, events, method signatures and overrides, custom
/// attributes (their type and typeof arguments), and method bodies (locals, catch types, every member reference and
/// type token an instruction names). Nested and compiler-generated types (closures, state machines) count for their
/// top-level declaring type. Namespaces are folders: a namespace below the root namespace counts as the folder right
/// under the root (<c>AutoCircuit.Host.Jobs.Steps</c> → <c>AutoCircuit.Host.Jobs</c>); types in the global namespace
/// (<c>&lt;Module&gt;</c>, <c>&lt;PrivateImplementationDetails&gt;</c>, anonymous types) are left out.
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly Dictionary<string, HashSet<string>> _edges = new(StringComparer.Ordinal);
    private readonly Dictionary<(string From, string To), string> _examples = [];
    private readonly ModuleDefinition _module;
    private readonly string _root;

    private NamespaceGraph(ModuleDefinition module, string rootNamespace)
    {
        _module = module;
        _root = rootNamespace;
    }

    /// <summary>The namespaces each namespace uses (self-references left out).</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Edges =>
        _edges.ToDictionary(kv => kv.Key, kv => (IReadOnlySet<string>)kv.Value, StringComparer.Ordinal);

    /// <summary>Every namespace seen, as a folder.</summary>
    public IReadOnlySet<string> Namespaces { get; private set; } = new HashSet<string>();

    /// <summary>The first reference seen for an edge, e.g. <c>Jobs.RunJob::Execute uses Reports.ReportWriter</c>.</summary>
    public string Example(string from, string to) => _examples[(from, to)];

    /// <summary>Reads the assembly at <paramref name="path"/>; its dependencies are resolved from the same folder.</summary>
    public static NamespaceGraph Read(string path, string rootNamespace)
    {
        using var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(path)!);
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        using var module = ModuleDefinition.ReadModule(path, new ReaderParameters { AssemblyResolver = resolver, ReadSymbols = false });
        var graph = new NamespaceGraph(module, rootNamespace);
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in module.Types)
        {
            if (graph.Folder(type) is { } from)
            {
                namespaces.Add(from);
                graph.VisitType(from, type);
            }
        }

        graph.Namespaces = namespaces;
        return graph;
    }

    /// <summary>The folder namespace of a type of this module (its top-level declaring type's), or <c>null</c>.</summary>
    private string? Folder(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        var ns = type.Namespace;
        if (ns.Length == 0)
        {
            return null;
        }

        if (!ns.StartsWith(_root + ".", StringComparison.Ordinal))
        {
            return ns;
        }

        var next = ns.IndexOf('.', _root.Length + 1);
        return next < 0 ? ns : ns[..next];
    }

    private void VisitType(string from, TypeDefinition type)
    {
        var where = type.FullName;
        Attributes(from, where, type);
        Use(from, where, type.BaseType);
        foreach (var i in type.Interfaces)
        {
            Use(from, where, i.InterfaceType);
            Attributes(from, where, i);
        }

        GenericParameters(from, where, type.GenericParameters);
        foreach (var field in type.Fields)
        {
            Use(from, $"{where}::{field.Name}", field.FieldType);
            Attributes(from, $"{where}::{field.Name}", field);
        }

        foreach (var property in type.Properties)
        {
            Use(from, $"{where}::{property.Name}", property.PropertyType);
            Attributes(from, $"{where}::{property.Name}", property);
        }

        foreach (var e in type.Events)
        {
            Use(from, $"{where}::{e.Name}", e.EventType);
            Attributes(from, $"{where}::{e.Name}", e);
        }

        foreach (var method in type.Methods)
        {
            VisitMethod(from, method);
        }

        foreach (var nested in type.NestedTypes)
        {
            VisitType(from, nested);
        }
    }

    private void VisitMethod(string from, MethodDefinition method)
    {
        var where = $"{method.DeclaringType.FullName}::{method.Name}";
        Attributes(from, where, method);
        Use(from, where, method.ReturnType);
        Attributes(from, where, method.MethodReturnType);
        foreach (var p in method.Parameters)
        {
            Use(from, where, p.ParameterType);
            Attributes(from, where, p);
        }

        GenericParameters(from, where, method.GenericParameters);
        foreach (var o in method.Overrides)
        {
            Member(from, where, o);
        }

        if (!method.HasBody)
        {
            return;
        }

        foreach (var local in method.Body.Variables)
        {
            Use(from, where, local.VariableType);
        }

        foreach (var handler in method.Body.ExceptionHandlers)
        {
            Use(from, where, handler.CatchType);
        }

        foreach (var instruction in method.Body.Instructions)
        {
            switch (instruction.Operand)
            {
                case TypeReference t:
                    Use(from, where, t);
                    break;
                case MemberReference m:
                    Member(from, where, m);
                    break;
                case CallSite site:
                    Use(from, where, site.ReturnType);
                    foreach (var p in site.Parameters)
                    {
                        Use(from, where, p.ParameterType);
                    }

                    break;
            }
        }
    }

    private void Member(string from, string where, MemberReference member)
    {
        Use(from, where, member.DeclaringType);
        switch (member)
        {
            case MethodReference m:
                Use(from, where, m.ReturnType);
                foreach (var p in m.Parameters)
                {
                    Use(from, where, p.ParameterType);
                }

                if (m is GenericInstanceMethod g)
                {
                    foreach (var a in g.GenericArguments)
                    {
                        Use(from, where, a);
                    }
                }

                break;
            case FieldReference f:
                Use(from, where, f.FieldType);
                break;
        }
    }

    private void GenericParameters(string from, string where, IEnumerable<GenericParameter> parameters)
    {
        foreach (var g in parameters)
        {
            Attributes(from, where, g);
            foreach (var c in g.Constraints)
            {
                Use(from, where, c.ConstraintType);
            }
        }
    }

    private void Attributes(string from, string where, ICustomAttributeProvider provider)
    {
        if (!provider.HasCustomAttributes)
        {
            return;
        }

        foreach (var a in provider.CustomAttributes)
        {
            Use(from, where, a.AttributeType);
            foreach (var arg in a.ConstructorArguments)
            {
                Argument(from, where, arg);
            }

            foreach (var named in a.Fields.Concat(a.Properties))
            {
                Argument(from, where, named.Argument);
            }
        }
    }

    private void Argument(string from, string where, CustomAttributeArgument argument)
    {
        Use(from, where, argument.Type);
        switch (argument.Value)
        {
            case TypeReference t:
                Use(from, where, t);
                break;
            case CustomAttributeArgument inner:
                Argument(from, where, inner);
                break;
            case CustomAttributeArgument[] items:
                foreach (var item in items)
                {
                    Argument(from, where, item);
                }

                break;
        }
    }

    /// <summary>Records an edge for every type of this module that <paramref name="type"/> names (generic arguments too).</summary>
    private void Use(string from, string where, TypeReference? type)
    {
        switch (type)
        {
            case null:
            case GenericParameter:
                return;
            case GenericInstanceType g:
                Use(from, where, g.ElementType);
                foreach (var a in g.GenericArguments)
                {
                    Use(from, where, a);
                }

                return;
            case IModifierType m:
                Use(from, where, m.ModifierType);
                Use(from, where, m.ElementType);
                return;
            case FunctionPointerType f:
                Use(from, where, f.ReturnType);
                foreach (var p in f.Parameters)
                {
                    Use(from, where, p.ParameterType);
                }

                return;
            case TypeSpecification s:
                Use(from, where, s.ElementType);
                return;
        }

        if (type.Scope is not ModuleDefinition m2 || m2 != _module || Folder(type) is not { } to || to == from)
        {
            return;
        }

        if (!_edges.TryGetValue(from, out var set))
        {
            _edges[from] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        if (set.Add(to))
        {
            _examples[(from, to)] = $"{where} uses {type.FullName}";
        }
    }
}
