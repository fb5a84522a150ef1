package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/bot/connector"
)

// Sender addresses and sends the bot's activities.
//
// msbotbuilder-go's SendActivity builds the reply-to URL from the wrong field
// (the new activity's id instead of replyToId) and its adapter encodes the
// library's schema types, so sending goes through the connector directly.
type Sender struct {
	connector *connector.Client
	log       *slog.Logger
	// Messages nobody asked for are paced to Teams' limits, per conversation
	// and per tenant: through shared, when every instance shares one log,
	// and in this process otherwise (or while the shared log cannot be had).
	shared                 SendLog
	conversations, tenants *pacer
	// allowed, when not nil, are the tenants the bot may talk to.
	allowed map[string]bool
}

// SendLog is a log of send times every instance shares (the store, when
// several instances share one), so that together they keep within Teams'
// limits instead of each on its own.
type SendLog interface {
	// ReserveSend counts one send for key at the earliest moment from now at
	// which no window of limits is over its Max, and returns how long to
	// wait for it.
	ReserveSend(ctx context.Context, key string, limits []Window) (time.Duration, error)
}

func newSender(c *connector.Client, shared SendLog, allowed map[string]bool, log *slog.Logger) *Sender {
	return &Sender{connector: c, log: log, shared: shared, allowed: allowed,
		conversations: newPacer(conversationLimits), tenants: newPacer(tenantLimits)}
}

// Why a message nobody asked for cannot go out, now or ever.
var (
	// ErrConversationGone means the conversation no longer takes the bot's
	// messages: the person removed the app or blocked the bot (the connector
	// answered 403 or 404).
	ErrConversationGone = errors.New("the conversation no longer takes the bot's messages")
	// ErrTenantNotAllowed means the conversation's tenant is not (or no
	// longer) in ALLOWED_TENANT_IDS: nothing goes there, as nothing is
	// answered there.
	ErrTenantNotAllowed = errors.New("the conversation's tenant is not allowed")
)

// TenantAllowed reports whether the bot may talk to people of tenant.
func (s *Sender) TenantAllowed(tenant string) bool {
	return s.allowed == nil || s.allowed[strings.ToLower(tenant)]
}

// Pace waits until a message nobody asked for may go to the conversation of
// ref without it or its tenant going over Teams' limits, and returns the
// moment it was given. Call it before each Notify, and again when the send
// could not go out at that moment (see OnTime).
func (s *Sender) Pace(ctx context.Context, ref schema.ConversationReference) (time.Time, error) {
	// A channel's threads are one conversation to Teams' limits.
	if err := s.pace(ctx, "conversation:"+ref.ServiceURL+" "+ChannelOf(ref.Conversation.ID), conversationLimits, s.conversations); err != nil {
		return time.Time{}, err
	}
	if err := s.pace(ctx, "tenant:"+ref.Conversation.TenantID, tenantLimits, s.tenants); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

// paceSlack is how late a send may leave after the moment Pace gave it. A
// later one would arrive bunched with the sends given the moments after it
// (a busy process, a wait for the one send under way), and Teams counts
// arrivals: it takes a new moment instead, and the old one stays counted,
// which only spaces the others more.
const paceSlack = 50 * time.Millisecond

// OnTime reports whether a send paced for at may still go out now.
func OnTime(at time.Time) bool { return time.Since(at) <= paceSlack }

// Notify sends a message nobody asked for (a notification) to the
// conversation of ref, as a new message, once Pace let it. It tries once: a
// caller that keeps the message tries again after SendFailure's delay.
func (s *Sender) Notify(ctx context.Context, ref schema.ConversationReference, m Message) (string, error) {
	ref.ActivityID = ""
	if !s.TenantAllowed(ref.Conversation.TenantID) {
		return "", ErrTenantNotAllowed
	}
	id, err := s.connector.SendOnce(ctx, m.activity().To(ref))
	var he *connector.HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusForbidden || he.Status == http.StatusNotFound) {
		return "", fmt.Errorf("%w: %w", ErrConversationGone, err)
	}
	return id, err
}

// pace waits until a message for key may go out.
func (s *Sender) pace(ctx context.Context, key string, limits []Window, local *pacer) error {
	if s.shared != nil {
		wait, err := s.shared.ReserveSend(ctx, key, limits)
		if err == nil {
			return sleepFor(ctx, wait)
		}
		s.log.WarnContext(ctx, "the shared send log cannot be read; pacing this instance alone", "error", err)
	}
	return local.wait(ctx, key)
}

// SendFailure says what a failed Notify means: final when the message can
// never get through as it is (the chat is gone, the tenant is not allowed,
// the channel refused the activity itself); otherwise, after how long to try
// again (the channel's Retry-After, or 0 to choose).
func SendFailure(err error) (final bool, retryAfter time.Duration) {
	var he *connector.HTTPError
	switch {
	case errors.Is(err, ErrConversationGone), errors.Is(err, ErrTenantNotAllowed):
		return true, 0
	case errors.As(err, &he):
		switch {
		case he.Status == http.StatusTooManyRequests || he.Status >= 500:
			return false, he.RetryAfter
		case he.Status == http.StatusUnauthorized, he.Status == http.StatusRequestTimeout:
			return false, 0 // the bot's own credentials, or the way there: not the message
		}
		return true, 0
	}
	return false, 0
}

// Send posts a message to the conversation of ref.
func (s *Sender) Send(ctx context.Context, ref schema.ConversationReference, m Message) (string, error) {
	return s.connector.Send(ctx, m.activity().To(ref))
}

// Typing sends a typing indicator to the conversation of ref.
func (s *Sender) Typing(ctx context.Context, ref schema.ConversationReference) error {
	a := connector.Activity{Type: schema.Typing}.To(ref)
	a.ReplyToID = ""
	_, err := s.connector.Send(ctx, a)
	return err
}

// OpenPersonal starts (or finds) member's 1:1 conversation with the bot.
func (s *Sender) OpenPersonal(ctx context.Context, serviceURL string, bot, member schema.ChannelAccount, tenant string) (string, error) {
	return s.connector.CreateConversation(ctx, serviceURL, bot, member, tenant)
}

var _ Replier = (*Sender)(nil)

// Update replaces the message with this id in the conversation of ref.
func (s *Sender) Update(ctx context.Context, ref schema.ConversationReference, id string, m Message) error {
	a := m.activity().To(ref)
	a.ID = id
	return s.connector.Update(ctx, a)
}

func sleepFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
