package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot/cards"
	"snowbot/servicenow"
)

// App is the bot's conversation: it implements Handler.
type App struct {
	Log         *slog.Logger
	Auth        *auth.Service
	ServiceNow  *servicenow.Client
	ResolveCode string // SERVICENOW_RESOLVE_CODE
}

var _ Handler = (*App)(nil)

// OnMessage answers typed text, a verification code, or a submitted card.
func (a *App) OnMessage(ctx context.Context, t *Turn) error {
	if len(t.Activity.Value) > 0 && strings.TrimSpace(t.Activity.Text) == "" {
		return a.onSubmit(ctx, t, t.Activity.Value)
	}
	if code := auth.NormalizeCode(cleanText(t.Activity.Text)); code != "" {
		return a.completeSignIn(ctx, t, code, false)
	}
	return a.onCommand(ctx, t, t.Activity.Text)
}

// onCommand runs a typed command.
func (a *App) onCommand(ctx context.Context, t *Turn, text string) error {
	name, rest := ParseCommand(text)
	switch name {
	case "help", "?":
		return a.reply(ctx, t, HelpMessage())
	case "":
		return a.reply(ctx, t, Text("Type **help** to see what I can do."))
	case "incidents":
		return a.listIncidents(ctx, t)
	case "incident":
		return a.showIncident(ctx, t, rest)
	case "create":
		if rest == "" {
			return a.reply(ctx, t, cardMessage(cards.CreateForm(newFormID())))
		}
		return a.answer(ctx, t, a.createIncident(ctx, t, servicenow.NewIncident{ShortDescription: rest}))
	case "comment":
		number, body := splitFirst(rest)
		return a.answer(ctx, t, a.comment(ctx, t, number, body, false))
	case "resolve":
		number, notes := splitFirst(rest)
		return a.answer(ctx, t, a.resolve(ctx, t, number, notes, false))
	case "signout", "logout":
		return a.signOut(ctx, t)
	default:
		return a.reply(ctx, t, Text(fmt.Sprintf("I don't know the command \"%s\". Type **help** to see what I can do.", cards.Plain(cards.Clip(name, 40)))))
	}
}

// onSubmit runs the action of a submitted card (Action.Submit data and inputs).
func (a *App) onSubmit(ctx context.Context, t *Turn, v map[string]any) error {
	str := func(k string) string { s, _ := v[k].(string); return s }
	switch str("action") {
	case cards.ActionShowIncident:
		return a.showIncident(ctx, t, str("number"))
	case cards.ActionComment:
		return a.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return a.comment(ctx, t, str("number"), str("comment"), true)
		})
	case cards.ActionResolve:
		return a.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return a.resolve(ctx, t, str("number"), str("notes"), true)
		})
	case cards.ActionCreate:
		if strings.TrimSpace(str("short_description")) == "" {
			return a.reply(ctx, t, cardMessage(cards.CreateForm(newFormID())))
		}
		return a.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return a.createIncident(ctx, t, servicenow.NewIncident{
				ShortDescription: strings.TrimSpace(str("short_description")),
				Description:      str("description"),
				Urgency:          urgency(str("urgency")),
			})
		})
	}
	return a.reply(ctx, t, Text("I did not understand that button. Type **help** to see what I can do."))
}

// OnBotAdded welcomes the people of a conversation the bot was added to.
func (a *App) OnBotAdded(ctx context.Context, t *Turn) error {
	msg := HelpMessage()
	msg.Text = "Hi! I'm snowbot: I bring your ServiceNow incidents into Teams. The first time you use a ServiceNow command I'll ask you to sign in to ServiceNow once."
	if !t.Personal() {
		msg.Text += " I work with your ServiceNow account in our 1:1 chat: select my name and choose Chat."
	}
	return a.reply(ctx, t, msg)
}

// OnInstallationUpdate notes installs and removals; the welcome comes with the conversation update.
func (a *App) OnInstallationUpdate(ctx context.Context, t *Turn) error {
	a.Log.InfoContext(ctx, "installation update", "action", t.Activity.Action)
	return nil
}

// OnSigninVerifyState completes a sign-in from Teams' sign-in pop-up: the page
// handed the verification code to Teams, which sends it here as the state.
func (a *App) OnSigninVerifyState(ctx context.Context, t *Turn) InvokeResponse {
	state, _ := t.Activity.Value["state"].(string)
	code := auth.NormalizeCode(state)
	if code == "" {
		a.Log.InfoContext(ctx, "sign-in pop-up closed without a code")
		return InvokeResponse{Status: http.StatusOK}
	}
	t.Later(func(ctx context.Context) {
		if err := a.completeSignIn(ctx, t, code, true); err != nil {
			a.Log.ErrorContext(ctx, "completing the sign-in failed", "error", err)
		}
	})
	return InvokeResponse{Status: http.StatusOK}
}

// resume is what a sign-in card remembers of the command that asked for it.
type resume struct {
	Text  string         `json:"text,omitempty"`
	Value map[string]any `json:"value,omitempty"`
	// Ref is the conversation the command came from: its answer goes there.
	Ref *schema.ConversationReference `json:"ref,omitempty"`
}

// reply sends a message and logs nothing more: delivery failures are logged by the connector.
func (a *App) reply(ctx context.Context, t *Turn, m Message) error {
	_, err := t.Reply(ctx, m)
	return err
}

// answer sends what a command came to.
func (a *App) answer(ctx context.Context, t *Turn, o outcome) error {
	if o.err != nil {
		return o.err
	}
	return a.reply(ctx, t, o.answer)
}

func cardMessage(c cards.Card) Message {
	return Message{Attachments: []schema.Attachment{c.Attachment()}}
}

// newFormID names one card with buttons, for recognising a second click.
func newFormID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// splitFirst splits "INC0010001 the rest" into the first word and the rest as typed.
func splitFirst(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t\r\n")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func urgency(v string) string {
	switch v {
	case "1", "2", "3":
		return v
	}
	return ""
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
	return cardMessage(card)
}
