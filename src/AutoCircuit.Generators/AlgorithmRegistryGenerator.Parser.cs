using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using AutoCircuit.Generators.Analysis;
using AutoCircuit.Generators.Helpers;
using AutoCircuit.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static AutoCircuit.Generators.Diagnostics.DiagnosticDescriptors;

namespace AutoCircuit.Generators;

public sealed partial class AlgorithmRegistryGenerator
{
    /// <summary>
    /// Turns symbols into specs and diagnostics. Symbols, syntax and the compilation are used here and nowhere
    /// else: everything returned is a value-equal model.
    /// </summary>
    internal static partial class Parser
    {
        private const string AbstractionsAssemblyName = "AutoCircuit.Abstractions";

        private const string KebabCaseHint =
            "use lowercase letters and digits separated by single hyphens, such as 'grad-function'";

        /// <summary>Parses one <c>[PruneAlgorithm]</c> class.</summary>
        public static Result<ParsedAlgorithm?> Parse(
            GeneratorAttributeSyntaxContext context,
            KnownSymbols known,
            CancellationToken cancellationToken)
        {
            var syntax = (ClassDeclarationSyntax)context.TargetNode;
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var attribute = context.Attributes[0];
            var identifier = syntax.Identifier.GetLocation();
            var display = Display(type);
            var diagnostics = new List<DiagnosticInfo>();

            if (DescribeShapeProblem(type) is { } shapeProblem)
            {
                diagnostics.Add(DiagnosticInfo.Create(InvalidClassShape, identifier, display, shapeProblem));
            }

            // A static class cannot implement an interface; ACG0004 already tells the user what to change.
            if (!type.IsStatic && !type.AllInterfaces.Any(i => KnownSymbols.Is(i, known.PruneAlgorithm)))
            {
                diagnostics.Add(DiagnosticInfo.Create(MissingInterface, identifier, display));
            }

            var key = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
            var keyLocation = ArgumentLocation(attribute, 0, "key", cancellationToken) ?? identifier;
            if (!Naming.IsKebabCase(key))
            {
                diagnostics.Add(DiagnosticInfo.Create(KeyNotKebabCase, keyLocation, key ?? "null", display));
            }

            cancellationToken.ThrowIfCancellationRequested();

            // Abstract and static classes cannot be created at all: ACG0004 is the one useful message for them.
            var constructorValid = false;
            OptionsSpec? options = null;
            if (!type.IsAbstract && !type.IsStatic)
            {
                var parse = new ParseContext(context, known, type, display, identifier, diagnostics, cancellationToken);
                constructorValid = TryBindConstructor(parse, out options);
            }

            cancellationToken.ThrowIfCancellationRequested();

            var presets = ParsePresets(type, display, identifier, options, constructorValid, known, diagnostics, cancellationToken);

            // A class that cannot be registered gets no memory-budget warning on top of its errors.
            var registrable = key is not null && !diagnostics.Any(d => d.Descriptor.DefaultSeverity == DiagnosticSeverity.Error);
            var memoryBudget = registrable
                ? MemoryBudgetOf(context, type, attribute, known, identifier, display, diagnostics, cancellationToken)
                : string.Empty;

            var result = diagnostics.ToEquatableArray();
            if (!registrable || key is null)
            {
                return new Result<ParsedAlgorithm?>(null, result);
            }

            var name = NamedArgument(attribute, "Name") as string ?? type.Name;
            var spec = new AlgorithmSpec(
                Key: key,
                TypeName: type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                Name: name,
                ShortName: NamedArgument(attribute, "ShortName") as string ?? name,
                Description: NamedArgument(attribute, "Description") as string ?? string.Empty,
                RequiresKnownEdges: NamedArgument(attribute, "RequiresKnownEdges") is true,
                Options: options,
                Presets: presets,
                RuntimeTypeName: RuntimeTypeName(type),
                MemoryBudget: memoryBudget);
            return new Result<ParsedAlgorithm?>(
                new ParsedAlgorithm(spec, keyLocation.SourceTree, keyLocation.SourceSpan),
                result);
        }

