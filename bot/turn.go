package bot

import (
	"context"
	"strings"
	"sync"
	"time"

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
	sender   Replier
	later    []func(ctx context.Context)
}

// Replier is how a turn's answers reach the channel: the bot's Sender, or
// in a test of the conversation, a recorder of what would have been sent.
type Replier interface {
	// Send posts a message to the conversation of ref and returns its id.
	Send(ctx context.Context, ref schema.ConversationReference, m Message) (string, error)
	// Update replaces the message with this id in the conversation of ref.
	Update(ctx context.Context, ref schema.ConversationReference, id string, m Message) error
	// Typing shows the typing indicator in the conversation of ref.
	Typing(ctx context.Context, ref schema.ConversationReference) error
	// OpenPersonal starts (or finds) the 1:1 conversation of member with the
	// bot, and returns its id.
	OpenPersonal(ctx context.Context, serviceURL string, bot, member schema.ChannelAccount, tenant string) (string, error)
}

// NewTurn is a turn for activity a whose answers go through r: what the bot
// builds for every activity it is sent, and what a test of the conversation
// builds to run one in-process.
func NewTurn(a schema.Activity, r Replier) *Turn { return newTurn(a, r) }

// Later runs work after an invoke has been answered (the channel waits for
// the invoke's response, not for what follows from it). It may only be used
// while handling an invoke.
func (t *Turn) Later(f func(ctx context.Context)) { t.later = append(t.later, f) }

// RunLater runs the work Later queued: the bot does so once the invoke's
// response is written.
func (t *Turn) RunLater(ctx context.Context) {
	for _, f := range t.later {
		f(ctx)
	}
}

func newTurn(a schema.Activity, s Replier) *Turn {
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

// Privately is the turn addressed to its person's 1:1 chat with the bot,
// started if there is none yet: where an answer goes that others must not see.
// A turn of a 1:1 chat is itself.
func (t *Turn) Privately(ctx context.Context) (*Turn, error) {
	if t.Personal() {
		return t, nil
	}
	a := t.Activity
	tenant := t.User.TenantID
	id, err := t.sender.OpenPersonal(ctx, a.ServiceURL, a.Recipient, a.From, tenant)
	if err != nil {
		return nil, err
	}
	ref := t.Reference()
	ref.Conversation = schema.ConversationAccount{ID: id, ConversationType: "personal", TenantID: tenant}
	return t.ResumedAt(ref), nil
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

// InChannel reports whether the turn comes from a team's channel.
func (t *Turn) InChannel() bool { return t.Activity.Conversation.ConversationType == "channel" }

// ChannelReference is where new posts to the turn's channel go: its
// conversation without the thread (";messageid=…") the turn came from.
func (t *Turn) ChannelReference() schema.ConversationReference {
	ref := t.Reference()
	ref.ActivityID = ""
	ref.Conversation.ID = ChannelOf(ref.Conversation.ID)
	return ref
}

// ChannelOf is a channel conversation id without its thread.
func ChannelOf(conversationID string) string {
	id, _, _ := strings.Cut(conversationID, ";messageid=")
	return id
}

// ThreadOf is the conversation id of the thread that a channel post with
// this activity id starts: replies posted to it appear under the post.
func ThreadOf(channelID, postID string) string { return ChannelOf(channelID) + ";messageid=" + postID }

// Reply sends a message into the turn's conversation and returns its id.
func (t *Turn) Reply(ctx context.Context, m Message) (string, error) {
	return t.sender.Send(ctx, t.Reference(), m)
}

// Update replaces the message with this id in the turn's conversation (a card
// whose button was pressed, say).
func (t *Turn) Update(ctx context.Context, id string, m Message) error {
	return t.sender.Update(ctx, t.Reference(), id, m)
}

// TypingWhile shows the typing indicator while slow work runs, and returns the
// function that ends it. It never delays the work or the answer: the indicator
// goes out from a timer of its own, only once the work has taken typingDelay (a
// quick answer needs none, and the extra round trip to the channel would cost
// every turn), again every typingRepeat while it lasts, and a failure to send
// it is only logged by the connector.
func (t *Turn) TypingWhile(ctx context.Context) (stop func()) {
	var (
		mu       sync.Mutex // guards what follows against the timer's own goroutine
		stopped  bool
		inFlight context.CancelFunc // ends an indicator still on its way when the answer is ready
		timer    *time.Timer
	)
	timer = time.AfterFunc(typingDelay, func() {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		tctx, cancel := context.WithTimeout(ctx, typingBudget)
		inFlight = cancel
		mu.Unlock()
		_ = t.sender.Typing(tctx, t.Reference())
		cancel()
		mu.Lock()
		if !stopped && ctx.Err() == nil {
			timer.Reset(typingRepeat)
		}
		mu.Unlock()
	})
	return func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		if inFlight != nil {
			inFlight()
		}
		mu.Unlock()
	}
}

// The typing indicator's timing: Teams shows it for a few seconds.
const (
	typingDelay  = 250 * time.Millisecond
	typingRepeat = 3 * time.Second
	typingBudget = 2 * time.Second // one indicator, throttling included: it is a courtesy
)

// Message is what the bot says: text, and optionally cards.
type Message struct {
	Text        string
	Attachments []schema.Attachment
}

// Text is a plain message.
func Text(s string) Message { return Message{Text: s} }

// activity is the message as the connector sends it.
func (m Message) activity() connector.Activity {
	a := connector.Activity{Type: schema.Message, Text: m.Text, Attachments: m.Attachments}
	if m.Text != "" {
		a.TextFormat = "markdown"
	}
	return a
}
