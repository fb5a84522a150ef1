// Package bot is the Teams transport: it authenticates Bot Framework
// activities, routes them by type and invoke name to a Handler, and sends
// replies, updates and proactive messages through the connector. It knows
// nothing of ServiceNow or of signing people in: what the bot says is package
// bot/chat.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bfauth "github.com/infracloudio/msbotbuilder-go/connector/auth"
	"github.com/infracloudio/msbotbuilder-go/core"
	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/bot/channelauth"
	"snowbot/bot/connector"
)

// MaxBody is the largest activity accepted on /api/messages.
const MaxBody = 256 << 10

// turnTimeout bounds one turn, replies included.
const turnTimeout = 2 * time.Minute

// Options configure a Bot.
type Options struct {
	// AppID is the bot's Entra app ID; empty means development mode.
	AppID string
	// Validator checks channel tokens; required unless in development mode.
	Validator *channelauth.Validator
	// Connector sends activities; its token source is nil in development mode.
	Connector *connector.Client
	// AllowedTenants, when not empty, limits the bot to users of these tenants.
	AllowedTenants []string
	// Handler answers activities.
	Handler Handler
	// SendLog, when several instances share one, paces their notifications
	// together; nil paces this instance alone.
	SendLog SendLog
	Log     *slog.Logger
}

// Bot is the http.Handler behind POST /api/messages.
type Bot struct {
	opts    Options
	adapter *core.BotFrameworkAdapter
	sender  *Sender
	log     *slog.Logger

	base     context.Context
	cancel   context.CancelFunc
	turns    sync.WaitGroup
	inFlight atomic.Int64
	idle     chan func() // workers waiting for a turn to run
	workers  atomic.Int64
}

// New returns a Bot. It uses msbotbuilder-go's adapter for parsing and
// authenticating activities, with the project's validator plugged into the
// adapter's field in place of the library's own.
func New(opts Options) (*Bot, error) {
	if opts.Handler == nil || opts.Connector == nil {
		return nil, errors.New("bot: Handler and Connector are required")
	}
	if opts.AppID != "" && opts.Validator == nil {
		return nil, errors.New("bot: a Validator is required outside development mode")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	// The library's adapter parses and authenticates requests, with the
	// project's validator in place of its own; it sends nothing.
	adapter := &core.BotFrameworkAdapter{AdapterSetting: core.AdapterSetting{AppID: opts.AppID}}
	if opts.Validator != nil {
		adapter.TokenValidator = activitiesOnly{opts.Validator}
	}
	base, cancel := context.WithCancel(context.Background())
	var allowed map[string]bool
	if len(opts.AllowedTenants) > 0 {
		allowed = map[string]bool{}
		for _, t := range opts.AllowedTenants {
			allowed[strings.ToLower(t)] = true
		}
	}
	b := &Bot{
		opts:    opts,
		adapter: adapter,
		sender:  newSender(opts.Connector, opts.SendLog, allowed, opts.Log),
		log:     opts.Log,
		base:    base,
		cancel:  cancel,
		idle:    make(chan func()),
	}
	return b, nil
}

// Sender returns the bot's sender, for proactive messages.
func (b *Bot) Sender() *Sender { return b.sender }

// ServeHTTP authenticates an activity and answers it: invokes in the response
// body, everything else through the connector after a 200.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST Bot Framework activities here", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	act, err := b.parse(r)
	if err != nil {
		status, msg := http.StatusBadRequest, "not a Bot Framework activity"
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			status, msg = http.StatusRequestEntityTooLarge, "activity too large"
		case errors.Is(err, channelauth.ErrKeysUnavailable):
			// The token may be genuine: ask the channel to send it again later.
			status, msg = http.StatusServiceUnavailable, "signing keys unavailable, try again later"
			w.Header().Set("Retry-After", "5")
		case errors.Is(err, channelauth.ErrUnauthorized):
			status, msg = http.StatusUnauthorized, "unauthorized"
		}
		b.log.WarnContext(r.Context(), "activity refused", "status", status, "reason", err.Error())
		http.Error(w, msg, status)
		return
	}
	ctx := r.Context()
	// One log line per activity, once it is answered: what it was and the answer's status.
	status := http.StatusOK
	defer func() {
		attrs := []any{"type", act.Type, "activity_id", act.ID, "conversation", act.Conversation.ID, "channel", act.ChannelID, "status", status}
		if act.Name != "" {
			attrs = append(attrs, "name", act.Name)
		}
		b.log.InfoContext(ctx, "activity", attrs...)
	}()

	turn := newTurn(act, b.sender)
	// The turn's span: from here to the end of its answer, the work after the
	// 200 included. It is the activity's one span.
	ctx, end := startTurn(ctx, act)
	if !b.tenantAllowed(turn.User.TenantID) {
		b.refuseTenant(ctx, w, turn)
		end(outcomeRefused)
		return
	}

	if act.Type == schema.Invoke {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, outcome := b.invoke(ictx, turn)
		cancel()
		status = writeInvokeResponse(w, resp)
		if len(turn.later) > 0 {
			// The turn goes on after its answer: its span and duration too.
			b.background(ctx, func(ctx context.Context) { turn.RunLater(ctx); end(outcome) })
			return
		}
		end(outcome)
		return
	}

	b.background(ctx, func(ctx context.Context) { b.run(ctx, turn, end) })
	w.WriteHeader(http.StatusOK)
}

