package events

import (
	"strings"
	"testing"
	"time"
)

const secret = "a-shared-secret-of-at-least-32-characters"

// The signature is HMAC-SHA256 over "<timestamp>.<raw body>", in lowercase
// hex; the expected value was computed with openssl dgst -sha256 -hmac.
func TestSignMatchesAnIndependentHMAC(t *testing.T) {
	got := Sign(secret, 1764000000, []byte(`{"id":"e1"}`))
	if got != "v1=dfa4f9a3ed4ad57652bd8f50a99f33c68ae041919794dde3558149ae2a77a9c6" {
		t.Fatalf("signature %s", got)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"e1"}`)
	now := time.Unix(1764000000, 0)
	sig := Sign(secret, now.Unix(), body)
	cases := []struct {
		name    string
		ts, sig string
		body    string
		at      time.Time
		ok      bool
	}{
		{"as signed", "1764000000", sig, string(body), now, true},
		{"299 s late", "1764000000", sig, string(body), now.Add(299 * time.Second), true},
		{"301 s late", "1764000000", sig, string(body), now.Add(301 * time.Second), false},
		{"301 s early", "1764000000", sig, string(body), now.Add(-301 * time.Second), false},
		{"another body", "1764000000", sig, `{"id":"e2"}`, now, false},
		{"another timestamp", "1764000001", sig, string(body), now, false},
		{"no signature", "1764000000", "", string(body), now, false},
		{"no timestamp", "", sig, string(body), now, false},
		{"upper-case hex", "1764000000", strings.ToUpper(sig), string(body), now, false},
		{"another secret", "1764000000", Sign(secret+"x", now.Unix(), body), string(body), now, false},
	}
	for _, c := range cases {
		err := Verify(secret, c.ts, c.sig, []byte(c.body), c.at)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestParseIsStrict(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	good := `{"id":"e-1","table":"incident","sys_id":"` + id + `","event":"updated","recipients":["` + id + `"],"actor":"` + id + `","changed":["state"]}`
	if e, err := Parse([]byte(good)); err != nil || e.Changed[0] != "state" {
		t.Fatalf("a good event: %v", err)
	}
	// Any table; recipients may be empty (only watchers and channels are concerned).
	change := strings.Replace(strings.Replace(good, `"incident"`, `"change_request"`, 1), `["`+id+`"]`, `[]`, 1)
	if e, err := Parse([]byte(change)); err != nil || e.Table != "change_request" || len(e.Recipients) != 0 {
		t.Fatalf("a change for nobody in particular: %v", err)
	}
	bad := map[string]string{
		"unknown field":           strings.Replace(good, `"changed"`, `"text":"hi","changed"`, 1),
		"not a table name":        strings.Replace(good, `"incident"`, `"incident^ORactive=true"`, 1),
		"unknown event":           strings.Replace(good, `"updated"`, `"deleted"`, 1),
		"event of another table":  strings.Replace(good, `"updated"`, `"approval_requested"`, 1),
		"short sys_id":            strings.Replace(good, `"sys_id":"`+id, `"sys_id":"0123`, 1),
		"no recipients":           strings.Replace(good, `"recipients":["`+id+`"],`, ``, 1),
		"an approval for nobody":  `{"id":"e-2","table":"sysapproval_approver","sys_id":"` + id + `","event":"approval_requested","recipients":[]}`,
		"a query as recipient":    strings.Replace(good, `["`+id+`"]`, `["javascript:gs.getUserID()"]`, 1),
		"no id":                   strings.Replace(good, `"e-1"`, `""`, 1),
		"two values":              good + good,
		"not JSON":                "id=1",
		"a field that is a query": strings.Replace(good, `["state"]`, `["state^ORactive=true"]`, 1),
	}
	for name, body := range bad {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Keys are matched exactly: encoding/json alone takes "ID" for "id".
func TestParseMatchesKeysExactly(t *testing.T) {
	good := `{"id":"e1","table":"incident","sys_id":"0123456789abcdef0123456789abcdef","event":"updated","recipients":["0123456789abcdef0123456789abcdef"]}`
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("a good event: %v", err)
	}
	for name, body := range map[string]string{
		"upper-case key": strings.Replace(good, `"id"`, `"ID"`, 1),
		"mixed-case key": strings.Replace(good, `"recipients"`, `"Recipients"`, 1),
		"repeated key":   strings.Replace(good, `"id":"e1",`, `"id":"e1","id":"e2",`, 1),
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A stale timestamp is refused without telling the sender how far off its
// clock is; the offset is kept for the log.
func TestAStaleTimestampDoesNotTellTheOffset(t *testing.T) {
	body := []byte(`{"id":"e1"}`)
	now := time.Unix(1764000000, 0)
	err := Verify(secret, "1764000000", Sign(secret, now.Unix(), body), body, now.Add(437*time.Second))
	if err == nil || strings.Contains(err.Error(), "437") || strings.Contains(err.Error(), "7m") {
		t.Fatalf("the error tells the offset: %v", err)
	}
	if off, ok := ClockOffset(err); !ok || off != 437*time.Second {
		t.Fatalf("ClockOffset = %v, %v", off, ok)
	}
}
