package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"snowbot/auth/store"
)

// kindRecord is the sealing kind of a user's records.
const kindRecord = "record"

// ErrNoRecord means a user has no record of that name (or it expired).
var ErrNoRecord = errors.New("no such record")

// ErrUnavailable means the store cannot be reached right now: nothing is known,
// so the person is told to try again rather than to sign in again.
var ErrUnavailable = store.ErrUnavailable

// Records are small values the conversation keeps for one person (what a
// submitted form answered, say), sealed like their tokens and stored under a
// hash, so the store sees neither the person nor the content.
type Records struct {
	s    *Service
	user string
}

// Records returns the records of user.
func (s *Service) Records(user string) *Records { return &Records{s: s, user: user} }

func (r *Records) key(name string) (key, subject string) {
	subject = r.user + "\x00" + name
	h := sha256.Sum256([]byte("record\x00" + subject))
	return hex.EncodeToString(h[:]), subject
}

// Put keeps value under name for ttl (0: until deleted).
func (r *Records) Put(ctx context.Context, name string, value []byte, ttl time.Duration) error {
	key, subject := r.key(name)
	return r.s.cfg.Store.PutRecord(ctx, key, r.s.sealer.Seal(kindRecord, subject, value), ttl)
}

// PutIfAbsent keeps value only if name holds nothing yet, atomically across
// instances; it reports whether it did.
func (r *Records) PutIfAbsent(ctx context.Context, name string, value []byte, ttl time.Duration) (bool, error) {
	key, subject := r.key(name)
	return r.s.cfg.Store.PutRecordIfAbsent(ctx, key, r.s.sealer.Seal(kindRecord, subject, value), ttl)
}

// Update changes the value under name with edit, atomically across
// instances: edit gets the value as it is (nil when there is none) and
// returns the new one, and is called again when another instance changed the
// value meanwhile. It returns what was kept.
func (r *Records) Update(ctx context.Context, name string, ttl time.Duration, edit func(cur []byte) ([]byte, error)) ([]byte, error) {
	key, subject := r.key(name)
	st := r.s.cfg.Store
	for try := 0; ; try++ {
		sealed, err := st.GetRecord(ctx, key)
		var cur []byte
		switch {
		case errors.Is(err, store.ErrNotFound):
			sealed = nil
		case err != nil:
			return nil, err
		default:
			if cur, err = r.s.sealer.Open(kindRecord, subject, sealed); err != nil {
				cur = nil // sealed under a retired key: as good as gone
			}
		}
		next, err := edit(cur)
		if err != nil {
			return nil, err
		}
		ok, err := st.SwapRecord(ctx, key, sealed, r.s.sealer.Seal(kindRecord, subject, next), ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			return next, nil
		}
		if try == maxUpdateTries {
			return nil, fmt.Errorf("%w: the record kept changing under %d updates", ErrUnavailable, maxUpdateTries)
		}
		select { // another instance got there first: read again, a moment later
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(10*(try+1))) * time.Millisecond):
		}
	}
}

// maxUpdateTries bounds how often Update reads again after losing a race.
const maxUpdateTries = 50

// Get returns the value under name, or ErrNoRecord.
func (r *Records) Get(ctx context.Context, name string) ([]byte, error) {
	key, subject := r.key(name)
	sealed, err := r.s.cfg.Store.GetRecord(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoRecord
	}
	if err != nil {
		return nil, err
	}
	plain, err := r.s.sealer.Open(kindRecord, subject, sealed)
	if err != nil {
		return nil, ErrNoRecord // sealed under a retired key: as good as gone
	}
	return plain, nil
}

// Delete forgets the value under name.
func (r *Records) Delete(ctx context.Context, name string) error {
	key, _ := r.key(name)
	return r.s.cfg.Store.DeleteRecord(ctx, key)
}
