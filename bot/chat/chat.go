// Package chat is snowbot's conversation in Teams: the commands people type,
// the cards they press, signing in to ServiceNow, and what each ServiceNow
// capability says. One file per capability (incidents.go, signin.go, …); the
// Teams transport is package bot, sign-in protocol and storage package auth,
// and the ServiceNow client package servicenow.
package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"
	"golang.org/x/net/html"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// Conversation is what snowbot says and does in Teams: it implements bot.Handler.
type Conversation struct {
	Log         *slog.Logger
	Auth        *auth.Service
	ServiceNow  *servicenow.Client
	ResolveCode string // SERVICENOW_RESOLVE_CODE
	// Prefixes map record numbers to tables (SERVICENOW_NUMBER_PREFIXES over
	// the defaults); SearchTables are what searchRecords searches
	// (SERVICENOW_SEARCH_TABLES). Nil: the defaults.
	Prefixes     servicenow.Prefixes
	SearchTables []string
	// Locks are short claims every instance sees: deciding an approval.
	Locks Locks

	chats knownChats // whose 1:1 chats are kept for notifications already
}

var _ bot.Handler = (*Conversation)(nil)

// OnMessage answers typed text, a verification code, or a submitted card.
// Afterwards it keeps the person's chat for notifications (once in a while,
// not at every message), when the answer is on its way.
func (c *Conversation) OnMessage(ctx context.Context, t *bot.Turn) error {
	defer c.rememberChat(ctx, t)
	if len(t.Activity.Value) > 0 && strings.TrimSpace(t.Activity.Text) == "" {
		return c.onSubmit(ctx, t, t.Activity.Value)
	}
	if len(t.Activity.Attachments) > 0 && onlyMarkup(t.Activity.Text) {
		return nil // a card or file shared into the chat (a search result, say): nothing asked
	}
	if code := auth.NormalizeCode(cleanText(t.Activity.Text)); code != "" {
		return c.completeSignIn(ctx, t, code, false)
	}
	return c.onCommand(ctx, t, t.Activity.Text)
}

// OnBotAdded welcomes the people of a conversation the bot was added to.
func (c *Conversation) OnBotAdded(ctx context.Context, t *bot.Turn) error {
	msg := HelpMessage()
	msg.Text = "Hi! I'm snowbot: I bring your ServiceNow incidents into Teams. The first time you use a ServiceNow command I'll ask you to sign in to ServiceNow once."
	if !t.Personal() {
		msg.Text += " Mention me with a command here and I answer you in our 1:1 chat, where only you see your ServiceNow data. To share an incident or an article here, use my search in the message box."
	}
	c.chats.forget(t.User.Key())
	defer c.rememberChat(ctx, t) // added again after a removal: notifications find the chat again
	return c.reply(ctx, t, msg)
}

// OnInstallationUpdate notes installs and removals; the welcome comes with
// the conversation update. A person who removes the app from their 1:1 chat
// gets no notifications until they add it again.
func (c *Conversation) OnInstallationUpdate(ctx context.Context, t *bot.Turn) error {
	c.Log.InfoContext(ctx, "installation update", "action", t.Activity.Action)
	if !t.Personal() || !strings.HasPrefix(t.Activity.Action, "remove") {
		return nil
	}
	c.chats.forget(t.User.Key())
	_, err := c.updateContact(ctx, t.User.Key(), func(ct *Contact) { ct.Gone = true })
	if err != nil && !errors.Is(err, auth.ErrSignInRequired) {
		return err
	}
	return nil
}

// OnSigninVerifyState completes a sign-in from Teams' sign-in pop-up: the page
// handed the verification code to Teams, which sends it here as the state.
func (c *Conversation) OnSigninVerifyState(ctx context.Context, t *bot.Turn, s bot.SigninState) bot.InvokeResponse {
	code := auth.NormalizeCode(s.State)
	if code == "" {
		c.Log.InfoContext(ctx, "sign-in pop-up closed without a code")
		return bot.InvokeResponse{Status: http.StatusOK}
	}
	t.Later(func(ctx context.Context) {
		if err := c.completeSignIn(ctx, t, code, true); err != nil {
			c.Log.ErrorContext(ctx, "completing the sign-in failed", "error", err)
		}
	})
	return bot.InvokeResponse{Status: http.StatusOK}
}

// resume is what a sign-in card remembers of the command that asked for it.
type resume struct {
	Text  string         `json:"text,omitempty"`
	Value map[string]any `json:"value,omitempty"`
	// Ref is the conversation the command came from: its answer goes there.
	Ref *schema.ConversationReference `json:"ref,omitempty"`
}

// reply sends a message and logs nothing more: delivery failures are logged by the connector.
func (c *Conversation) reply(ctx context.Context, t *bot.Turn, m bot.Message) error {
	_, err := t.Reply(ctx, m)
	return err
}

// answer sends what a command came to.
func (c *Conversation) answer(ctx context.Context, t *bot.Turn, o outcome) error {
	if o.err != nil {
		return o.err
	}
	return c.reply(ctx, t, o.answer)
}

func cardMessage(c cards.Card) bot.Message {
	return bot.Message{Attachments: []schema.Attachment{c.Attachment()}}
}

// newFormID names one card with buttons, for recognising a second click.
func newFormID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// outcome is what a command came to.
type outcome struct {
	answer bot.Message  // what the person is told
	done   bool         // the command did what was asked, or found it already done
	card   *bot.Message // for a submitted card: what the card becomes (nil: unchanged)
	err    error        // unexpected: logged, and the person gets an apology
	// failure is what went wrong with ServiceNow when answer explains it.
	failure failure
}

func said(m bot.Message) outcome { return outcome{answer: m, done: true} }

// onlyMarkup reports whether a message's text holds no words outside its HTML
// tags, as when Teams sends a card someone inserted from a message extension.
func onlyMarkup(text string) bool {
	z := html.NewTokenizer(strings.NewReader(text))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return true
		case html.TextToken:
			if strings.TrimSpace(strings.ReplaceAll(string(z.Text()), "\u00a0", "")) != "" {
				return false
			}
		}
	}
}
