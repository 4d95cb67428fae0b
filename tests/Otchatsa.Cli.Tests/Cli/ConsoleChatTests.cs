using Otchatsa.Cli.Commands;
using Otchatsa.Conversation;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Cli;

public sealed class ConsoleChatTests
{
    private static OtchatsaConversation NewConversation() => new(DemoIndex.Runtime, new InMemoryChatPreferences());

    [Fact]
    public void The_console_chat_answers_image_paths_and_commands_as_text()
    {
        var output = new StringWriter();
        var chat = new ConsoleChat(NewConversation(), new ChatKey("console", "1"), output, saveDirectory: null);

        chat.Say(DemoIndex.QueryImage);
        chat.Say("/style romantic");
        chat.Say("/no/such/file.jpg");

        var text = output.ToString();
        Assert.Contains("Malls with this vibe:", text, StringComparison.Ordinal);
        Assert.Contains("item 9: demo-", text, StringComparison.Ordinal);
        Assert.Contains("[demo-", text, StringComparison.Ordinal);
        Assert.Contains("Romantic (로맨틱)", text, StringComparison.Ordinal);
        Assert.Contains("does not exist", text, StringComparison.Ordinal);
    }
}
