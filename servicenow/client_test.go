package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type staticTokens struct {
	refreshes atomic.Int32
}

func (s *staticTokens) Token(context.Context) (string, error) { return "old", nil }
func (s *staticTokens) Refresh(_ context.Context, stale string) (string, error) {
	s.refreshes.Add(1)
	return "new", nil
}

func TestValueReadsEveryDisplayMode(t *testing.T) {
	r, err := decodeRow([]byte(`{"result":{"a":"plain","b":{"display_value":"In Progress","value":"2"},"c":{"display_value":"Beth","link":"x"},"d":{"value":"abc","link":"x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Record{"a": {"plain", "plain"}, "b": {"2", "In Progress"}, "c": {"Beth", "Beth"}, "d": {"abc", "abc"}}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %+v, want %+v", k, r[k], v)
		}
	}
}

func TestA401IsRefreshedOnceThenReported(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`))
	}))
	defer srv.Close()
	ts := &staticTokens{}
	_, _, err := New(srv.URL, nil).As(ts).List(context.Background(), "incident", NewQuery(), Params{})
	var e *Error
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &e) || e.Message != "User Not Authenticated" || e.Detail == "" {
		t.Fatalf("err %v", err)
	}
	if ts.refreshes.Load() != 1 || calls.Load() != 2 {
		t.Fatalf("%d refreshes, %d calls", ts.refreshes.Load(), calls.Load())
	}
}

func TestAHangingReadTimesOutAndIsRetriedThenReported(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c := New(srv.URL, nil)
	c.reads.SetTimeout(100 * time.Millisecond).SetRetryWaitTime(10 * time.Millisecond)
	_, _, err := c.As(&staticTokens{}).List(context.Background(), "incident", NewQuery(), Params{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if calls.Load() != 1+readRetries {
		t.Fatalf("%d calls, want %d", calls.Load(), 1+readRetries)
	}
}

func TestAFailedWriteIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := New(srv.URL, nil).As(&staticTokens{}).Create(context.Background(), "incident", map[string]string{"short_description": "x"}, Params{})
	if !errors.Is(err, ErrUnavailable) || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

func TestTooManyRequests(t *testing.T) {
	var calls atomic.Int32
	retryAfter := "1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-Total-Count", "0")
		_, _ = w.Write([]byte(`{"result":[]}`))
	}))
	defer srv.Close()
	c := New(srv.URL, nil)
	if _, _, err := c.As(&staticTokens{}).List(context.Background(), "incident", NewQuery(), Params{}); err != nil {
		t.Fatalf("short Retry-After: %v", err)
	}
	calls.Store(0)
	retryAfter = "60"
	_, _, err := c.As(&staticTokens{}).List(context.Background(), "incident", NewQuery(), Params{})
	var e *Error
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != time.Minute || calls.Load() != 1 {
		t.Fatalf("long Retry-After: %v after %d calls", err, calls.Load())
	}
}

func TestRowsReadTheSameFastAndFieldByField(t *testing.T) {
	body := []byte(`{"result":[{"number":{"display_value":"INC1","value":"INC1"},"state":{"display_value":"In Progress","value":"2"},"caller_id":{"display_value":"Beth"},"opened_by":{"value":"abc"}}]}`)
	fast, err := decodeRows(body)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Result []map[string]json.RawMessage `json:"result"`
	}
	_ = json.Unmarshal(body, &raw)
	slowRow, err := fieldByField(raw.Result[0])
	if err != nil {
		t.Fatal(err)
	}
	slow := []Record{slowRow.complete()}
	for k, v := range slow[0] {
		if fast[0][k] != v {
			t.Errorf("%s: fast %+v, field by field %+v", k, fast[0][k], v)
		}
	}
	// A plain-string row asked for as "all" still reads.
	mixed, err := decodeRows([]byte(`{"result":[{"number":"INC2"}]}`))
	if err != nil || mixed[0]["number"].Display != "INC2" {
		t.Fatalf("%+v, %v", mixed, err)
	}
}

func BenchmarkDecodeRows(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"result":[`)
	for i := range 10 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"sys_id":{"display_value":"1c%030d","value":"1c%030d"},"number":{"display_value":"INC%07d","value":"INC%07d"},"short_description":{"display_value":"Laptop does not connect to the office Wi-Fi","value":"Laptop does not connect to the office Wi-Fi"},"state":{"display_value":"In Progress","value":"2"},"priority":{"display_value":"3 - Moderate","value":"3"},"sys_updated_on":{"display_value":"2026-11-02 05:30:00","value":"2026-11-02 05:30:00"}}`, i, i, i, i)
	}
	body.WriteString(`]}`)
	data := []byte(body.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRows(data); err != nil {
			b.Fatal(err)
		}
	}
}

// Creating with a key asks for the incident that carries it first: found,
// it is the answer and nothing is created; an answer that does not carry the
// key (an instance ignores a condition on a field the person may not read)
// is not taken for it.
func TestCreatingWithAKeyCreatesOnce(t *testing.T) {
	for _, c := range []struct {
		name, listed string
		posts        int32
		number       string
	}{
		{"already created", `{"sys_id":"0123456789abcdef0123456789abcdef","number":"INC0010042","correlation_id":"snowbot:f00d"}`, 0, "INC0010042"},
		{"a condition ignored", `{"sys_id":"0123456789abcdef0123456789abcdee","number":"INC0000001","correlation_id":""}`, 1, "INC0010043"},
		{"none yet", ``, 1, "INC0010043"},
	} {
		var posts atomic.Int32
		var sent map[string]string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodPost {
				posts.Add(1)
				_ = json.NewDecoder(r.Body).Decode(&sent)
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(`{"result":{"sys_id":"0123456789abcdef0123456789abcdef","number":"INC0010043"}}`))
				return
			}
			if q := r.URL.Query().Get("sysparm_query"); q != "correlation_id=snowbot:f00d" {
				t.Errorf("%s: asked %q", c.name, q)
			}
			_, _ = w.Write([]byte(`{"result":[` + c.listed + `]}`))
		}))
		inc, err := New(srv.URL, nil).As(&staticTokens{}).CreateIncident(context.Background(), NewIncident{ShortDescription: "x", Key: "f00d"})
		srv.Close()
		if err != nil || inc.Number != c.number || posts.Load() != c.posts {
			t.Errorf("%s: %s after %d posts, %v", c.name, inc.Number, posts.Load(), err)
		}
		if c.posts == 1 && sent["correlation_id"] != "snowbot:f00d" {
			t.Errorf("%s: created with %v", c.name, sent)
		}
	}
}
