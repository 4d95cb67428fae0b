using System.Text.Json.Nodes;
using System.Text.Json;
using Otchatsa.Bot.Discord;
using Otchatsa.Discord;
using Otchatsa.Discord.Models;

namespace Otchatsa.Tests.Discord;

/// <summary>The app's own Discord commands, as the client library will serialise them for registration.</summary>
public sealed class OtchatsaCommandsTests
{
    private static readonly ApplicationCommandChoice[] Styles =
    [
        new("Romantic 로맨틱", "romantic"),
        new("Street 스트리트", "street"),
        new("Military 밀리터리", "military"),
    ];

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
    public void Guild_commands_are_exactly_the_expected_body()
    {
        AssertJsonEqual(JsonNode.Parse(ExpectedCommands), Serialize(OtchatsaCommands.Build(Styles, global: false)));
    }

    [Fact]
    public void Global_commands_add_contexts_and_integration_types()
    {
        var expected = JsonNode.Parse(ExpectedCommands)!.AsArray();
        foreach (var command in expected)
        {
            command!["contexts"] = new JsonArray(0, 1);
            command["integration_types"] = new JsonArray(0);
        }

        AssertJsonEqual(expected, Serialize(OtchatsaCommands.Build(Styles, global: true)));
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

    private static JsonNode? Serialize(IReadOnlyList<ApplicationCommandProperties> commands) =>
        JsonSerializer.SerializeToNode(commands, DiscordJson.Options);

    private static void AssertJsonEqual(JsonNode? expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual),
            $"expected {expected?.ToJsonString()}\nactual   {actual?.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}");
}
