// Package events is the change events ServiceNow sends snowbot: what an event
// says (which record changed and whom it concerns, never what to show), how it
// is signed (HMAC-SHA256 over the timestamp and the raw body, with a secret
// both sides share) and the HTTP endpoint that checks both before handing it
// on. Post is the sending side, for the demo instance and the tests.
package events

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event says that a record changed and whom it concerns. It carries no
// content: each recipient's view of the record is read with their own token.
type Event struct {
	ID         string   `json:"id"`
	Table      string   `json:"table"`
	SysID      string   `json:"sys_id"`
	Event      string   `json:"event"`
	Recipients []string `json:"recipients"`
	Actor      string   `json:"actor,omitempty"`
	Changed    []string `json:"changed,omitempty"`
}

// Tables and kinds of events.
const (
	TableIncident = "incident"
	TableApproval = "sysapproval_approver"

	Created           = "created"
	Updated           = "updated"
	Commented         = "commented"
	ApprovalRequested = "approval_requested"
)

// kinds are the events a table may send: approvals are requested, and any
// other table's records are created, updated or commented on.
func kinds(table string) []string {
	switch {
	case table == TableApproval:
		return []string{ApprovalRequested}
	case fieldPattern.MatchString(table):
		return []string{Created, Updated, Commented}
	}
	return nil
}

// The limits of an event.
const (
	MaxBody       = 64 << 10
	MaxRecipients = 200
	maxChanged    = 50
	maxID         = 100
)

// The headers that carry the signature.
const (
	HeaderTimestamp = "X-Snowbot-Timestamp"
	HeaderSignature = "X-Snowbot-Signature"
)

// Window is how far an event's timestamp may be from the bot's clock.
const Window = 300 * time.Second

var (
	sysIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
	fieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,79}$`)
)

// ErrSignature is a missing or wrong signature, or a timestamp outside Window.
var ErrSignature = errors.New("the event is not signed with the shared secret, or not now")

// clockError is a timestamp outside Window. Its Error says so to the caller
// without saying by how much (that would help to forge one); Offset is for
// the operator's log.
type clockError struct{ offset time.Duration }

func (e *clockError) Error() string {
	return ErrSignature.Error() + ": the timestamp is more than 300 seconds from this clock"
}
func (e *clockError) Unwrap() error { return ErrSignature }

// ClockOffset is how far a refused timestamp was from the bot's clock, for
// the log; ok is false for any other error.
func ClockOffset(err error) (offset time.Duration, ok bool) {
	var ce *clockError
	if errors.As(err, &ce) {
		return ce.offset, true
	}
	return 0, false
}

// Sign returns the signature header's value for body sent at unix time ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks the timestamp and signature headers of body against secret,
// in constant time, at now.
func Verify(secret, timestamp, signature string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: no unix timestamp in %s", ErrSignature, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return &clockError{offset: d.Round(time.Second)}
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(strings.TrimSpace(signature)), []byte(want)) {
		return fmt.Errorf("%w: the signature does not match", ErrSignature)
	}
	return nil
}

// fieldNames are an event's JSON keys, exactly: encoding/json alone would
// also take "ID" or "Recipients" for them.
var fieldNames = []string{"id", "table", "sys_id", "event", "recipients", "actor", "changed"}

// Parse reads an event strictly: an object whose keys are exactly the
// event's (no unknown, differently cased or repeated one), nothing after it,
// and every field valid (a table and kind snowbot knows, sys_ids of 32 hex
// digits).
func Parse(body []byte) (Event, error) {
	if err := exactKeys(body); err != nil {
		return Event{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var e Event
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("not an event: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, errors.New("not an event: more than one JSON value")
	}
	return e, e.valid()
}

// exactKeys checks the top-level keys of a JSON object against fieldNames.
func exactKeys(body []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return fmt.Errorf("not an event: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	seen := map[string]bool{}
	if _, err := dec.Token(); err != nil { // the object's opening brace
		return fmt.Errorf("not an event: %w", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not an event: %w", err)
		}
		key, _ := tok.(string)
		switch {
		case !slices.Contains(fieldNames, key):
			return fmt.Errorf("not an event: unknown field %q (the fields are %s, in lower case)", key, strings.Join(fieldNames, ", "))
		case seen[key]:
			return fmt.Errorf("not an event: field %q twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("not an event: %w", err)
		}
	}
	return nil
}

func (e Event) valid() error {
	switch {
	case e.ID == "" || len(e.ID) > maxID || !idPattern.MatchString(e.ID):
		return errors.New("id: must be 1 to 100 letters, digits or ._:-")
	case kinds(e.Table) == nil:
		return fmt.Errorf("table: must be a table name, such as %s, change_request or %s", TableIncident, TableApproval)
	case !sysIDPattern.MatchString(e.SysID):
		return errors.New("sys_id: must be 32 lowercase hexadecimal digits")
	case !slices.Contains(kinds(e.Table), e.Event):
		return fmt.Errorf("event: must be one of %s for %s", strings.Join(kinds(e.Table), ", "), e.Table)
	case e.Recipients == nil:
		return errors.New("recipients: required (an empty list when only watchers and channel subscriptions are concerned)")
	case len(e.Recipients) > MaxRecipients:
		return fmt.Errorf("recipients: at most %d users", MaxRecipients)
	case e.Table == TableApproval && len(e.Recipients) == 0:
		return errors.New("recipients: an approval names its approver")
	case e.Actor != "" && !sysIDPattern.MatchString(e.Actor):
		return errors.New("actor: must be a sys_id")
	case len(e.Changed) > maxChanged:
		return errors.New("changed: too many fields")
	}
	for _, r := range e.Recipients {
		if !sysIDPattern.MatchString(r) {
			return errors.New("recipients: each must be a sys_id")
		}
	}
	for _, f := range e.Changed {
		if !fieldPattern.MatchString(f) {
			return errors.New("changed: each must be a field name")
		}
	}
	return nil
}