        /// <summary>ACG0002 for every algorithm whose key an earlier one (in compilation order) already has.</summary>
        public static EquatableArray<DiagnosticInfo> FindDuplicateKeys(
            ImmutableArray<ParsedAlgorithm?> algorithms,
            CancellationToken cancellationToken)
        {
            var first = new Dictionary<string, AlgorithmSpec>(StringComparer.Ordinal);
            var diagnostics = new List<DiagnosticInfo>();
            foreach (var algorithm in algorithms)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (algorithm is null)
                {
                    continue;
                }

                var spec = algorithm.Spec;
                if (first.TryGetValue(spec.Key, out var original))
                {
                    diagnostics.Add(new DiagnosticInfo(
                        DuplicateKey,
                        algorithm.KeySyntaxTree,
                        algorithm.KeySpan,
                        ImmutableArray.Create(spec.Key, Display(spec.TypeName), Display(original.TypeName))));
                }
                else
                {
                    first.Add(spec.Key, spec);
                }
            }

            return diagnostics.ToEquatableArray();
        }

        /// <summary>
        /// The namespace of the registry and the SDK version the assembly compiles against: the referenced
        /// AutoCircuit.Abstractions' file version (<c>major.minor.patch</c>, which moves with every release while its
        /// assembly version stays pinned at <c>major.0.0.0</c>), else its assembly version.
        /// </summary>
        public static AssemblySpec ParseAssembly(Compilation compilation)
        {
            var abstractions = compilation.SourceModule.ReferencedAssemblySymbols
                .FirstOrDefault(a => string.Equals(a.Name, AbstractionsAssemblyName, StringComparison.Ordinal));
            return new AssemblySpec(
                "AutoCircuit.Generated." + Naming.ToIdentifier(compilation.AssemblyName),
                abstractions is null ? "0.0.0.0" : SdkVersion(abstractions));
        }

        private static string SdkVersion(IAssemblySymbol abstractions)
        {
            foreach (var attribute in abstractions.GetAttributes())
            {
                if (attribute.AttributeClass?.ToDisplayString() == "System.Reflection.AssemblyFileVersionAttribute" &&
                    attribute.ConstructorArguments.Length == 1 &&
                    attribute.ConstructorArguments[0].Value is string text &&
                    Version.TryParse(text, out var file))
                {
                    return new Version(file.Major, file.Minor, Math.Max(0, file.Build)).ToString();
                }
            }

            return abstractions.Identity.Version.ToString();
        }

        /// <summary>
        /// The registry: valid algorithms sorted by key, the first (in compilation order) of duplicates kept, the
        /// same one <see cref="FindDuplicateKeys"/> leaves unreported. <c>null</c> when the compilation has no
        /// <c>[PruneAlgorithm]</c> class; an empty registry when it has only invalid ones, so that code using the
        /// registry still compiles and the user sees our diagnostics rather than CS errors.
        /// </summary>
        public static RegistrySpec? CreateRegistry(ImmutableArray<AlgorithmSpec?> specs, AssemblySpec assembly)
        {
            if (specs.IsEmpty)
            {
                return null;
            }

            var keys = new HashSet<string>(StringComparer.Ordinal);
            var algorithms = specs
                .Where(s => s is not null && keys.Add(s.Key))
                .Select(s => s!)
                .OrderBy(s => s.Key, StringComparer.Ordinal)
                .ToEquatableArray();
            return new RegistrySpec(assembly, algorithms);
        }

        private static string? DescribeShapeProblem(INamedTypeSymbol type)
        {
            if (type.IsStatic)
            {
                return "is static";
            }

            if (type.IsAbstract)
            {
                return "is abstract";
            }

            if (type.TypeParameters.Length > 0)
            {
                return "is generic";
            }

            if (type.DeclaredAccessibility != Accessibility.Public)
            {
                return "is not public";
            }

            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.DeclaredAccessibility != Accessibility.Public)
                {
                    return $"is nested in '{Display(outer)}', which is not public";
                }