// parse reads and authenticates the activity.
func (b *Bot) parse(r *http.Request) (schema.Activity, error) {
	var act schema.Activity
	if b.opts.AppID == "" {
		// Development mode: no identity to check tokens against, so only this machine may talk to the bot.
		if !fromLoopback(r) {
			return act, fmt.Errorf("%w: development mode accepts activities only from loopback addresses", channelauth.ErrUnauthorized)
		}
		if err := json.NewDecoder(r.Body).Decode(&act); err != nil {
			return act, fmt.Errorf("decoding activity: %w", err)
		}
		if act.ServiceURL != "" && !loopbackURL(act.ServiceURL) {
			// Replies go to serviceUrl: without a token to vouch for it, only this machine may be the channel.
			return act, fmt.Errorf("%w: development mode answers only a channel on this machine, not serviceUrl %q", channelauth.ErrUnauthorized, act.ServiceURL)
		}
	} else {
		if strings.TrimSpace(r.Header.Get("Authorization")) == "" {
			return act, fmt.Errorf("%w: no Authorization header", channelauth.ErrUnauthorized)
		}
		var err error
		if act, err = b.adapter.ParseRequest(r.Context(), r); err != nil {
			return act, err
		}
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return act, err // surfaces a body over MaxBody after the JSON value
	}
	return act, validActivity(act)
}

// activitiesOnly refuses JSON that is not an activity before checking its
// token, so such a body is a 400 whatever its Authorization header says.
type activitiesOnly struct{ v *channelauth.Validator }

func (s activitiesOnly) AuthenticateRequest(ctx context.Context, a schema.Activity, header string, cred bfauth.CredentialProvider, channelService string) (bfauth.ClaimsIdentity, error) {
	if err := validActivity(a); err != nil {
		return nil, err
	}
	return s.v.AuthenticateRequest(ctx, a, header, cred, channelService)
}

// validActivity refuses JSON that is not an activity the bot could answer.
func validActivity(a schema.Activity) error {
	switch {
	case a.Type == "":
		return errors.New("activity has no type")
	case a.Conversation.ID == "":
		return errors.New("activity has no conversation.id")
	case a.ServiceURL == "":
		return errors.New("activity has no serviceUrl")
	}
	u, err := url.Parse(a.ServiceURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("activity serviceUrl is not an http(s) URL")
	}
	return nil
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackURL reports whether a URL points at this machine.
func loopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Hostname(), "localhost") {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func (b *Bot) tenantAllowed(tenant string) bool { return b.sender.TenantAllowed(tenant) }

// refuseTenant answers a user of a tenant that is not allowed, storing nothing.
func (b *Bot) refuseTenant(ctx context.Context, w http.ResponseWriter, t *Turn) {
	b.log.WarnContext(ctx, "activity from a tenant that is not allowed", "tenant", t.User.TenantID)
	const msg = "Sorry, snowbot is not enabled for your organisation. Ask your Teams administrator if you need it."
	if t.Activity.Type == schema.Invoke {
		writeInvokeResponse(w, InvokeResponse{Status: http.StatusForbidden, Body: map[string]string{"message": msg}})
		return
	}
	if t.Activity.Type == schema.Message {
		if _, err := t.Reply(ctx, Text(msg)); err != nil {
			b.log.ErrorContext(ctx, "refusal not delivered", "error", err)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// run answers a non-invoke activity, turning a panic or an error into a reply.
func (b *Bot) run(ctx context.Context, t *Turn, end func(outcome string)) {
	outcome := outcomeOK
	defer func() { end(outcome) }()
	defer func() {
		if p := recover(); p != nil {
			outcome = outcomePanic
			b.log.ErrorContext(ctx, "turn panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			b.apologise(ctx, t)
		}
	}()
	if err := b.route(ctx, t); err != nil {
		outcome = outcomeError
		b.log.ErrorContext(ctx, "turn failed", "error", err)
		if !errors.Is(err, connector.ErrNotDelivered) {
			b.apologise(ctx, t) // no point apologising where nothing gets through
		}
	}
}

func (b *Bot) invoke(ctx context.Context, t *Turn) (resp InvokeResponse, outcome string) {
	outcome = outcomeOK
	defer func() {
		if p := recover(); p != nil {
			outcome = outcomePanic
			b.log.ErrorContext(ctx, "invoke panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = InvokeResponse{Status: http.StatusInternalServerError}
			return
		}
		if resp.Status >= http.StatusInternalServerError {
			outcome = outcomeError
		}
	}()
	return b.routeInvoke(ctx, t), outcomeOK
}

func (b *Bot) apologise(ctx context.Context, t *Turn) {
	if t.Activity.Type != schema.Message {
		return
	}
	msg := "Sorry, something went wrong on my side. Please try again in a moment."
	if _, err := t.Reply(ctx, Text(msg)); err != nil {
		b.log.ErrorContext(ctx, "apology not delivered", "error", err)
	}
}
