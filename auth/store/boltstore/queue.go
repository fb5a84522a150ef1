package boltstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	bolt "go.etcd.io/bbolt"

	"snowbot/auth/store"
)

// bucketQueue holds each batch under its key: when it is due (unix
// milliseconds, 8 bytes) and its items (store.AppendItem's encoding).
var bucketQueue = []byte("queue")

// claim is a batch handed out. Claims live in memory: the file serves one
// process, and after a restart every batch is due again, which is what a
// lapsed claim means.
type claim struct {
	token string
	bytes int // how much of the batch the claim handed out
	until time.Time
}

// onceKey is where EnqueueOnce remembers an id: a record, with its expiry.
func onceKey(once string) []byte { return []byte("once\x00" + once) }

func (s *Store) EnqueueOnce(ctx context.Context, once string, memory time.Duration, key string, item []byte, delay time.Duration) (bool, error) {
	first := false
	// Batch lets concurrent events share one fsync; the id and the item are
	// written in the same transaction, so neither is kept without the other.
	err := s.db.Batch(func(tx *bolt.Tx) error {
		first = false
		records := tx.Bucket(bucketRecords)
		if _, _, _, err := s.live(records, string(onceKey(once))); err == nil {
			return nil
		}
		b := tx.Bucket(bucketQueue)
		old := b.Get([]byte(key))
		due := s.now().Add(delay).UnixMilli()
		var blob []byte
		if len(old) >= 8 {
			due = int64(binary.BigEndian.Uint64(old))
			blob = old[8:]
		}
		if len(blob)+len(item)+binary.MaxVarintLen64 > store.MaxBatchBytes {
			return store.ErrBatchFull
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(blob)+len(item)+4), uint64(due))
		v = append(v, blob...)
		if err := b.Put([]byte(key), store.AppendItem(v, item)); err != nil {
			return err
		}
		first = true
		return records.Put(onceKey(once), encode(s.expiry(memory), 0, nil))
	})
	return first, err
}

func (s *Store) Claim(ctx context.Context, max int, lease time.Duration) ([]store.Batch, error) {
	now := s.now()
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	s.claimsMu.Lock()
	defer s.claimsMu.Unlock()
	var out []store.Batch
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			if len(v) < 8 || int64(binary.BigEndian.Uint64(v)) > now.UnixMilli() {
				continue
			}
			if cl, ok := s.claims[string(k)]; ok && now.Before(cl.until) {
				continue
			}
			items, err := store.SplitItems(v[8:])
			if err != nil {
				continue // damaged: left for an operator rather than blocking the rest
			}
			for i := range items {
				items[i] = append([]byte(nil), items[i]...) // the page goes away with the transaction
			}
			s.claims[string(k)] = claim{token: token, bytes: len(v) - 8, until: now.Add(lease)}
			out = append(out, store.Batch{Key: string(k), Items: items, Claim: token})
		}
		return nil
	})
	return out, err
}

// held returns the batch's claim if it is still b's.
func (s *Store) held(b store.Batch) (claim, bool) {
	s.claimsMu.Lock()
	defer s.claimsMu.Unlock()
	cl, ok := s.claims[b.Key]
	return cl, ok && cl.token == b.Claim
}

// release forgets b's claim, if it is still b's.
func (s *Store) release(b store.Batch) {
	s.claimsMu.Lock()
	if cur, ok := s.claims[b.Key]; ok && cur.token == b.Claim {
		delete(s.claims, b.Key)
	}
	s.claimsMu.Unlock()
}

func (s *Store) Extend(ctx context.Context, b store.Batch, lease time.Duration) (bool, error) {
	s.claimsMu.Lock()
	defer s.claimsMu.Unlock()
	cl, ok := s.claims[b.Key]
	if !ok || cl.token != b.Claim {
		return false, nil
	}
	cl.until = s.now().Add(lease)
	s.claims[b.Key] = cl
	return true, nil
}

func (s *Store) Finish(ctx context.Context, batch store.Batch, delay time.Duration) error {
	cl, ok := s.held(batch)
	if !ok {
		return nil
	}
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQueue)
		v := b.Get([]byte(batch.Key))
		if len(v) < 8 || len(v)-8 <= cl.bytes {
			return b.Delete([]byte(batch.Key))
		}
		rest := binary.BigEndian.AppendUint64(nil, uint64(s.now().Add(delay).UnixMilli()))
		return b.Put([]byte(batch.Key), append(rest, v[8+cl.bytes:]...))
	})
	// The claim goes only once the batch is written: until then a Claim would
	// hand out what was just delivered.
	s.release(batch)
	return err
}

func (s *Store) Retry(ctx context.Context, batch store.Batch, delay time.Duration) error {
	if _, ok := s.held(batch); !ok {
		return nil
	}
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQueue)
		v := b.Get([]byte(batch.Key))
		if len(v) < 8 {
			return nil
		}
		next := binary.BigEndian.AppendUint64(make([]byte, 0, len(v)), uint64(s.now().Add(delay).UnixMilli()))
		return b.Put([]byte(batch.Key), append(next, v[8:]...))
	})
	s.release(batch)
	return err
}

func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	var st store.QueueStats
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			if len(v) < 8 {
				return nil
			}
			st.Batches++
			due := time.UnixMilli(int64(binary.BigEndian.Uint64(v)))
			if st.OldestDue.IsZero() || due.Before(st.OldestDue) {
				st.OldestDue = due
			}
			return nil
		})
	})
	return st, err
}

// markKey is where a mark is kept: a record without a value.
func markKey(key string) []byte { return []byte("mark\x00" + key) }

func (s *Store) Mark(ctx context.Context, keys []string, ttl time.Duration) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		for _, k := range keys {
			if err := b.Put(markKey(k), encode(s.expiry(ttl), 0, nil)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Marked(ctx context.Context, keys []string) ([]bool, error) {
	out := make([]bool, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		for i, k := range keys {
			_, _, _, err := s.live(b, string(markKey(k)))
			out[i] = err == nil
		}
		return nil
	})
	return out, err
}
