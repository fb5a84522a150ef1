package events

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Inbox takes an accepted event. It must return quickly: the work behind an
// event is queued, never done while ServiceNow waits.
type Inbox interface {
	// Accept keeps e; fresh is false for an event already kept before.
	Accept(ctx context.Context, e Event) (fresh bool, err error)
}

// Handler is the endpoint ServiceNow posts events to. It checks, in this
// order, the size (413), the signature and timestamp (401) and the body
// (400), and answers 202 once the inbox has the event.
type Handler struct {
	Secret string
	Inbox  Inbox
	Log    *slog.Logger
	Now    func() time.Time // the clock the timestamp is checked against; time.Now when nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxBody {
		h.refuse(r, w, http.StatusRequestEntityTooLarge, "the event is larger than 64 KiB")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(r, w, http.StatusRequestEntityTooLarge, "the event is larger than 64 KiB")
			return
		}
		h.refuse(r, w, http.StatusBadRequest, "the body could not be read")
		return
	}
	if err := Verify(h.Secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, h.now()); err != nil {
		if off, ok := ClockOffset(err); ok {
			h.Log.WarnContext(r.Context(), "a change event's timestamp is far from this clock: check the clocks", "offset", off.String())
		}
		h.refuse(r, w, http.StatusUnauthorized, err.Error())
		return
	}
	e, err := Parse(body)
	if err != nil {
		h.refuse(r, w, http.StatusBadRequest, err.Error())
		return
	}
	fresh, err := h.Inbox.Accept(r.Context(), e)
	if err != nil {
		h.Log.WarnContext(r.Context(), "a change event could not be queued; ServiceNow is asked to send it again", "event", e.ID, "error", err)
		w.Header().Set("Retry-After", "10")
		count(r.Context(), outcomeUnavailable)
		answer(w, http.StatusServiceUnavailable, "the event could not be queued; send it again")
		return
	}
	if fresh {
		count(r.Context(), outcomeAccepted)
	} else {
		count(r.Context(), outcomeDuplicate)
	}
	answer(w, http.StatusAccepted, "accepted")
}

// eventCount counts the events ServiceNow posts, by what became of them.
var eventCount, _ = otel.Meter("snowbot/events").Int64Counter("snowbot.events", metric.WithUnit("{event}"),
	metric.WithDescription("Change events ServiceNow posted: accepted, duplicate (already kept), refused (bad signature, body or size), unavailable (not kept: 503)."))

var (
	outcomeAccepted    = outcome("accepted")
	outcomeDuplicate   = outcome("duplicate")
	outcomeRefused     = outcome("refused")
	outcomeUnavailable = outcome("unavailable")
)

func outcome(name string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("snowbot.event.outcome", name)))
}

func count(ctx context.Context, o metric.AddOption) { eventCount.Add(ctx, 1, o) }

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// refuse answers an event that is not taken, saying why (the reason names no
// content of the event: it may be a forgery).
func (h *Handler) refuse(r *http.Request, w http.ResponseWriter, status int, reason string) {
	h.Log.InfoContext(r.Context(), "change event refused", "status", status, "reason", reason)
	count(r.Context(), outcomeRefused)
	answer(w, status, reason)
}

func answer(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": http.StatusText(status), "message": message})
}

// Post signs e with secret and sends it to url, as snowbot's business rules
// in ServiceNow do; it returns the status the bot answered.
func Post(ctx context.Context, client *http.Client, url, secret string, e Event) (int, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusAccepted {
		return resp.StatusCode, fmt.Errorf("the bot answered %d to event %s", resp.StatusCode, e.ID)
	}
	return resp.StatusCode, nil
}