                if (outer.TypeParameters.Length > 0)
                {
                    return $"is nested in '{Display(outer)}', which is generic";
                }
            }

            return null;
        }

        /// <summary>
        /// Picks the constructor the factory calls: one taking an <c>[AlgorithmOptions]</c> record if there is one,
        /// else a parameterless one. Returns false (with diagnostics) when there is neither or the options are invalid.
        /// </summary>
        private static bool TryBindConstructor(ParseContext parse, out OptionsSpec? options)
        {
            options = null;
            IMethodSymbol? parameterless = null;
            IParameterSymbol? optionsParameter = null;
            IParameterSymbol? otherParameter = null;
            foreach (var constructor in parse.Type.InstanceConstructors)
            {
                if (constructor.DeclaredAccessibility != Accessibility.Public)
                {
                    continue;
                }

                if (constructor.Parameters.Length == 0)
                {
                    parameterless = constructor;
                }
                else if (constructor.Parameters.Length == 1)
                {
                    var parameter = constructor.Parameters[0];
                    if (parameter.Type is INamedTypeSymbol &&
                        HasAttribute(parameter.Type, parse.Known.AlgorithmOptionsAttribute))
                    {
                        optionsParameter ??= parameter;
                    }
                    else
                    {
                        otherParameter ??= parameter;
                    }
                }
            }

            if (optionsParameter is not null)
            {
                options = ParseOptions(parse, optionsParameter);
                return options is not null;
            }

            if (parameterless is not null)
            {
                return true;
            }

            // A record class that only lacks the attribute is an options record with a mistake (ACG0008). Any other
            // parameter (a double, a service, a plain class) means there is no constructor the registry can call.
            if (otherParameter?.Type is INamedTypeSymbol { IsRecord: true, TypeKind: TypeKind.Class } record)
            {
                var location = ParameterTypeLocation(otherParameter, parse.CancellationToken);
                parse.Add(InvalidOptionsType, location, Display(record), "is not marked [AlgorithmOptions]; add the attribute");
                return false;
            }

            parse.Add(NoUsableConstructor, parse.Identifier, parse.Display);
            return false;
        }

        private static OptionsSpec? ParseOptions(ParseContext parse, IParameterSymbol parameter)
        {
            var optionsType = (INamedTypeSymbol)parameter.Type;
            var typeLocation = ParameterTypeLocation(parameter, parse.CancellationToken) ?? parse.Identifier;
            var typeDisplay = Display(optionsType);

            string? problem = null;
            if (!optionsType.IsRecord || optionsType.TypeKind != TypeKind.Class)
            {
                problem = "is not a record class; declare it as 'public sealed record', " +
                          "so the binder can use 'with' expressions";
            }
            else if (optionsType.IsAbstract)
            {
                problem = "is abstract; make it a sealed record, so the binder can create it";
            }
            else if (!optionsType.InstanceConstructors.Any(c =>
                         c.DeclaredAccessibility == Accessibility.Public && c.Parameters.All(p => p.IsOptional)))
            {
                problem = "has no public parameterless constructor; give the options defaults with property " +
                          "initializers instead of constructor parameters";
            }

            if (problem is not null)
            {
                parse.Add(InvalidOptionsType, typeLocation, typeDisplay, problem);
                return null;
            }

            // Base records first, so options appear in the order a reader of the source sees them.
            var chain = new Stack<INamedTypeSymbol>();
            for (var t = optionsType; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
            {
                chain.Push(t);
            }

            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            var specs = new List<OptionSpec>();
            bool IsOptionAttribute(AttributeData a) => KnownSymbols.Is(a.AttributeClass, parse.Known.OptionAttribute);
            var valid = true;
            foreach (var declaringType in chain)
            {
                foreach (var member in declaringType.GetMembers())
                {
                    if (member is not IPropertySymbol { IsStatic: false } property)
                    {
                        continue;
                    }

                    if (property.GetAttributes().FirstOrDefault(IsOptionAttribute) is not { } optionAttribute)
                    {
                        WarnIfForgottenOption(parse, property, declaringType);
                        continue;
                    }

                    parse.CancellationToken.ThrowIfCancellationRequested();
                    var spec = ParseOption(parse, property, optionAttribute, typeDisplay, typeLocation, names);
                    if (spec is null)
                    {
                        valid = false;
                    }
                    else
                    {
                        specs.Add(spec);
                    }
                }
            }

            if (!valid)
            {
                return null;
            }

            var validatable = optionsType.AllInterfaces.Any(i => KnownSymbols.Is(i, parse.Known.ValidatableOptions));
            return new OptionsSpec(
                optionsType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                validatable,
                specs.ToEquatableArray());
        }

        /// <summary>
        /// ACG0013: a public settable property of an options record without <c>[Option]</c> is never bound, which is
        /// more often a forgotten attribute than a choice; <c>[OptionIgnore]</c> says it is a choice.
        /// </summary>
        private static void WarnIfForgottenOption(ParseContext parse, IPropertySymbol property, INamedTypeSymbol declaringType)
        {
            if (property.IsImplicitlyDeclared ||
                property.DeclaredAccessibility != Accessibility.Public ||
                property.SetMethod is not { DeclaredAccessibility: Accessibility.Public } ||
                property.GetAttributes().Any(a => KnownSymbols.Is(a.AttributeClass, parse.Known.OptionIgnoreAttribute)) ||
                property.Locations.FirstOrDefault(l => l.IsInSource) is not { } location)
            {
                return;
            }

            parse.Add(PropertyNotAnOption, location, property.Name, Display(declaringType), Naming.ToKebabCase(property.Name));
        }

        private static OptionSpec? ParseOption(
            ParseContext parse,
            IPropertySymbol property,
            AttributeData attribute,
            string typeDisplay,
            Location typeLocation,
            Dictionary<string, string> names)
        {
            var cancellationToken = parse.CancellationToken;
            var declaration = property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken);
            var propertyLocation = property.Locations.FirstOrDefault(l => l.IsInSource) ?? typeLocation;
            var name = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
            var nameLocation = ArgumentLocation(attribute, 0, "name", cancellationToken) ?? propertyLocation;
            var valid = true;

            if (!Naming.IsKebabCase(name))
            {
                parse.Add(InvalidOptionName, nameLocation, name ?? "null", typeDisplay, "is not kebab-case; " + KebabCaseHint);
                valid = false;
            }
            else if (names.TryGetValue(name!, out var other))
            {
                var problem = $"is already used by property '{other}'; give each option a distinct name";
                parse.Add(InvalidOptionName, nameLocation, name!, typeDisplay, problem);
                valid = false;
            }
            else
            {
                names.Add(name!, property.Name);
            }

            if (property.GetMethod is not { DeclaredAccessibility: Accessibility.Public } ||
                property.SetMethod is not { DeclaredAccessibility: Accessibility.Public })
            {
                var problem = $"has option property '{property.Name}' without a public get and init accessor; " +
                              "declare it as '{ get; init; }'";
                parse.Add(InvalidOptionsType, propertyLocation, typeDisplay, problem);
                valid = false;
            }

            if (!TryClassify(property.Type, out var kind, out var isList, out var isNullable, out var enumType))
            {
                var location = declaration switch
                {
                    PropertyDeclarationSyntax p => p.Type.GetLocation(),
                    ParameterSyntax { Type: { } t } => t.GetLocation(),
                    _ => propertyLocation,
                };
                parse.Add(UnsupportedOptionType, location, name ?? property.Name, property.Type.ToDisplayString());
                valid = false;
            }

            if (!valid)
            {
                return null;
            }

            var enumMembers = enumType is null
                ? EquatableArray<EnumMemberSpec>.Empty
                : enumType.GetMembers()
                    .OfType<IFieldSymbol>()
                    .Where(f => f.IsStatic && f.HasConstantValue)
                    .Select(f => new EnumMemberSpec(Naming.ToKebabCase(f.Name), f.Name))
                    .ToEquatableArray();
            var allowed = kind == OptionKind.String && NamedArgument(attribute, "AllowedValues") is TypedConstant[] values
                ? values.Select(v => v.Value as string ?? string.Empty).ToEquatableArray()
                : EquatableArray<string>.Empty;
            var isNumeric = kind is OptionKind.Int32 or OptionKind.Int64 or OptionKind.Double or OptionKind.Single;
            var min = isNumeric ? Bound(NamedArgument(attribute, "Min")) : null;
            var max = isNumeric ? Bound(NamedArgument(attribute, "Max")) : null;
            if (min is { } lo && max is { } hi && lo > hi)
            {
                var minLocation = NamedArgumentLocation(attribute, "Min", cancellationToken) ?? nameLocation;
                parse.Add(MinGreaterThanMax, minLocation, name!, typeDisplay, FormatNumber(lo), FormatNumber(hi));
                return null;
            }

            var spec = new OptionSpec(
                Name: name!,
                PropertyName: property.Name,
                Kind: kind,
                IsList: isList,
                IsNullable: isNullable,
                EnumTypeName: enumType?.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                EnumMembers: enumMembers,
                Description: NamedArgument(attribute, "Description") as string ?? string.Empty,
                AllowedValues: allowed,
                Min: min,
                Max: max);

            return CheckDefault(parse, spec, declaration, enumType) ? spec : null;
        }

        /// <summary>
        /// ACG0007: a default written as a compile-time constant (or enum member) must satisfy the option's own
        /// constraints, otherwise every run without the option would fail. Non-constant initializers are not checked.
        /// </summary>
        private static bool CheckDefault(ParseContext parse, OptionSpec spec, SyntaxNode? declaration, INamedTypeSymbol? enumType)
        {
            var initializer = declaration switch
            {
                PropertyDeclarationSyntax p => p.Initializer?.Value,
                ParameterSyntax p => p.Default?.Value,
                _ => null,
            };
            if (initializer is null || spec.IsList)
            {
                return true;
            }

            var semanticModel = initializer.SyntaxTree == parse.Context.SemanticModel.SyntaxTree
                ? parse.Context.SemanticModel
                : parse.Context.SemanticModel.Compilation.GetSemanticModel(initializer.SyntaxTree);
            var constant = semanticModel.GetConstantValue(initializer, parse.CancellationToken);
            if (!constant.HasValue || constant.Value is null)
            {
                return true;
            }

            var value = constant.Value;
            string? problem = null;
            string shown;
            switch (spec.Kind)
            {
                case OptionKind.Int32 or OptionKind.Int64 or OptionKind.Double or OptionKind.Single
                    when IsNumber(value):
                    var number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                    shown = FormatNumber(number);
                    if (spec.Min is { } min && number < min)
                    {
                        problem = $"is below its Min of {FormatNumber(min)}";
                    }
                    else if (spec.Max is { } max && number > max)
                    {
                        problem = $"is above its Max of {FormatNumber(max)}";
                    }

                    break;
                case OptionKind.String when value is string text:
                    shown = $"'{text}'";
                    if (!spec.AllowedValues.IsEmpty && !spec.AllowedValues.Contains(text))
                    {
                        problem = $"is not one of its AllowedValues ({string.Join(", ", spec.AllowedValues)})";
                    }

                    break;
                case OptionKind.Enum when enumType is not null && IsNumber(value):
                    var underlying = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                    shown = underlying.ToString(CultureInfo.InvariantCulture);
                    var isMember = enumType.GetMembers()
                        .OfType<IFieldSymbol>()
                        .Any(f => f.HasConstantValue &&
                                  Convert.ToDecimal(f.ConstantValue, CultureInfo.InvariantCulture) == underlying);
                    if (!isMember)
                    {
                        problem = $"is not a member of enum '{Display(enumType)}'";
                    }

                    break;
                default:
                    return true;
            }

            if (problem is null)
            {
                return true;
            }

            parse.Add(DefaultViolatesConstraint, initializer.GetLocation(), shown, spec.Name, problem);
            return false;
        }

        /// <summary>
        /// Whether a constant is numeric. Code that does not compile (<c>int X = "a"</c>) can give a constant of the
        /// wrong type; the compiler reports that, and we must not turn it into ACG9999.
        /// </summary>
        private static bool IsNumber(object value) =>
            value is sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal;

        private static bool TryClassify(
            ITypeSymbol type,
            out OptionKind kind,
            out bool isList,
            out bool isNullable,
            out INamedTypeSymbol? enumType)
        {
            isList = false;
            isNullable = false;
            if (IsNullableValueType(type, out var underlying))
            {
                isNullable = true;
                type = underlying;
            }
            else if (type.IsReferenceType && type.NullableAnnotation == NullableAnnotation.Annotated)
            {
                isNullable = true;
            }

            if (type is IArrayTypeSymbol array)
            {
                isList = true;
                type = array.ElementType;
                if (array.Rank != 1 || IsNullableValueType(type, out _) || type.NullableAnnotation == NullableAnnotation.Annotated)
                {
                    kind = default;
                    enumType = null;
                    return false;
                }
            }

            enumType = type.TypeKind == TypeKind.Enum ? (INamedTypeSymbol)type : null;
            OptionKind? scalar = type.SpecialType switch
            {
                SpecialType.System_Boolean => OptionKind.Boolean,
                SpecialType.System_Int32 => OptionKind.Int32,
                SpecialType.System_Int64 => OptionKind.Int64,
                SpecialType.System_Double => OptionKind.Double,
                SpecialType.System_Single => OptionKind.Single,
                SpecialType.System_String => OptionKind.String,
                _ when enumType is not null => OptionKind.Enum,
                _ => null,
            };
            kind = scalar ?? default;
            return scalar is not null;
        }

        private static bool IsNullableValueType(ITypeSymbol type, out ITypeSymbol underlying)
        {
            if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
            {
                underlying = nullable.TypeArguments[0];
                return true;
            }

            underlying = type;
            return false;
        }

        private static EquatableArray<PresetSpec> ParsePresets(
            INamedTypeSymbol type,
            string display,
            Location identifier,
            OptionsSpec? options,
            bool checkOptionNames,
            KnownSymbols known,
            List<DiagnosticInfo> diagnostics,
            CancellationToken cancellationToken)
        {
            var presets = new List<PresetSpec>();
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var attribute in type.GetAttributes())
            {
                if (!KnownSymbols.Is(attribute.AttributeClass, known.PresetAttribute) ||
                    attribute.ConstructorArguments.Length != 2)
                {
                    continue;
                }

                var name = attribute.ConstructorArguments[0].Value as string ?? string.Empty;
                var spec = attribute.ConstructorArguments[1].Value as string ?? string.Empty;
                string? problem;
                Location? location;
                if (name.Trim().Length == 0)
                {
                    problem = "has an empty name; give it a name";
                    location = ArgumentLocation(attribute, 0, "name", cancellationToken);
                }
                else if (!names.Add(name))
                {
                    problem = "has the same name as an earlier preset (names are matched case-insensitively); rename one";
                    location = ArgumentLocation(attribute, 0, "name", cancellationToken);
                }
                else
                {
                    problem = checkOptionNames ? CheckPresetOptions(spec, options) : null;
                    location = ArgumentLocation(attribute, 1, "options", cancellationToken);
                }

                if (problem is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(InvalidPreset, location ?? identifier, name, display, problem));
                    continue;
                }

                if (checkOptionNames && options is not null && CheckPresetValues(spec, options) is { } bad)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        InvalidPresetValue, location ?? identifier, name, display, bad.Option, bad.Value, bad.Problem));
                    continue;
                }

                presets.Add(new PresetSpec(name, spec));
            }

            return presets.ToEquatableArray();
        }

        /// <summary>The problem with a preset's <c>name=value,...</c> text, or <c>null</c>. Values are checked at run time.</summary>
        private static string? CheckPresetOptions(string spec, OptionsSpec? options)
        {
            var known = options is null ? new List<string>() : options.Options.Select(o => o.Name).ToList();
            foreach (var part in spec.Split(','))
            {
                var entry = part.Trim();
                if (entry.Length == 0)
                {
                    continue;
                }

                var equals = entry.IndexOf('=');
                if (equals <= 0)
                {
                    return $"contains '{entry}', which is not of the form name=value";
                }

                var name = entry.Substring(0, equals).Trim();
                if (!known.Contains(name))
                {
                    return known.Count == 0
                        ? $"sets option '{name}', but the algorithm has no options"
                        : $"sets option '{name}', which the algorithm does not have (its options are: {string.Join(", ", known)})";
                }
            }

            return null;
        }

        /// <summary>
        /// The first assignment of a preset (whose option names <see cref="CheckPresetOptions"/> accepted) that the
        /// generated binder would reject at run time, or <c>null</c>.
        /// </summary>
        private static (string Option, string Value, string Problem)? CheckPresetValues(string spec, OptionsSpec options)
        {
            foreach (var part in spec.Split(','))
            {
                var entry = part.Trim();
                var equals = entry.IndexOf('=');
                if (equals <= 0)
                {
                    continue;
                }

                var name = entry.Substring(0, equals).Trim();
                var value = entry.Substring(equals + 1).Trim();
                var option = options.Options.First(o => o.Name == name);
                if (OptionValues.Check(option, value) is { } problem)
                {
                    return (name, value, problem);
                }
            }

            return null;
        }

        private static bool HasAttribute(ITypeSymbol type, INamedTypeSymbol? attributeType) =>
            type.GetAttributes().Any(a => KnownSymbols.Is(a.AttributeClass, attributeType));

        private static object? NamedArgument(AttributeData attribute, string name)
        {
            foreach (var argument in attribute.NamedArguments)
            {
                if (argument.Key == name)
                {
                    var value = argument.Value;
                    return value.Kind == TypedConstantKind.Array
                        ? value.IsNull ? null : value.Values.ToArray()
                        : value.Value;
                }
            }

            return null;
        }

        /// <summary>An <c>[Option]</c> Min/Max: NaN (the attribute's "none") becomes <c>null</c>.</summary>
        private static double? Bound(object? value)
        {
            if (value is null)
            {
                return null;
            }

            var bound = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            return double.IsNaN(bound) ? null : bound;
        }

        /// <summary>The location of a constructor argument of an attribute, by position or by <c>name:</c>.</summary>
        private static Location? ArgumentLocation(
            AttributeData attribute,
            int position,
            string parameterName,
            CancellationToken cancellationToken)
        {
            var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken);
            if (syntax is not AttributeSyntax { ArgumentList: { } list })
            {
                return null;
            }

            var positional = 0;
            foreach (var argument in list.Arguments)
            {
                if (argument.NameEquals is not null)
                {
                    continue;
                }

                if (argument.NameColon is { } nameColon)
                {
                    if (nameColon.Name.Identifier.ValueText == parameterName)
                    {
                        return argument.GetLocation();
                    }

                    continue;
                }

                if (positional++ == position)
                {
                    return argument.GetLocation();
                }
            }

            return null;
        }

        /// <summary>The location of a named argument (<c>Min = 1</c>) of an attribute.</summary>
        private static Location? NamedArgumentLocation(AttributeData attribute, string name, CancellationToken cancellationToken) =>
            attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is AttributeSyntax { ArgumentList: { } list }
                ? list.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name)?.GetLocation()
                : null;

        private static Location? ParameterTypeLocation(IParameterSymbol parameter, CancellationToken cancellationToken) =>
            parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is ParameterSyntax { Type: { } type }
                ? type.GetLocation()
                : parameter.Locations.FirstOrDefault(l => l.IsInSource);

        /// <summary><c>Type.FullName</c> of a non-generic class: namespace with dots, containing types with <c>+</c>.</summary>
        private static string RuntimeTypeName(INamedTypeSymbol type)
        {
            var name = type.MetadataName;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                name = outer.MetadataName + "+" + name;
            }

            var ns = type.ContainingNamespace;
            return ns is null || ns.IsGlobalNamespace ? name : ns.ToDisplayString() + "." + name;
        }

        private static string Display(ISymbol symbol) => symbol.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);

        private static string Display(string fullyQualifiedName) =>
            fullyQualifiedName.StartsWith("global::", StringComparison.Ordinal)
                ? fullyQualifiedName.Substring("global::".Length)
                : fullyQualifiedName;

        private static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        /// <summary>What the constructor and option checks need, passed as one value.</summary>
        private sealed class ParseContext(
            GeneratorAttributeSyntaxContext context,
            KnownSymbols known,
            INamedTypeSymbol type,
            string display,
            Location identifier,
            List<DiagnosticInfo> diagnostics,
            CancellationToken cancellationToken)
        {
            public GeneratorAttributeSyntaxContext Context { get; } = context;

            public KnownSymbols Known { get; } = known;

            public INamedTypeSymbol Type { get; } = type;

            public string Display { get; } = display;

            public Location Identifier { get; } = identifier;

            public CancellationToken CancellationToken { get; } = cancellationToken;

            public void Add(DiagnosticDescriptor descriptor, Location? location, params string[] arguments) =>
                diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? Identifier, arguments));
        }
    }
}
