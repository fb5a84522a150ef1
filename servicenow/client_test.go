package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
	var r Record
	err := json.Unmarshal([]byte(`{"a":"plain","b":{"display_value":"In Progress","value":"2"},"c":{"display_value":"Beth","link":"x"},"d":{"value":"abc","link":"x"}}`), &r)
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
