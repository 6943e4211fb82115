using Microsoft.Playwright;
using Xunit;

namespace AutoCircuit.Host.Tests.Browser;

/// <summary>
/// The system's Chromium (Debian's <c>chromium</c> package; <c>AUTOCIRCUIT_CHROMIUM</c> names another executable), driven by
/// Playwright. Never a downloaded browser: <c>playwright install</c> is not used. CI installs the package (.ci/run).
/// </summary>
internal static class Chromium
{
    /// <summary>The executable, or <c>null</c> when there is none.</summary>
    public static string? Executable { get; } = Find();

    /// <summary>Why the browser tests skip.</summary>
    public const string Missing =
        "needs Chromium: apt-get install -y chromium (/usr/bin/chromium), or AUTOCIRCUIT_CHROMIUM=<executable>";

    /// <summary>The flags of a quiet, offline, headless Chromium (no sandbox: CI runs as root).</summary>
    public static IReadOnlyList<string> Arguments { get; } =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("AUTOCIRCUIT_CHROMIUM") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        if (File.Exists("/usr/bin/chromium"))
        {
            return "/usr/bin/chromium";
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => new[] { "chromium", "chromium-browser" }.Select(name => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>A fact that skips, saying why, where no Chromium is installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Executable is null)
        {
            Skip = Chromium.Missing;
        }
    }
}

/// <summary>One headless Chromium for a test class (starting one takes seconds).</summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    /// <summary>The browser, or <c>null</c> where there is no Chromium (the tests are skipped then).</summary>
    public IBrowser? Browser { get; private set; }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Chromium.Executable is null)
        {
            return;
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.Executable,
            Headless = true,
            Args = Chromium.Arguments,
        });
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
