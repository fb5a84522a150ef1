package bot

import (
	"context"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/core"
	"github.com/infracloudio/msbotbuilder-go/core/activity"
	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/bot/connector"
)

// User identifies a Teams user across conversations: the Entra tenant and the
// user's object ID. Channels without Entra identities (local tools) fall back to
// the channel's own user ID.
type User struct {
	TenantID string
	ObjectID string
	Name     string
}

// Key is the stable identity used to store the user's ServiceNow sign-in.
func (u User) Key() string {
	return strings.ToLower(u.TenantID) + "/" + strings.ToLower(u.ObjectID)
}

// userOf reads who sent an activity.
func userOf(a schema.Activity) User {
	tenant := a.Conversation.TenantID
	if tenant == "" {
		if t, ok := a.ChannelData["tenant"].(map[string]any); ok {
			tenant, _ = t["id"].(string)
		}
	}
	id := a.From.AadObjectID
	if id == "" {
		id = a.ChannelID + ":" + a.From.ID
	}
	return User{TenantID: tenant, ObjectID: id, Name: a.From.Name}
}

// Turn is one incoming activity and the means to answer it.
type Turn struct {
	Activity schema.Activity
	User     User
	sender   *Sender
	later    []func(ctx context.Context)
}

// Later runs work after an invoke has been answered (the channel waits for
// the invoke's response, not for what follows from it). It may only be used
// while handling an invoke.
func (t *Turn) Later(f func(ctx context.Context)) { t.later = append(t.later, f) }

func newTurn(a schema.Activity, s *Sender) *Turn {
	return &Turn{Activity: a, User: userOf(a), sender: s}
}

// ResumedAt is a turn that answers in the conversation of ref, for the same
// user: a command resumed after sign-in.
func (t *Turn) ResumedAt(ref schema.ConversationReference) *Turn {
	ref.ActivityID = "" // a new message, not a reply to the old one
	a := activity.ApplyConversationReference(schema.Activity{Type: schema.Message}, ref, true)
	r := newTurn(a, t.sender)
	r.User = t.User // the user who completed the sign-in, who is the one who asked
	return r
}

// Reference is where replies to this turn go.
func (t *Turn) Reference() schema.ConversationReference {
	return activity.GetCoversationReference(t.Activity)
}

// Personal reports whether the turn comes from a 1:1 chat with the bot.
func (t *Turn) Personal() bool {
	c := t.Activity.Conversation
	return !c.IsGroup && (c.ConversationType == "" || c.ConversationType == "personal")
}

// Reply sends a message into the turn's conversation and returns its id.
func (t *Turn) Reply(ctx context.Context, m Message) (string, error) {
	return t.sender.Send(ctx, t.Reference(), m)
}

// Update replaces the message with this id in the turn's conversation (a card
// whose button was pressed, say).
func (t *Turn) Update(ctx context.Context, id string, m Message) error {
	return t.sender.Update(ctx, t.Reference(), id, m)
}

// Typing shows the typing indicator while slow work runs. Failures are only
// logged by the connector: a missing indicator must not fail the turn.
func (t *Turn) Typing(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, typingBudget)
	defer cancel()
	_ = t.sender.Typing(ctx, t.Reference())
}

// typingBudget bounds a typing indicator, throttling included: it is a courtesy.
const typingBudget = 2 * time.Second

// Message is what the bot says: text, and optionally cards.
type Message struct {
	Text        string
	Attachments []schema.Attachment
}

// Text is a plain message.
func Text(s string) Message { return Message{Text: s} }

// Sender addresses and sends the bot's activities.
type Sender struct {
	connector *connector.Client
	adapter   *core.BotFrameworkAdapter
}

// Send posts a message to the conversation of ref.
//
// The library's SendActivity builds the reply-to URL from the wrong field (the
// new activity's id instead of replyToId), so sending goes through the
// connector directly; addressing still uses the library's helpers.
func (s *Sender) Send(ctx context.Context, ref schema.ConversationReference, m Message) (string, error) {
	a := schema.Activity{Type: schema.Message, Text: m.Text, Attachments: m.Attachments, TextFormat: "markdown"}
	if len(m.Attachments) > 0 && m.Text == "" {
		a.TextFormat = ""
	}
	a = activity.ApplyConversationReference(a, ref, false)
	return s.connector.Send(ctx, a)
}

// Typing sends a typing indicator to the conversation of ref.
func (s *Sender) Typing(ctx context.Context, ref schema.ConversationReference) error {
	a := activity.ApplyConversationReference(schema.Activity{Type: schema.Typing}, ref, false)
	a.ReplyToID = ""
	_, err := s.connector.Send(ctx, a)
	return err
}

// Update replaces the message with this id, through the library's adapter.
func (s *Sender) Update(ctx context.Context, ref schema.ConversationReference, id string, m Message) error {
	a := schema.Activity{Type: schema.Message, Text: m.Text, Attachments: m.Attachments}
	a = activity.ApplyConversationReference(a, ref, false)
	a.ID = id
	a.ReplyToID = ""
	return s.adapter.UpdateActivity(ctx, a)
}
