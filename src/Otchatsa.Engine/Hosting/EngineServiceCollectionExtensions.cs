using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Otchatsa.Hosting;

/// <summary>Where the engine's index and models are: the <c>Otchatsa</c> section, shared by every host.</summary>
public sealed class EngineOptions
{
    public const string Section = "Otchatsa";

    /// <summary>Folder built by <c>otchatsa index build</c>.</summary>
    public string IndexPath { get; set; } = "";

    /// <summary>Folder with the models; empty = beside the program.</summary>
    public string? ModelsPath { get; set; }
}

internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.IndexPath))
        {
            errors.Add("Otchatsa:IndexPath is required (a folder built by 'otchatsa index build').");
        }
        else if (!Directory.Exists(options.IndexPath))
        {
            errors.Add($"Otchatsa:IndexPath '{options.IndexPath}' does not exist.");
        }
        if (!string.IsNullOrWhiteSpace(options.ModelsPath) && !Directory.Exists(options.ModelsPath))
        {
            errors.Add($"Otchatsa:ModelsPath '{options.ModelsPath}' does not exist.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The engine, once per container: <see cref="EngineOptions"/> bound from the <c>Otchatsa</c> section and
    /// validated when first read (the worker reads them at start to report a bad configuration in one line; the web page
    /// alone opens the runtime in the background and reports on /healthz), and the <see cref="OtchatsaRuntime"/> opened
    /// from them on first use. Every host (worker, web
    /// page, CLI <c>web</c>) registers the engine through this; calling it again is harmless, and an
    /// <see cref="OtchatsaRuntime"/> registered before it is used as is.
    /// </summary>
    public static IServiceCollection AddOtchatsaEngine(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.Section);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            return OtchatsaRuntime.Open(o.IndexPath, string.IsNullOrWhiteSpace(o.ModelsPath) ? null : o.ModelsPath);
        });
        return services;
    }
}
