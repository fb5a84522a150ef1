package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/bot/cards"
)

// App is the bot's conversation: it implements Handler.
type App struct {
	Log *slog.Logger
}

var _ Handler = (*App)(nil)

// OnMessage runs the command the user typed.
func (a *App) OnMessage(ctx context.Context, t *Turn) error {
	name, _ := ParseCommand(t.Activity.Text)
	switch name {
	case "help", "?":
		_, err := t.Reply(ctx, HelpMessage())
		return err
	case "":
		_, err := t.Reply(ctx, Text("Type **help** to see what I can do."))
		return err
	default:
		_, err := t.Reply(ctx, Text(fmt.Sprintf("I don't know the command \"%s\". Type **help** to see what I can do.", truncate(name, 40))))
		return err
	}
}

// OnBotAdded welcomes the people of a conversation the bot was added to.
func (a *App) OnBotAdded(ctx context.Context, t *Turn) error {
	msg := HelpMessage()
	msg.Text = "Hi! I'm snowbot: I bring your ServiceNow incidents into Teams. The first time you use a ServiceNow command I'll ask you to sign in to ServiceNow once."
	_, err := t.Reply(ctx, msg)
	return err
}

// OnInstallationUpdate notes installs and removals; the welcome comes with the conversation update.
func (a *App) OnInstallationUpdate(ctx context.Context, t *Turn) error {
	a.Log.InfoContext(ctx, "installation update", "action", t.Activity.Action)
	return nil
}

// OnSigninVerifyState completes a sign-in started from a sign-in card.
func (a *App) OnSigninVerifyState(ctx context.Context, t *Turn) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK}
}

// HelpMessage lists the commands as a card with a text fallback.
func HelpMessage() Message {
	facts := make([]cards.Fact, 0, len(Commands))
	var fallback strings.Builder
	fallback.WriteString("What I can do:\n")
	for _, c := range Commands {
		facts = append(facts, cards.Fact{Title: c.Usage, Value: c.Description})
		fmt.Fprintf(&fallback, "- %s: %s\n", c.Usage, c.Description)
	}
	card := cards.Card{
		Body: []cards.Element{
			cards.Title("snowbot"),
			cards.Para("I work with ServiceNow for you, as you: your incidents, your rights, your audit trail. Type one of these:"),
			cards.Facts(facts...),
		},
		Fallback: fallback.String(),
	}
	return Message{Attachments: []schema.Attachment{card.Attachment()}}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
