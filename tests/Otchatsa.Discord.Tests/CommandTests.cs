using System.Text.Json;
using System.Text.Json.Nodes;
using Otchatsa.Discord.Commands;
using Otchatsa.Discord.Models;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

public sealed class CommandTests
{
    private const string ExpectedCommands = """
        [
          {"name":"style","type":1,
           "description":"What a K-Fashion style is and which malls carry it; add a photo to find similar items",
           "options":[
             {"type":3,"name":"name","description":"The style","required":true,
              "choices":[{"name":"Romantic 로맨틱","value":"romantic"},{"name":"Street 스트리트","value":"street"},
                         {"name":"Military 밀리터리","value":"military"}]},
             {"type":11,"name":"image","description":"An outfit photo (optional)","required":false}]},
          {"name":"styles","type":1,"description":"List the styles Otchatsa knows"},
          {"name":"help","type":1,"description":"How to use Otchatsa"},
          {"name":"Find similar style","type":3}
        ]
        """;

    [Fact]
    public async Task Guild_registration_puts_exactly_the_expected_body_to_the_guild_route()
    {
        await using var h = await DiscordHarness.StartAsync(o => o.CommandGuildId = "400000000000000001");
        await h.WaitReadyAsync();

        var put = Assert.Single(h.Fake.Requests, r => r.Method == "PUT");
        Assert.Equal($"applications/{FakeDiscordServer.ApplicationId}/guilds/400000000000000001/commands", put.Path);
        Assert.StartsWith("application/json", put.ContentType, StringComparison.Ordinal);
        AssertJsonEqual(JsonNode.Parse(ExpectedCommands), put.Json);
    }

    [Fact]
    public async Task Global_registration_adds_contexts_and_integration_types()
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();

        var put = Assert.Single(h.Fake.Requests, r => r.Method == "PUT");
        Assert.Equal($"applications/{FakeDiscordServer.ApplicationId}/commands", put.Path);
        var expected = JsonNode.Parse(ExpectedCommands)!.AsArray();
        foreach (var command in expected)
        {
            command!["contexts"] = new JsonArray(0, 1);
            command["integration_types"] = new JsonArray(0);
        }

        AssertJsonEqual(expected, put.Json);
    }

    [Fact]
    public void More_than_25_choices_or_an_empty_list_are_refused()
    {
        var many = Enumerable.Range(0, 26).Select(i => new ApplicationCommandChoice($"s{i}", $"s{i}")).ToArray();
        Assert.Throws<ArgumentException>(() => OtchatsaCommands.Build(many, global: true));
        Assert.Throws<ArgumentException>(() => OtchatsaCommands.Build([], global: true));
    }

    [Fact]
    public void All_23_styles_fit_one_choice_list()
    {
        var styles = Enumerable.Range(0, 23).Select(i => new ApplicationCommandChoice($"Style {i}", $"style{i}")).ToArray();
        var style = OtchatsaCommands.Build(styles, global: false)[0];
        Assert.Equal(23, style.Options![0].Choices!.Count);
    }

    private static void AssertJsonEqual(JsonNode? expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual),
            $"expected {expected?.ToJsonString()}\nactual   {actual?.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}");
}
