namespace Otchatsa.Discord.Rest;

/// <summary>
/// One REST call: <see cref="Template"/> names the route for rate limiting and logs (it never contains ids or
/// interaction tokens), <see cref="Path"/> is what is requested.
/// </summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Template">Route with placeholders, e.g. <c>channels/{channel_id}/messages</c>.</param>
/// <param name="Path">Route with values, relative to the API base.</param>
/// <param name="MajorParameter">Channel, guild or webhook id: Discord keeps separate buckets per value.</param>
/// <param name="ExemptFromGlobalLimit">Interaction callbacks and webhooks are outside the global limit.</param>
public sealed record RestRoute(
    HttpMethod Method, string Template, string Path, string MajorParameter = "", bool ExemptFromGlobalLimit = false)
{
    /// <summary>The key under which the bucket of this route is looked up before its hash is known.</summary>
    public string RouteKey => $"{Method.Method} {Template}";

    /// <inheritdoc />
    public override string ToString() => RouteKey;
}
