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

func (s *Store) Enqueue(ctx context.Context, key string, item []byte, delay time.Duration) error {
	// Batch lets concurrent events share one fsync.
	return s.db.Batch(func(tx *bolt.Tx) error {
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
		return b.Put([]byte(key), store.AppendItem(v, item))
	})
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

func (s *Store) Finish(ctx context.Context, batch store.Batch, delay time.Duration) error {
	s.claimsMu.Lock()
	cl, ok := s.claims[batch.Key]
	s.claimsMu.Unlock()
	if !ok || cl.token != batch.Claim {
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
	s.claimsMu.Lock()
	if cur, ok := s.claims[batch.Key]; ok && cur.token == batch.Claim {
		delete(s.claims, batch.Key)
	}
	s.claimsMu.Unlock()
	return err
}
