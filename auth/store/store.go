// Package store is where snowbot keeps its state: each user's sealed
// ServiceNow tokens, sign-ins waiting for ServiceNow's redirect, tokens
// waiting for their verification code, and small sealed records with an
// expiry (what a form submission answered, which events were handled). Values arrive sealed; a store never sees
// a secret in plain text. Implementations: boltstore (one instance) and
// redisstore (several instances).
package store

import (
	"context"
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
