// Package storetest is the behaviour every store.Store must show, as one test
// suite that each implementation runs against itself, and the redis-server
// (and free ports) that tests of snowbot start for themselves.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/auth/store"
)

// Run tests a store. open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("tokens", func(t *testing.T) {
		s := open(t)
		if _, err := s.GetTokens(ctx, "t/ada"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("empty store: %v", err)
		}
		must(t, s.PutTokens(ctx, "t/ada", []byte("sealed-1")))
		must(t, s.PutTokens(ctx, "t/ada", []byte("sealed-2")))
		got, err := s.GetTokens(ctx, "t/ada")
		if err != nil || string(got) != "sealed-2" {
			t.Fatalf("GetTokens = %q, %v", got, err)
		}
		if _, err := s.GetTokens(ctx, "t/bob"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another user: %v", err)
		}
		must(t, s.DeleteTokens(ctx, "t/ada"))
		must(t, s.DeleteTokens(ctx, "t/ada"))
		if _, err := s.GetTokens(ctx, "t/ada"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("pending is used once", func(t *testing.T) {
		s := open(t)
		must(t, s.PutPending(ctx, "state-1", []byte("p"), time.Minute))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, err := s.TakePending(ctx, "state-1"); err == nil && string(v) == "p" {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("a pending sign-in was taken %d times", wins.Load())
		}
	})

	t.Run("pending expires", func(t *testing.T) {
		s := open(t)
		must(t, s.PutPending(ctx, "state-2", []byte("p"), 150*time.Millisecond))
		time.Sleep(400 * time.Millisecond)
		if _, err := s.TakePending(ctx, "state-2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired pending: %v", err)
		}
	})

	t.Run("held counts failures and discards at the limit", func(t *testing.T) {
		s := open(t)
		must(t, s.PutHeld(ctx, "t/ada", []byte("h1"), time.Minute))
		for i := 1; i <= 4; i++ {
			n, err := s.FailHeld(ctx, "t/ada", 5)
			if err != nil || n != i {
				t.Fatalf("failure %d: count %d, %v", i, n, err)
			}
		}
		if v, n, err := s.GetHeld(ctx, "t/ada"); err != nil || string(v) != "h1" || n != 4 {
			t.Fatalf("GetHeld = %q, %d, %v", v, n, err)
		}
		if n, err := s.FailHeld(ctx, "t/ada", 5); err != nil || n != 5 {
			t.Fatalf("fifth failure: %d, %v", n, err)
		}
		if _, _, err := s.GetHeld(ctx, "t/ada"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("held record survived 5 failures: %v", err)
		}
		if _, err := s.FailHeld(ctx, "t/ada", 5); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("failing a missing record: %v", err)
		}
	})

	t.Run("held failures are counted atomically", func(t *testing.T) {
		s := open(t)
		must(t, s.PutHeld(ctx, "t/ada", []byte("h"), time.Minute))
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = s.FailHeld(ctx, "t/ada", 100) }()
		}
		wg.Wait()
		if _, n, err := s.GetHeld(ctx, "t/ada"); err != nil || n != 3 {
			t.Fatalf("three concurrent failures counted as %d (%v)", n, err)
		}
	})

	t.Run("a new held record replaces the old and resets failures", func(t *testing.T) {
		s := open(t)
		must(t, s.PutHeld(ctx, "t/ada", []byte("old"), time.Minute))
		_, _ = s.FailHeld(ctx, "t/ada", 5)
		must(t, s.PutHeld(ctx, "t/ada", []byte("new"), time.Minute))
		if v, n, err := s.GetHeld(ctx, "t/ada"); err != nil || string(v) != "new" || n != 0 {
			t.Fatalf("GetHeld = %q, %d, %v", v, n, err)
		}
		if ok, err := s.TakeHeld(ctx, "t/ada", []byte("old")); err != nil || ok {
			t.Fatalf("TakeHeld of a replaced record = %v, %v", ok, err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, _ := s.TakeHeld(ctx, "t/ada", []byte("new")); ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("held record taken %d times", wins.Load())
		}
	})

	t.Run("held expires", func(t *testing.T) {
		s := open(t)
		must(t, s.PutHeld(ctx, "t/ada", []byte("h"), 150*time.Millisecond))
		time.Sleep(400 * time.Millisecond)
		if _, _, err := s.GetHeld(ctx, "t/ada"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired held: %v", err)
		}
		if ok, _ := s.TakeHeld(ctx, "t/ada", []byte("h")); ok {
			t.Fatal("expired held record taken")
		}
	})

	t.Run("values are kept byte for byte", func(t *testing.T) {
		s := open(t)
		v := []byte{0, 1, 2, 255, '\n', 0}
		must(t, s.PutTokens(ctx, "t/🙂", v))
		got, err := s.GetTokens(ctx, "t/🙂")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("GetTokens = %v, %v", got, err)
		}
	})

	t.Run("tokens are swapped only if unchanged", func(t *testing.T) {
		s := open(t)
		if ok, err := s.SwapTokens(ctx, "t/ada", []byte("a"), []byte("b")); err != nil || ok {
			t.Fatalf("swap of missing tokens = %v, %v", ok, err)
		}
		must(t, s.PutTokens(ctx, "t/ada", []byte("v1")))
		if ok, err := s.SwapTokens(ctx, "t/ada", []byte("v0"), []byte("stale write")); err != nil || ok {
			t.Fatalf("swap from a stale value = %v, %v", ok, err)
		}
		if ok, err := s.SwapTokens(ctx, "t/ada", []byte("v1"), []byte("v2")); err != nil || !ok {
			t.Fatalf("swap = %v, %v", ok, err)
		}
		if got, _ := s.GetTokens(ctx, "t/ada"); string(got) != "v2" {
			t.Fatalf("after swap: %q", got)
		}
	})

	t.Run("records", func(t *testing.T) {
		s := open(t)
		if _, err := s.GetRecord(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing record: %v", err)
		}
		must(t, s.PutRecord(ctx, "r1", []byte("forever"), 0))
		must(t, s.PutRecord(ctx, "r2", []byte("briefly"), 150*time.Millisecond))
		if got, err := s.GetRecord(ctx, "r1"); err != nil || string(got) != "forever" {
			t.Fatalf("GetRecord = %q, %v", got, err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := s.PutRecordIfAbsent(ctx, "once", []byte(fmt.Sprint(i)), time.Minute); err == nil && ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("a record was put if absent %d times", wins.Load())
		}
		time.Sleep(400 * time.Millisecond)
		if _, err := s.GetRecord(ctx, "r2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired record: %v", err)
		}
		if ok, err := s.PutRecordIfAbsent(ctx, "r2", []byte("again"), time.Minute); err != nil || !ok {
			t.Fatalf("put over an expired record = %v, %v", ok, err)
		}
		must(t, s.DeleteRecord(ctx, "r1"))
		must(t, s.DeleteRecord(ctx, "r1"))
		if _, err := s.GetRecord(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted record: %v", err)
		}
	})

	t.Run("a record is swapped only from what was read", func(t *testing.T) {
		s := open(t)
		if ok, err := s.SwapRecord(ctx, "list", nil, []byte("a"), 0); err != nil || !ok {
			t.Fatalf("swap into nothing = %v, %v", ok, err)
		}
		if ok, err := s.SwapRecord(ctx, "list", nil, []byte("b"), 0); err != nil || ok {
			t.Fatalf("swap into nothing over a record = %v, %v", ok, err)
		}
		if ok, err := s.SwapRecord(ctx, "list", []byte("x"), []byte("b"), 0); err != nil || ok {
			t.Fatalf("swap from a value never read = %v, %v", ok, err)
		}
		// Twenty updates at once, each read, changed and swapped until it
		// lands: none is lost.
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					cur, err := s.GetRecord(ctx, "list")
					if err != nil {
						t.Error(err)
						return
					}
					next := append(append([]byte(nil), cur...), byte('A'+i))
					if ok, err := s.SwapRecord(ctx, "list", cur, next, time.Minute); err != nil || ok {
						if err != nil {
							t.Error(err)
						}
						return
					}
				}
			}()
		}
		wg.Wait()
		if got, err := s.GetRecord(ctx, "list"); err != nil || len(got) != 21 {
			t.Fatalf("after 20 swaps: %q, %v", got, err)
		}
		must(t, s.PutRecord(ctx, "brief", []byte("v"), 100*time.Millisecond))
		time.Sleep(250 * time.Millisecond)
		if ok, err := s.SwapRecord(ctx, "brief", nil, []byte("w"), 0); err != nil || !ok {
			t.Fatalf("swap into an expired record = %v, %v", ok, err)
		}
	})

	t.Run("queue batches what arrives under one key", func(t *testing.T) {
		s := open(t)
		enqueue(t, s, "incident:1", []byte("a"), 200*time.Millisecond)
		enqueue(t, s, "incident:2", []byte{0, 1, 2, 255}, 200*time.Millisecond)
		enqueue(t, s, "incident:1", []byte("b"), 200*time.Millisecond)
		if got, err := s.Claim(ctx, 10, time.Minute); err != nil || len(got) != 0 {
			t.Fatalf("batches due before their time: %v, %v", got, err)
		}
		time.Sleep(300 * time.Millisecond)
		got, err := s.Claim(ctx, 10, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("Claim = %v, %v", got, err)
		}
		byKey := map[string]store.Batch{}
		for _, b := range got {
			byKey[b.Key] = b
		}
		if one := byKey["incident:1"]; len(one.Items) != 2 || string(one.Items[0]) != "a" || string(one.Items[1]) != "b" {
			t.Fatalf("batch incident:1 = %q", one.Items)
		}
		if two := byKey["incident:2"]; len(two.Items) != 1 || !bytes.Equal(two.Items[0], []byte{0, 1, 2, 255}) {
			t.Fatalf("batch incident:2 = %q", two.Items)
		}
		if again, _ := s.Claim(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("claimed batches handed out again: %v", again)
		}
		// What arrives while a batch is worked on waits for the next round.
		enqueue(t, s, "incident:1", []byte("c"), 100*time.Millisecond)
		must(t, s.Finish(ctx, byKey["incident:1"], 100*time.Millisecond))
		must(t, s.Finish(ctx, byKey["incident:2"], 100*time.Millisecond))
		time.Sleep(200 * time.Millisecond)
		got, err = s.Claim(ctx, 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Key != "incident:1" || len(got[0].Items) != 1 || string(got[0].Items[0]) != "c" {
			t.Fatalf("after finishing: %+v, %v", got, err)
		}
		must(t, s.Finish(ctx, got[0], 0))
		time.Sleep(50 * time.Millisecond)
		if left, _ := s.Claim(ctx, 10, time.Minute); len(left) != 0 {
			t.Fatalf("finished batches handed out again: %+v", left)
		}
	})

	t.Run("queue hands out a lapsed claim again, once", func(t *testing.T) {
		s := open(t)
		enqueue(t, s, "k", []byte("work"), 0)
		first, err := s.Claim(ctx, 1, 200*time.Millisecond)
		if err != nil || len(first) != 1 {
			t.Fatalf("Claim = %v, %v", first, err)
		}
		// The claimant stops without finishing: the batch comes back, to one claimant.
		time.Sleep(300 * time.Millisecond)
		var wins atomic.Int32
		var second store.Batch
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := s.Claim(ctx, 5, time.Minute); err == nil && len(got) == 1 {
					wins.Add(1)
					mu.Lock()
					second = got[0]
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("a lapsed batch was handed out %d times", wins.Load())
		}
		// The first claimant finishing late changes nothing: the batch is the second's.
		must(t, s.Finish(ctx, first[0], 0))
		must(t, s.Finish(ctx, second, 0))
		time.Sleep(50 * time.Millisecond)
		if left, _ := s.Claim(ctx, 5, 0); len(left) != 0 {
			t.Fatalf("a finished batch came back: %+v", left)
		}
	})

	t.Run("queue hands out each item once to claimants that work at once", func(t *testing.T) {
		s := open(t)
		const keys = 60
		for k := range keys {
			enqueue(t, s, fmt.Sprint("k", k), []byte(fmt.Sprint(k)), 0)
		}
		var mu sync.Mutex
		handed := map[string]int{}
		var wg sync.WaitGroup
		deadline := time.Now().Add(2 * time.Second)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					got, err := s.Claim(ctx, 3, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					for _, b := range got {
						mu.Lock()
						for _, it := range b.Items {
							handed[string(it)]++
						}
						mu.Unlock()
						must(t, s.Finish(ctx, b, 0))
					}
				}
			}()
		}
		wg.Wait()
		for k := range keys {
			if n := handed[fmt.Sprint(k)]; n != 1 {
				t.Errorf("item %d handed out %d times", k, n)
			}
		}
	})

	t.Run("queue refuses a batch that grows without end", func(t *testing.T) {
		s := open(t)
		big := bytes.Repeat([]byte("x"), store.MaxBatchBytes/4)
		var err error
		for range 5 {
			if _, err = s.EnqueueOnce(ctx, fmt.Sprint("flood-", time.Now().UnixNano()), time.Hour, "flood", big, time.Minute); err != nil {
				break
			}
		}
		if !errors.Is(err, store.ErrBatchFull) {
			t.Fatalf("a batch over %d bytes: %v", store.MaxBatchBytes, err)
		}
	})

	t.Run("queue remembers an id and keeps its item in one step", func(t *testing.T) {
		s := open(t)
		var firsts atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first, err := s.EnqueueOnce(ctx, "event-1", 300*time.Millisecond, fmt.Sprint("k", i%2), []byte("e1"), 0)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := firsts.Load(); n != 1 {
			t.Fatalf("one id was enqueued %d times", n)
		}
		got, err := s.Claim(ctx, 10, time.Minute)
		if err != nil || len(got) != 1 || len(got[0].Items) != 1 {
			t.Fatalf("Claim = %+v, %v", got, err)
		}
		must(t, s.Finish(ctx, got[0], 0))
		// Remembered for its memory only: then the same id is new again.
		time.Sleep(400 * time.Millisecond)
		if first, err := s.EnqueueOnce(ctx, "event-1", time.Minute, "k0", []byte("e1 again"), 0); err != nil || !first {
			t.Fatalf("after its memory: %v, %v", first, err)
		}
	})

	t.Run("queue keeps a claim while it is extended", func(t *testing.T) {
		s := open(t)
		enqueue(t, s, "slow", []byte("work"), 0)
		got, err := s.Claim(ctx, 1, 300*time.Millisecond)
		if err != nil || len(got) != 1 {
			t.Fatalf("Claim = %v, %v", got, err)
		}
		for range 3 {
			time.Sleep(200 * time.Millisecond)
			if ok, err := s.Extend(ctx, got[0], 300*time.Millisecond); err != nil || !ok {
				t.Fatalf("Extend = %v, %v", ok, err)
			}
			if again, _ := s.Claim(ctx, 1, time.Minute); len(again) != 0 {
				t.Fatal("an extended claim was handed out again")
			}
		}
		// The worker stops extending (it died): the batch goes to another, and
		// the old claim can neither be extended nor finish it.
		time.Sleep(400 * time.Millisecond)
		second, err := s.Claim(ctx, 1, time.Minute)
		if err != nil || len(second) != 1 {
			t.Fatalf("a lapsed claim: %v, %v", second, err)
		}
		if ok, _ := s.Extend(ctx, got[0], time.Minute); ok {
			t.Fatal("a lapsed claim was extended")
		}
		must(t, s.Finish(ctx, got[0], 0))
		must(t, s.Retry(ctx, got[0], 0))
		if again, _ := s.Claim(ctx, 1, time.Minute); len(again) != 0 {
			t.Fatal("the old claimant gave away the new claimant's batch")
		}
		must(t, s.Finish(ctx, second[0], 0))
	})

	t.Run("queue gives a batch back whole for a later try", func(t *testing.T) {
		s := open(t)
		enqueue(t, s, "k", []byte("a"), 0)
		got, err := s.Claim(ctx, 1, time.Minute)
		if err != nil || len(got) != 1 {
			t.Fatalf("Claim = %v, %v", got, err)
		}
		enqueue(t, s, "k", []byte("b"), 0) // joins while the first try goes on
		must(t, s.Retry(ctx, got[0], 300*time.Millisecond))
		if again, _ := s.Claim(ctx, 1, time.Minute); len(again) != 0 {
			t.Fatalf("handed out before its delay: %+v", again)
		}
		time.Sleep(400 * time.Millisecond)
		again, err := s.Claim(ctx, 1, time.Minute)
		if err != nil || len(again) != 1 || len(again[0].Items) != 2 || string(again[0].Items[0]) != "a" || string(again[0].Items[1]) != "b" {
			t.Fatalf("after the delay: %+v, %v", again, err)
		}
		st, err := s.QueueStats(ctx)
		if err != nil || st.Batches != 1 || st.OldestDue.IsZero() || time.Since(st.OldestDue) > time.Minute {
			t.Fatalf("QueueStats = %+v, %v", st, err)
		}
		must(t, s.Finish(ctx, again[0], 0))
		if st, err := s.QueueStats(ctx); err != nil || st.Batches != 0 {
			t.Fatalf("QueueStats of an empty queue = %+v, %v", st, err)
		}
	})

	t.Run("marks are kept for their time", func(t *testing.T) {
		s := open(t)
		must(t, s.Mark(ctx, []string{"told:1", "told:2"}, 300*time.Millisecond))
		got, err := s.Marked(ctx, []string{"told:1", "told:3", "told:2"})
		if err != nil || !got[0] || got[1] || !got[2] {
			t.Fatalf("Marked = %v, %v", got, err)
		}
		time.Sleep(400 * time.Millisecond)
		if got, err := s.Marked(ctx, []string{"told:1"}); err != nil || got[0] {
			t.Fatalf("an expired mark: %v, %v", got, err)
		}
	})

	if l, ok := open(t).(store.SendLog); ok {
		t.Run("send log keeps every window within its limit", func(t *testing.T) {
			limits := []store.Window{{Span: 500 * time.Millisecond, Max: 3}, {Span: 2 * time.Second, Max: 5}}
			waits := make([]time.Duration, 7)
			var wg sync.WaitGroup
			for i := range waits {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w, err := l.ReserveSend(ctx, "conversation-1", limits)
					if err != nil {
						t.Error(err)
					}
					waits[i] = w
				}()
			}
			wg.Wait()
			slices.Sort(waits)
			// 3 at once, 2 more after the first half second, and the last 2
			// after the 2-second window (less the moments between the calls).
			if waits[2] > 100*time.Millisecond || waits[3] < 400*time.Millisecond || waits[4] > 600*time.Millisecond || waits[5] < 1900*time.Millisecond {
				t.Fatalf("waits %v", waits)
			}
			if w, err := l.ReserveSend(ctx, "conversation-2", limits); err != nil || w > 100*time.Millisecond {
				t.Fatalf("another key waited %v, %v", w, err)
			}
		})
	}

	if _, ok := open(t).(store.Locker); ok {
		t.Run("lock", func(t *testing.T) {
			l := open(t).(store.Locker)
			release, ok, err := l.TryLock(ctx, "refresh:t/ada", time.Second)
			if err != nil || !ok {
				t.Fatalf("first TryLock = %v, %v", ok, err)
			}
			if _, ok, _ := l.TryLock(ctx, "refresh:t/ada", time.Second); ok {
				t.Fatal("lock taken twice")
			}
			release()
			release2, ok, err := l.TryLock(ctx, "refresh:t/ada", 200*time.Millisecond)
			if err != nil || !ok {
				t.Fatalf("TryLock after release = %v, %v", ok, err)
			}
			_ = release2 // a crashed holder never releases: the lock must expire by itself
			time.Sleep(400 * time.Millisecond)
			if _, ok, _ := l.TryLock(ctx, "refresh:t/ada", time.Second); !ok {
				t.Fatal("an expired lock still blocks")
			}
		})
	}
}

// enqueue adds an item under a fresh id.
func enqueue(t *testing.T, s store.Store, key string, item []byte, delay time.Duration) {
	t.Helper()
	first, err := s.EnqueueOnce(context.Background(), fmt.Sprintf("id-%d", time.Now().UnixNano()), time.Hour, key, item, delay)
	if err != nil || !first {
		t.Fatalf("EnqueueOnce = %v, %v", first, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("unexpected error: %w", err))
	}
}
