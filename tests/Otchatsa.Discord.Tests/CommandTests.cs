using System.Text.Json.Nodes;
using System.Text.Json;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

public sealed class CommandTests
{
    [Fact]
    public async Task Guild_registration_puts_exactly_the_commands_to_the_guild_route()
    {
        await using var h = await DiscordHarness.StartAsync(o => o.CommandGuildId = "400000000000000001");
        await h.WaitReadyAsync();

        var put = Assert.Single(h.Fake.Requests, r => r.Method == "PUT");
        Assert.Equal($"applications/{FakeDiscordServer.ApplicationId}/guilds/400000000000000001/commands", put.Path);
        Assert.StartsWith("application/json", put.ContentType, StringComparison.Ordinal);
        AssertJsonEqual(JsonNode.Parse(ExpectedCommands), put.Json);
    }

    [Fact]
    public async Task Global_registration_puts_the_same_body_to_the_application_route()
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();

        var put = Assert.Single(h.Fake.Requests, r => r.Method == "PUT");
        Assert.Equal($"applications/{FakeDiscordServer.ApplicationId}/commands", put.Path);
        AssertJsonEqual(JsonNode.Parse(ExpectedCommands), put.Json);
    }

    private const string ExpectedCommands = """
        [
          {"name":"style","type":1,"description":"A style",
           "options":[
             {"type":3,"name":"name","description":"The style","required":true,
              "choices":[{"name":"Romantic 로맨틱","value":"romantic"},{"name":"Street 스트리트","value":"street"},
                         {"name":"Military 밀리터리","value":"military"}]},
             {"type":11,"name":"image","description":"A photo","required":false}]},
          {"name":"styles","type":1,"description":"The styles"},
          {"name":"help","type":1,"description":"Help"},
          {"name":"Find similar style","type":3}
        ]
        """;

    private static void AssertJsonEqual(JsonNode? expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual),
            $"expected {expected?.ToJsonString()}\nactual   {actual?.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}");
}
