using System.Diagnostics.Metrics;

namespace Otchatsa.Conversation;

/// <summary>
/// The worker's instruments (meter <c>Otchatsa</c>; Prometheus names in docs/operations.md). Static, like the meter
/// they belong to: one process runs one worker, and an exporter that is not enabled costs nothing.
/// </summary>
public static class ChatMetrics
{
    public const string MeterName = "Otchatsa";

    /// <summary>Stage names of <see cref="Stage"/>.</summary>
    public const string QueueWait = "queue_wait", Download = "download", Analyze = "analyze", Send = "send";

    private static readonly Meter Meter = new(MeterName);

    private static readonly UpDownCounter<long> Depth = Meter.CreateUpDownCounter<long>(
        "otchatsa.queue.depth", "{job}", "Jobs waiting for a worker.");

    private static readonly Counter<long> AcceptedJobs = Meter.CreateCounter<long>(
        "otchatsa.jobs.accepted", "{job}", "Chat requests stored for answering, by network.");

    private static readonly Counter<long> AnsweredJobs = Meter.CreateCounter<long>(
        "otchatsa.jobs.answered", "{job}", "Jobs whose whole reply was sent, by network.");

    private static readonly Counter<long> FailedJobs = Meter.CreateCounter<long>(
        "otchatsa.jobs.failed", "{job}", "Jobs given up on (the user got the apology, if it could be sent), by network.");

    private static readonly Counter<long> RejectedPhotos = Meter.CreateCounter<long>(
        "otchatsa.photos.rejected", "{photo}", "Requests answered with a refusal instead of an analysis, by network and reason.");

    private static readonly Histogram<double> JobDuration = Meter.CreateHistogram<double>(
        "otchatsa.job.duration", "s", "From acceptance to the last reply message (end to end, restarts included), by network and outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300] });

    private static readonly Histogram<double> StageDuration = Meter.CreateHistogram<double>(
        "otchatsa.stage.duration", "s", "Time per stage of a job (queue_wait, download, analyze, send), by network and stage.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30] });

    public static void Enqueued() => Depth.Add(1);

    public static void Dequeued() => Depth.Add(-1);

    public static void Accepted(string network, int count)
    {
        if (count > 0)
        {
            AcceptedJobs.Add(count, Tag("network", network));
        }
    }

    public static void Answered(string network, TimeSpan endToEnd)
    {
        AnsweredJobs.Add(1, Tag("network", network));
        JobDuration.Record(Math.Max(0, endToEnd.TotalSeconds), Tag("network", network), Tag("outcome", "answered"));
    }

    public static void Failed(string network, TimeSpan endToEnd)
    {
        FailedJobs.Add(1, Tag("network", network));
        JobDuration.Record(Math.Max(0, endToEnd.TotalSeconds), Tag("network", network), Tag("outcome", "failed"));
    }

    public static void Rejected(string network, string reason) =>
        RejectedPhotos.Add(1, Tag("network", network), Tag("reason", reason));

    public static void Stage(string network, string stage, TimeSpan elapsed) =>
        StageDuration.Record(elapsed.TotalSeconds, Tag("network", network), Tag("stage", stage));

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
