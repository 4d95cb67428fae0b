using Otchatsa.Catalog;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Catalog;

public sealed class AtomicDirectoryTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Target => Path.Combine(_dir.Path, "index");

    private string[] Siblings() => Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void A_first_build_creates_the_directory()
    {
        AtomicDirectory.Build(Target, work => File.WriteAllText(Path.Combine(work, "a.txt"), "new"));

        Assert.Equal("new", File.ReadAllText(Path.Combine(Target, "a.txt")));
        Assert.Equal(["index"], Siblings());
    }

    [Fact]
    public void A_successful_build_replaces_the_old_directory_entirely()
    {
        Directory.CreateDirectory(Target);
        File.WriteAllText(Path.Combine(Target, "old.txt"), "old");

        AtomicDirectory.Build(Target + Path.DirectorySeparatorChar, work => File.WriteAllText(Path.Combine(work, "a.txt"), "new"));

        Assert.Equal(["a.txt"], Directory.GetFiles(Target).Select(Path.GetFileName));
        Assert.Equal(["index"], Siblings());
    }

    [Fact]
    public void A_build_that_throws_keeps_the_old_directory_and_cleans_up_its_work()
    {
        Directory.CreateDirectory(Target);
        File.WriteAllText(Path.Combine(Target, "old.txt"), "old");

        Assert.Throws<InvalidOperationException>(() => AtomicDirectory.Build(Target, work =>
        {
            File.WriteAllText(Path.Combine(work, "half.txt"), "half");
            throw new InvalidOperationException("model crashed");
        }));

        Assert.Equal("old", File.ReadAllText(Path.Combine(Target, "old.txt")));
        Assert.Equal(["old.txt"], Directory.GetFiles(Target).Select(Path.GetFileName));
        Assert.Equal(["index"], Siblings());
    }

    [Fact]
    public async Task A_cancelled_async_build_keeps_the_old_directory()
    {
        Directory.CreateDirectory(Target);
        File.WriteAllText(Path.Combine(Target, "old.txt"), "old");
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AtomicDirectory.BuildAsync(Target, (work, ct) =>
        {
            File.WriteAllText(Path.Combine(work, "half.txt"), "half");
            cts.Cancel();
            return Task.CompletedTask;
        }, cts.Token));

        Assert.Equal(["old.txt"], Directory.GetFiles(Target).Select(Path.GetFileName));
        Assert.Equal(["index"], Siblings());
    }

    [Fact]
    public void The_work_directory_is_a_sibling_of_the_target()
    {
        using var build = AtomicDirectory.Begin(Target);

        Assert.Equal(_dir.Path, Path.GetDirectoryName(build.WorkPath));
        Assert.StartsWith("index.tmp-", Path.GetFileName(build.WorkPath));
        Assert.False(Directory.Exists(Target));
    }

    [Fact]
    public void A_target_that_is_a_file_is_refused()
    {
        File.WriteAllText(Target, "x");

        Assert.Throws<IOException>(() => AtomicDirectory.Begin(Target));
    }

    public static TheoryData<string> CrashPoints => new(AtomicDirectory.CommitSteps);

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public void A_swap_killed_at_any_step_is_completed_by_the_next_recovery(string step)
    {
        Directory.CreateDirectory(Target);
        File.WriteAllText(Path.Combine(Target, "old.txt"), "old");
        using (var build = AtomicDirectory.Begin(Target))
        {
            File.WriteAllText(Path.Combine(build.WorkPath, "new.txt"), "new");
            build.AfterStep = s => { if (s == step) throw new SimulatedCrash(); };
            Assert.Throws<SimulatedCrash>(build.Commit);
        }

        AtomicDirectory.Recover(Target);

        Assert.Equal(["new.txt"], Directory.GetFiles(Target).Select(Path.GetFileName));
        Assert.Equal(["index"], Siblings());
    }

    [Fact]
    public void Work_folders_of_dead_builds_are_removed_by_the_next_build_but_a_running_build_is_left_alone()
    {
        var dead = Target + ".tmp-0123456789abcdef0123456789abcdef";
        Directory.CreateDirectory(dead);
        File.WriteAllText(Path.Combine(dead, "half.txt"), "half");
        using var running = AtomicDirectory.Begin(Target + "-other"); // another index's build
        using var live = AtomicDirectory.Begin(Target);

        Assert.False(Directory.Exists(dead));
        using (var next = AtomicDirectory.Begin(Target))
        {
            Assert.True(Directory.Exists(live.WorkPath)); // its lock is held: a build in progress
        }
        live.Commit();
        var other = Path.GetFileName(running.WorkPath);
        Assert.Equal(new[] { "index", other, other + ".lock" }.Order(StringComparer.Ordinal), Siblings().Order(StringComparer.Ordinal));
    }

    private sealed class SimulatedCrash : Exception;
}
