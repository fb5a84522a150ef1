package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/auth/store"
	"snowbot/auth/store/storetest"
)

func TestConformance(t *testing.T) {
	srv := storetest.StartRedis(t)
	var n atomic.Int32
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(srv.URL(), Options{Prefix: fmt.Sprintf("test%d:", n.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestAnUnreachableRedisIsUnavailableNotEmptyAndRecovers(t *testing.T) {
	srv := storetest.StartRedis(t)
	s, err := Open(srv.URL(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.PutTokens(ctx, "t/ada", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	checks := map[string]error{}
	_, checks["GetTokens"] = s.GetTokens(ctx, "t/ada")
	checks["PutTokens"] = s.PutTokens(ctx, "t/ada", []byte("x"))
	_, checks["TakePending"] = s.TakePending(ctx, "state")
	_, checks["FailHeld"] = s.FailHeld(ctx, "t/ada", 5)
	_, _, checks["GetHeld"] = s.GetHeld(ctx, "t/ada")
	_, _, checks["TryLock"] = s.TryLock(ctx, "refresh:t/ada", time.Second)
	checks["Ping"] = s.Ping(ctx)
	for op, err := range checks {
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s with Redis down: %v", op, err)
		}
	}

	// Back on the same address: the same Store works again without reopening.
	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.PutTokens(ctx, "t/ada", []byte("again")); err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
	if b, err := s.GetTokens(ctx, "t/ada"); err != nil || string(b) != "again" {
		t.Fatalf("after Redis came back: %q, %v", b, err)
	}
}

func TestOpenRefusesAMalformedURL(t *testing.T) {
	if _, err := Open("redis://:secret@host:notaport/0", Options{}); err == nil {
		t.Fatal("malformed URL accepted")
	}
}
