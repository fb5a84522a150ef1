package boltstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"snowbot/auth/store"
	"snowbot/auth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "data", "snowbot.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRecordsSurviveReopening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snowbot.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutTokens(context.Background(), "t/ada", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetTokens(context.Background(), "t/ada"); err != nil || string(v) != "sealed" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
}

func TestSecondProcessGetsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snowbot.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// bbolt's file lock is per process; a second Open in this process would wait on flock too.
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

func TestSweepRemovesExpiredRecords(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "snowbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_ = s.PutPending(ctx, "a", []byte("x"), time.Millisecond)
	_ = s.PutHeld(ctx, "u", []byte("x"), time.Millisecond)
	_ = s.PutPending(ctx, "b", []byte("x"), time.Hour)
	time.Sleep(5 * time.Millisecond)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	if s.Count("pending") != 1 || s.Count("held") != 0 {
		t.Fatalf("after sweep: %d pending, %d held", s.Count("pending"), s.Count("held"))
	}
}

// Count returns how many records a bucket holds ("tokens", "pending", "held" or "records").
func (s *Store) Count(bucket string) int {
	n := 0
	_ = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}
