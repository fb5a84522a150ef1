// Package store is where snowbot keeps its state: each user's sealed
// ServiceNow tokens, sign-ins waiting for ServiceNow's redirect, tokens
// waiting for their verification code, and small sealed records with an
// expiry (what a form submission answered, which events were handled), and a
// durable queue of work (ServiceNow's change events). Secrets arrive sealed; a
// store never sees one in plain text. Implementations: boltstore (one
// instance) and redisstore (several instances).
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
)

// ErrNotFound means there is no such record, or it has expired.
var ErrNotFound = errors.New("store: not found")

// ErrUnavailable means the store cannot be reached right now; nothing is known
// about the record, so callers must not treat it as missing.
var ErrUnavailable = errors.New("store: temporarily unavailable")

// Store keeps sealed records. Every method is safe for concurrent use.
type Store interface {
	// GetTokens returns the user's sealed tokens.
	GetTokens(ctx context.Context, user string) ([]byte, error)
	// PutTokens stores them; it returns only once they survive a crash.
	PutTokens(ctx context.Context, user string, sealed []byte) error
	// DeleteTokens forgets them; deleting nothing is not an error.
	DeleteTokens(ctx context.Context, user string) error
	// SwapTokens replaces the user's tokens only if they are still exactly old,
	// so an update never overwrites a refresh that happened meanwhile. It
	// reports whether it did.
	SwapTokens(ctx context.Context, user string, old, sealed []byte) (bool, error)

	// PutPending keeps a sign-in that waits for ServiceNow's redirect, under its state id.
	PutPending(ctx context.Context, id string, sealed []byte, ttl time.Duration) error
	// TakePending returns and removes it in one step, so a state is used once.
	TakePending(ctx context.Context, id string) ([]byte, error)

	// PutHeld keeps tokens that wait for the user's verification code, one per
	// user; a new one replaces the old and starts with no failures.
	PutHeld(ctx context.Context, user string, sealed []byte, ttl time.Duration) error
	// GetHeld returns the held record and how many wrong codes were tried.
	GetHeld(ctx context.Context, user string) (sealed []byte, failures int, err error)
	// FailHeld counts one wrong code and discards the held record when the count
	// reaches max. It returns the new count.
	FailHeld(ctx context.Context, user string, max int) (int, error)
	// TakeHeld removes the held record only if it is still exactly sealed, so a
	// code binds once and never binds a newer sign-in. It reports whether it did.
	TakeHeld(ctx context.Context, user string, sealed []byte) (bool, error)

	// PutRecord keeps a sealed record under key; ttl 0 keeps it until deleted.
	PutRecord(ctx context.Context, key string, sealed []byte, ttl time.Duration) error
	// PutRecordIfAbsent keeps it only if the key holds nothing (or only an
	// expired record), atomically across instances. It reports whether it did.
	PutRecordIfAbsent(ctx context.Context, key string, sealed []byte, ttl time.Duration) (bool, error)
	// SwapRecord replaces the record under key only if it is still exactly
	// old (nil: only if there is none), atomically across instances, keeping
	// the new one for ttl (0: until deleted); it reports whether it did. A
	// read, a change and a swap make an update that no other instance's
	// update can undo.
	SwapRecord(ctx context.Context, key string, old, sealed []byte, ttl time.Duration) (bool, error)
	// GetRecord returns the record, or ErrNotFound.
	GetRecord(ctx context.Context, key string) ([]byte, error)
	// DeleteRecord forgets it; deleting nothing is not an error.
	DeleteRecord(ctx context.Context, key string) error

	Queue
	Marks

	// Ping reports whether the store can serve.
	Ping(ctx context.Context) error
	Close() error
}

// Locker is implemented by stores that several instances share, to let one
// instance at a time refresh a user's tokens.
type Locker interface {
	// TryLock takes the named lock for at most ttl. ok is false when another holder has it.
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)
}

// Sampler is implemented by stores that can hand out one stored token
// record, so the encryption key can be checked against real data.
type Sampler interface {
	// SampleTokens returns some user's sealed tokens, or ErrNotFound when there are none.
	SampleTokens(ctx context.Context) (user string, sealed []byte, err error)
}

