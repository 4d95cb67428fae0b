using System.Reflection;

namespace Otchatsa.Architecture.Tests;

/// <summary>
/// The house rules of docs/architecture.md, read from the built assemblies' references (what the compiler actually
/// linked, not what a project file says): the engine references no front end, the worker ships no trainer and no
/// index builder, front ends never reference each other, the Discord library is protocol only.
/// </summary>
public sealed class ProjectReferenceTests
{
    /// <summary>Which of our assemblies each assembly may reference directly.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["Otchatsa.Engine"] = [],
        ["Otchatsa.Indexing"] = ["Otchatsa.Engine"],
        ["Otchatsa.Training"] = ["Otchatsa.Engine", "Otchatsa.Indexing"],
        ["Otchatsa.Chat"] = ["Otchatsa.Engine"],
        ["Otchatsa.Discord"] = [],
        ["Otchatsa.Web"] = ["Otchatsa.Engine", "Otchatsa.Chat"],
        ["Otchatsa.Bot"] = ["Otchatsa.Engine", "Otchatsa.Chat", "Otchatsa.Discord", "Otchatsa.Web"],
        ["otchatsa"] = ["Otchatsa.Engine", "Otchatsa.Indexing", "Otchatsa.Training", "Otchatsa.Chat", "Otchatsa.Web"],
    };

    /// <summary>Assemblies the worker must not load, directly or through anything it references.</summary>
    private static readonly string[] NeverInWorker = ["Otchatsa.Training", "Otchatsa.Indexing", "otchatsa", "Microsoft.ML", "Microsoft.ML.StandardTrainers", "Microsoft.ML.Data"];

    [Fact]
    public void Every_project_references_only_what_the_architecture_allows()
    {
        Assert.Empty(Violations(Allowed));
    }

    [Fact]
    public void The_rules_cover_every_project_of_the_product()
    {
        var ours = Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not null && IsOurs(n) && !n.EndsWith(".Tests", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(Allowed.Keys.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal)!);
    }

    [Fact]
    public void The_check_catches_a_forbidden_reference()
    {
        // The same check with a stricter rule must fail: the worker does reference the web page and the Discord library.
        var stricter = new Dictionary<string, string[]>(Allowed) { ["Otchatsa.Bot"] = ["Otchatsa.Engine", "Otchatsa.Chat"] };
        var violations = Violations(stricter);
        Assert.Contains("Otchatsa.Bot → Otchatsa.Web", violations);
        Assert.Contains("Otchatsa.Bot → Otchatsa.Discord", violations);
    }

    [Fact]
    public void The_worker_loads_no_trainer_no_index_builder_and_no_cli_even_indirectly()
    {
        var closure = Closure("Otchatsa.Bot");
        Assert.Contains("Otchatsa.Engine", closure);
        Assert.Contains("Microsoft.ML.OnnxRuntime", closure);
        foreach (var forbidden in NeverInWorker)
        {
            Assert.DoesNotContain(forbidden, closure);
        }
    }

    [Fact]
    public void The_engine_and_the_discord_library_reference_none_of_our_other_assemblies_even_indirectly()
    {
        Assert.Equal(["Otchatsa.Engine"], Closure("Otchatsa.Engine").Where(IsOurs).ToArray());
        Assert.Equal(["Otchatsa.Discord"], Closure("Otchatsa.Discord").Where(IsOurs).ToArray());
    }

    private static List<string> Violations(IReadOnlyDictionary<string, string[]> allowed)
    {
        var violations = new List<string>();
        foreach (var (name, mayUse) in allowed)
        {
            foreach (var used in Load(name).GetReferencedAssemblies().Select(r => r.Name!).Where(IsOurs))
            {
                if (!mayUse.Contains(used))
                {
                    violations.Add($"{name} → {used}");
                }
            }
        }
        return violations;
    }

    private static HashSet<string> Closure(string root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { root };
        var queue = new Queue<Assembly>([Load(root)]);
        while (queue.TryDequeue(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (seen.Add(reference.Name!) && TryLoad(reference) is { } loaded)
                {
                    queue.Enqueue(loaded);
                }
            }
        }
        return seen;
    }

    private static bool IsOurs(string name) => name.StartsWith("Otchatsa.", StringComparison.Ordinal) || name == "otchatsa";

    private static Assembly Load(string name) => Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, name + ".dll"));

    private static Assembly? TryLoad(AssemblyName name)
    {
        // Framework assemblies come from the shared runtime; only walk what ships beside the program.
        var path = Path.Combine(AppContext.BaseDirectory, name.Name + ".dll");
        return File.Exists(path) ? Assembly.LoadFrom(path) : null;
    }
}
