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
	// GetRecord returns the record, or ErrNotFound.
	GetRecord(ctx context.Context, key string) ([]byte, error)
	// DeleteRecord forgets it; deleting nothing is not an error.
	DeleteRecord(ctx context.Context, key string) error

	Queue

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
	// Enqueue adds item to the batch under key. A new batch is due after
	// delay; a batch already waiting (or claimed) keeps its time, so items
	// that arrive meanwhile join it. It returns only once the item is kept.
	Enqueue(ctx context.Context, key string, item []byte, delay time.Duration) error
	// Claim takes up to max due batches for lease: nobody else is handed them
	// until the lease ends, and then they are due again unless finished.
	Claim(ctx context.Context, max int, lease time.Duration) ([]Batch, error)
	// Finish removes the items a claimed batch handed out; items that joined
	// it since are due after delay. A batch whose lease lapsed and was claimed
	// again is left to its new claimant.
	Finish(ctx context.Context, b Batch, delay time.Duration) error
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
