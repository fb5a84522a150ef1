// Package boltstore keeps snowbot's sign-in state in one bbolt file, for a
// bot that runs as one instance. Every write is an fsynced transaction.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"snowbot/auth/store"
)

var (
	bucketTokens  = []byte("tokens")
	bucketPending = []byte("pending")
	bucketHeld    = []byte("held")
	bucketRecords = []byte("records")
)

// sweepEvery is how often expired pending and held records are deleted.
const sweepEvery = time.Minute

// ErrLocked means another process holds the store file: bolt:// serves one instance.
var ErrLocked = errors.New("the store file is in use by another process (bolt:// serves one instance; use redis:// for several)")

// Store is a bbolt-backed store.Store.
type Store struct {
	db   *bolt.DB
	stop chan struct{}
	done sync.WaitGroup
	now  func() time.Time

	claimsMu sync.Mutex
	claims   map[string]claim // batches of the queue handed out, by key
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store file %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("store file %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTokens, bucketPending, bucketHeld, bucketRecords, bucketQueue} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store file %s: %w", path, err)
	}
	s := &Store{db: db, stop: make(chan struct{}), now: time.Now, claims: map[string]claim{}}
	s.done.Add(1)
	go s.sweep()
	return s, nil
}

// Close stops the sweeper and closes the file.
func (s *Store) Close() error {
	close(s.stop)
	s.done.Wait()
	return s.db.Close()
}

// Ping reports whether the file is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.View(func(tx *bolt.Tx) error { return nil })
}

func (s *Store) GetTokens(ctx context.Context, user string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTokens).Get([]byte(user))
		if v == nil {
			return store.ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	return out, err
}

func (s *Store) PutTokens(ctx context.Context, user string, sealed []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).Put([]byte(user), sealed)
	})
}

func (s *Store) DeleteTokens(ctx context.Context, user string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).Delete([]byte(user))
	})
}

func (s *Store) SwapTokens(ctx context.Context, user string, old, sealed []byte) (bool, error) {
	swapped := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if !bytes.Equal(b.Get([]byte(user)), old) {
			return nil
		}
		swapped = true
		return b.Put([]byte(user), sealed)
	})
	return swapped, err
}

// noExpiry is the expiry written for a record kept until deleted.
var noExpiry = time.Unix(0, math.MaxInt64)

func (s *Store) expiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return noExpiry
	}
	return s.now().Add(ttl)
}

func (s *Store) PutRecord(ctx context.Context, key string, sealed []byte, ttl time.Duration) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Put([]byte(key), encode(s.expiry(ttl), 0, sealed))
	})
}

func (s *Store) PutRecordIfAbsent(ctx context.Context, key string, sealed []byte, ttl time.Duration) (bool, error) {
	put := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		if _, _, _, err := s.live(b, key); err == nil {
			return nil
		}
		put = true
		return b.Put([]byte(key), encode(s.expiry(ttl), 0, sealed))
	})
	return put, err
}

func (s *Store) SwapRecord(ctx context.Context, key string, old, sealed []byte, ttl time.Duration) (bool, error) {
	swapped := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		_, _, cur, err := s.live(b, key)
		switch {
		case err != nil && old != nil, err == nil && (old == nil || !bytes.Equal(cur, old)):
			return nil
		}
		swapped = true
		return b.Put([]byte(key), encode(s.expiry(ttl), 0, sealed))
	})
	return swapped, err
}

func (s *Store) GetRecord(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		_, _, out, err = s.live(tx.Bucket(bucketRecords), key)
		return err
	})
	return out, err
}

func (s *Store) DeleteRecord(ctx context.Context, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Delete([]byte(key))
	})
}

// expiring records are: expiry (unix nanoseconds) | failures | sealed value.
func encode(expires time.Time, failures int, sealed []byte) []byte {
	out := make([]byte, 12, 12+len(sealed))
	binary.BigEndian.PutUint64(out[:8], uint64(expires.UnixNano()))
	binary.BigEndian.PutUint32(out[8:12], uint32(failures))
	return append(out, sealed...)
}

func decode(v []byte) (expires time.Time, failures int, sealed []byte) {
	if len(v) < 12 {
		return time.Time{}, 0, nil
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))), int(binary.BigEndian.Uint32(v[8:12])), bytes.Clone(v[12:])
}

// live returns the record under key in b, or ErrNotFound when absent or expired.
func (s *Store) live(b *bolt.Bucket, key string) (time.Time, int, []byte, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return time.Time{}, 0, nil, store.ErrNotFound
	}
	exp, failures, sealed := decode(v)
	if !s.now().Before(exp) {
		return time.Time{}, 0, nil, store.ErrNotFound
	}
	return exp, failures, sealed, nil
}

func (s *Store) PutPending(ctx context.Context, id string, sealed []byte, ttl time.Duration) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).Put([]byte(id), encode(s.now().Add(ttl), 0, sealed))
	})
}

func (s *Store) TakePending(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPending)
		_, _, sealed, err := s.live(b, id)
		if derr := b.Delete([]byte(id)); derr != nil {
			return derr
		}
		out = sealed
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return out, err
}

func (s *Store) PutHeld(ctx context.Context, user string, sealed []byte, ttl time.Duration) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHeld).Put([]byte(user), encode(s.now().Add(ttl), 0, sealed))
	})
}

func (s *Store) GetHeld(ctx context.Context, user string) ([]byte, int, error) {
	var (
		out      []byte
		failures int
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		_, failures, out, err = s.live(tx.Bucket(bucketHeld), user)
		return err
	})
	return out, failures, err
}

func (s *Store) FailHeld(ctx context.Context, user string, max int) (int, error) {
	var failures int
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHeld)
		exp, n, sealed, err := s.live(b, user)
		if err != nil {
			return err
		}
		failures = n + 1
		if failures >= max {
			return b.Delete([]byte(user))
		}
		return b.Put([]byte(user), encode(exp, failures, sealed))
	})
	return failures, err
}

func (s *Store) TakeHeld(ctx context.Context, user string, sealed []byte) (bool, error) {
	taken := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHeld)
		_, _, current, err := s.live(b, user)
		if errors.Is(err, store.ErrNotFound) || !bytes.Equal(current, sealed) {
			return nil
		}
		taken = true
		return b.Delete([]byte(user))
	})
	return taken, err
}

// sweep deletes expired records, so abandoned sign-ins and old answers do not pile up.
func (s *Store) sweep() {
	defer s.done.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.Sweep()
		}
	}
}

// Sweep deletes every expired record now.
func (s *Store) Sweep() error {
	now := s.now()
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketPending, bucketHeld, bucketRecords} {
			b := tx.Bucket(name)
			var expired [][]byte
			_ = b.ForEach(func(k, v []byte) error {
				if exp, _, _ := decode(v); !now.Before(exp) {
					expired = append(expired, bytes.Clone(k))
				}
				return nil
			})
			for _, k := range expired {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// SampleTokens returns the first stored token record.
func (s *Store) SampleTokens(ctx context.Context) (string, []byte, error) {
	var user string
	var sealed []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketTokens).Cursor().First()
		if k == nil {
			return store.ErrNotFound
		}
		user, sealed = string(k), bytes.Clone(v)
		return nil
	})
	return user, sealed, err
}
