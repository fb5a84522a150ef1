// Package connector sends the bot's activities to the Bot Connector service:
// replies, updates, proactive messages and typing indicators, with the bot's own token,
// a timeout, and bounded retries when the channel throttles or fails.
package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Retry policy: at most MaxTries attempts within Budget.
const (
	MaxTries  = 4
	Budget    = 15 * time.Second
	baseDelay = 400 * time.Millisecond
)

// Client posts activities to a channel's connector.
//
// It replaces msbotbuilder-go's ConnectorClient, which always asks the
// botframework.com tenant for its token, has no timeout, ignores 429 and 5xx,
// and caches its token without synchronisation.
type Client struct {
	HTTP   *http.Client
	Tokens TokenSource // nil in development mode: activities go out without a token
	Log    *slog.Logger
	// Sleep waits between tries; tests may shorten it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrNotDelivered wraps the final failure to hand an activity to the channel.
var ErrNotDelivered = errors.New("activity not delivered to the channel")

// HTTPError is a final non-success answer of the connector.
type HTTPError struct {
	Status     int
	Body       string
	RetryAfter time.Duration // from the answer's Retry-After, on 429 and 503
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("connector answered HTTP %d: %s", e.Status, e.Body)
}

// ResourceResponse is the connector's answer to a new activity.
type ResourceResponse struct {
	ID string `json:"id"`
}

// ActivitiesURL is where a new activity for the conversation is posted;
// with replyToID it is the reply-to-activity endpoint.
// A channel thread's conversation id is the channel's with
// ";messageid=<its first post>": posted to, a message becomes a reply in it.
func ActivitiesURL(serviceURL, conversationID, replyToID string) string {
	u := strings.TrimRight(serviceURL, "/") + "/v3/conversations/" + pathSegment(conversationID) + "/activities"
	if replyToID != "" {
		u += "/" + pathSegment(replyToID)
	}
	return u
}

// pathSegment escapes what may not stand in a URL path segment, and keeps
// what may (";" and "=" of a thread's ";messageid=", ":" and "@" of Teams'
// ids) as Teams writes it.
func pathSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Send posts a new activity to its conversation (as a reply when ReplyToID is set)
// and returns the id the channel gave it.
func (c *Client) Send(ctx context.Context, a Activity) (string, error) {
	var rr ResourceResponse
	err := c.do(ctx, http.MethodPost, ActivitiesURL(a.ServiceURL, a.Conversation.ID, a.ReplyToID), a, a.Conversation.ID, &rr, MaxTries)
	return rr.ID, err
}

// SendOnce posts a new activity like Send, but tries only once (a refused
// bot token is still fetched again): for a caller that keeps the activity and
// tries again later itself, honouring the RetryAfter of the HTTPError, rather
// than holding its turn while the channel throttles.
func (c *Client) SendOnce(ctx context.Context, a Activity) (string, error) {
	var rr ResourceResponse
	err := c.do(ctx, http.MethodPost, ActivitiesURL(a.ServiceURL, a.Conversation.ID, a.ReplyToID), a, a.Conversation.ID, &rr, 1)
	return rr.ID, err
}

// Update replaces the activity a.ID that the bot sent earlier.
func (c *Client) Update(ctx context.Context, a Activity) error {
	a.ReplyToID = ""
	return c.do(ctx, http.MethodPut, ActivitiesURL(a.ServiceURL, a.Conversation.ID, a.ID), a, a.Conversation.ID, nil, MaxTries)
}

// NewConversation is what starting a 1:1 conversation with a member takes.
type NewConversation struct {
	Bot         schema.ChannelAccount   `json:"bot"`
	Members     []schema.ChannelAccount `json:"members"`
	IsGroup     bool                    `json:"isGroup"`
	TenantID    string                  `json:"tenantId,omitempty"`
	ChannelData map[string]any          `json:"channelData,omitempty"`
}

// CreateConversation starts the bot's 1:1 conversation with a member of a
// tenant, or finds the one that exists (Teams answers with its id either way).
func (c *Client) CreateConversation(ctx context.Context, serviceURL string, bot, member schema.ChannelAccount, tenantID string) (string, error) {
	n := NewConversation{Bot: bot, Members: []schema.ChannelAccount{{ID: member.ID}}, TenantID: tenantID,
		ChannelData: map[string]any{"tenant": map[string]string{"id": tenantID}}}
	var rr ResourceResponse
	err := c.do(ctx, http.MethodPost, strings.TrimRight(serviceURL, "/")+"/v3/conversations", n, "(new 1:1)", &rr, MaxTries)
	if err == nil && rr.ID == "" {
		err = errors.New("the connector created a conversation without an id")
	}
	return rr.ID, err
}

// do sends one request with at most maxTries tries and decodes a JSON answer
// into out; conv names the conversation in the logs.
func (c *Client) do(ctx context.Context, method, target string, payload any, conv string, out any, maxTries int) error {
	ctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	ctx, span := startSend(ctx, method, target)
	lastStatus, tries := 0, 0
	var final error
	defer func() { endSend(span, lastStatus, tries, final) }()

	body, err := json.Marshal(payload)
	if err != nil {
		final = err
		return err
	}
	refreshed := false
	var lastErr error
	for tries < maxTries {
		tries++
		start := time.Now()
		status, retryAfter, err := c.once(ctx, method, target, body, out)
		tried(ctx, method, target, start, status, retryAfter)
		lastStatus = status
		if err == nil {
			if tries > 1 {
				c.logger().InfoContext(ctx, "connector call succeeded after retry", "conversation", conv, "tries", tries)
			}
			return nil
		}
		lastErr = err
		if status == http.StatusUnauthorized && c.Tokens != nil && !refreshed {
			// The channel refused our token (rotated secret, revoked token): fetch a new one once.
			c.Tokens.Invalidate()
			refreshed = true
			tries-- // the activity itself was not refused: this try does not count
			continue
		}
		delay, retry := retryDelay(status, retryAfter, err, tries)
		if !retry || tries >= maxTries {
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			break // the answer would come too late to matter
		}
		c.logger().WarnContext(ctx, "connector call will be retried", "conversation", conv, "status", status, "try", tries, "delay_ms", delay.Milliseconds())
		if err := c.sleep(ctx, delay); err != nil {
			break
		}
	}
	c.logger().ErrorContext(ctx, "activity not delivered to the channel", "conversation", conv, "method", method, "tries", tries, "error", lastErr)
	final = fmt.Errorf("%w: %w", ErrNotDelivered, lastErr)
	return final
}

// retryDelay says whether a failed try is worth another, and after how long:
// throttling and server errors are (honouring Retry-After), and so is a
// request that never left; anything else is not.
func retryDelay(status int, retryAfter time.Duration, err error, tries int) (time.Duration, bool) {
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		if retryAfter > 0 {
			return retryAfter, true
		}
		return backoff(tries), true
	case status == 0 && isDialError(err):
		return backoff(tries), true // safe even for a POST
	}
	return 0, false
}

// once performs a single request; status is 0 when no HTTP answer came.
func (c *Client) once(ctx context.Context, method, target string, body []byte, out any) (status int, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if c.Tokens != nil {
		tok, err := c.Tokens.Token(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("bot token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(bytes.TrimSpace(data)) > 0 {
			_ = json.Unmarshal(data, out) // the id is a convenience; a missing one is not a failure
		}
		return resp.StatusCode, 0, nil
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	after := parseRetryAfter(resp.Header.Get("Retry-After"))
	return resp.StatusCode, after, &HTTPError{Status: resp.StatusCode, Body: msg, RetryAfter: after}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
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

// backoff is exponential with jitter: between half and all of base·2^(try-1).
func backoff(try int) time.Duration {
	d := baseDelay << (try - 1)
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