// Queue is a durable queue of work shared by all instances: what was enqueued
// is done even when the instance that took it stops halfway (its claim
// lapses). Items enqueued under the same key while it waits form one batch,
// so that several changes to one thing become one piece of work.
type Queue interface {
	// EnqueueOnce adds item to the batch under key, unless once was already
	// seen within memory: remembering once and keeping the item are one
	// atomic step, so an error means neither happened. A new batch is due
	// after delay; a batch already waiting (or claimed) keeps its time, so
	// items that arrive meanwhile join it. It reports whether it enqueued,
	// and returns only once the item is kept.
	EnqueueOnce(ctx context.Context, once string, memory time.Duration, key string, item []byte, delay time.Duration) (bool, error)
	// Claim takes up to max due batches for lease: nobody else is handed them
	// until the lease ends, and then they are due again unless finished.
	Claim(ctx context.Context, max int, lease time.Duration) ([]Batch, error)
	// Extend keeps a claimed batch for another lease from now, while its
	// work goes on. It reports false when the claim is no longer this one
	// (it lapsed and the batch was claimed again).
	Extend(ctx context.Context, b Batch, lease time.Duration) (bool, error)
	// Finish removes the items a claimed batch handed out; items that joined
	// it since are due after delay. A batch whose lease lapsed and was claimed
	// again is left to its new claimant.
	Finish(ctx context.Context, b Batch, delay time.Duration) error
	// Retry gives a claimed batch back whole (what it handed out and what
	// joined since), due again after delay. A batch claimed again meanwhile
	// is left to its new claimant.
	Retry(ctx context.Context, b Batch, delay time.Duration) error
	// QueueStats says how many batches wait and when the oldest became due.
	QueueStats(ctx context.Context) (QueueStats, error)
}

// QueueStats describe what waits in a queue.
type QueueStats struct {
	Batches   int
	OldestDue time.Time // zero when nothing waits
}

// Marks are flags every instance shares, each kept for a while: what was
// already done (this person was told of that event), so that work done again
// after a crash skips it.
type Marks interface {
	// Mark sets every key for ttl; it returns only once they survive a crash.
	Mark(ctx context.Context, keys []string, ttl time.Duration) error
	// Marked says which keys are set.
	Marked(ctx context.Context, keys []string) ([]bool, error)
}

// Window is one of a channel's limits: at most Max sends within Span.
type Window struct {
	Span time.Duration
	Max  int
}

// SendLog is implemented by stores that several instances share, so that
// their sends together keep within a channel's limits.
type SendLog interface {
	// ReserveSend counts one send for key at the earliest moment from now at
	// which no window of limits is over its Max, and returns how long to
	// wait for it. Any margin is the caller's, in the spans it gives.
	ReserveSend(ctx context.Context, key string, limits []Window) (time.Duration, error)
}

// Batch is the items enqueued under one key, oldest first.
type Batch struct {
	Key   string
	Items [][]byte
	// Claim identifies this claim of the batch to Finish.
	Claim string
}

// ErrBatchFull means a batch holds as much as a store keeps for one key.
var ErrBatchFull = errors.New("store: the queue holds too much under this key")

// MaxBatchBytes bounds one batch, so a flood for one key cannot fill the store.
const MaxBatchBytes = 4 << 20

// AppendItem adds item to a batch's encoding: a uvarint length, then the bytes.
func AppendItem(blob, item []byte) []byte {
	blob = binary.AppendUvarint(blob, uint64(len(item)))
	return append(blob, item...)
}

// SplitItems reads the items of a batch's encoding.
func SplitItems(blob []byte) ([][]byte, error) {
	var items [][]byte
	for len(blob) > 0 {
		n, k := binary.Uvarint(blob)
		if k <= 0 || uint64(len(blob)-k) < n {
			return items, errors.New("store: a queued batch is damaged")
		}
		items = append(items, blob[k:k+int(n)])
		blob = blob[k+int(n):]
	}
	return items, nil
}
