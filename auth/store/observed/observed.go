// Package observed wraps a store so that each of its operations is a span
// (the operation and the kind of store; never a key, which may name a
// person) and each failure is counted in snowbot.store.errors. The bot wraps
// its store only when telemetry is on.
package observed

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"snowbot/auth/store"
)

var (
	tracer        = otel.Tracer("snowbot/store")
	errorCount, _ = otel.Meter("snowbot/store").Int64Counter("snowbot.store.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Store operations that failed, by operation and kind (unavailable: the store could not be reached)."))
)

// Wrap observes st; system names its kind ("redis", "bolt"). A store that
// several instances share (a store.Locker and store.SendLog) stays one.
func Wrap(st store.Store, system string) store.Store {
	o := &Store{st: st, system: system}
	if _, ok := st.(store.Locker); ok {
		if _, ok := st.(store.SendLog); ok {
			return &Shared{o}
		}
	}
	return o
}

// reads are the operations that only read. In a bolt file they are a
// look-up in memory that never waits: they are counted when they fail but
// not traced (a span would cost more than they do).
var reads = map[string]bool{"get_tokens": true, "get_held": true, "get_record": true, "marked": true, "queue_stats": true, "sample_tokens": true}

// call runs one operation in a span.
func call[T any](ctx context.Context, s *Store, op string, f func(ctx context.Context) (T, error)) (T, error) {
	span := trace.SpanFromContext(context.Background()) // a no-op span, for what is not traced
	if s.system != "bolt" || !reads[op] {
		ctx, span = tracer.Start(ctx, "store "+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(semconv.DBOperationName(op), semconv.DBSystemNameKey.String(s.system)))
	}
	v, err := f(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		kind := "other"
		if errors.Is(err, store.ErrUnavailable) {
			kind = "unavailable"
		}
		span.SetStatus(codes.Error, kind)
		span.SetAttributes(semconv.ErrorTypeKey.String(kind))
		errorCount.Add(ctx, 1, metric.WithAttributes(semconv.DBOperationName(op), semconv.DBSystemNameKey.String(s.system), attribute.String("error.type", kind)))
	}
	span.End()
	return v, err
}

// done adapts an operation that returns only an error.
func done(f func(ctx context.Context) error) func(ctx context.Context) (struct{}, error) {
	return func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) }
}

// Store is an observed store of one instance.
type Store struct {
	st     store.Store
	system string
}

var _ store.Store = (*Store)(nil)

func (s *Store) GetTokens(ctx context.Context, user string) ([]byte, error) {
	return call(ctx, s, "get_tokens", func(ctx context.Context) ([]byte, error) { return s.st.GetTokens(ctx, user) })
}

func (s *Store) PutTokens(ctx context.Context, user string, sealed []byte) error {
	_, err := call(ctx, s, "put_tokens", done(func(ctx context.Context) error { return s.st.PutTokens(ctx, user, sealed) }))
	return err
}

func (s *Store) DeleteTokens(ctx context.Context, user string) error {
	_, err := call(ctx, s, "delete_tokens", done(func(ctx context.Context) error { return s.st.DeleteTokens(ctx, user) }))
	return err
}

func (s *Store) SwapTokens(ctx context.Context, user string, old, sealed []byte) (bool, error) {
	return call(ctx, s, "swap_tokens", func(ctx context.Context) (bool, error) { return s.st.SwapTokens(ctx, user, old, sealed) })
}

func (s *Store) PutPending(ctx context.Context, id string, sealed []byte, ttl time.Duration) error {
	_, err := call(ctx, s, "put_pending", done(func(ctx context.Context) error { return s.st.PutPending(ctx, id, sealed, ttl) }))
	return err
}

func (s *Store) TakePending(ctx context.Context, id string) ([]byte, error) {
	return call(ctx, s, "take_pending", func(ctx context.Context) ([]byte, error) { return s.st.TakePending(ctx, id) })
}

func (s *Store) PutHeld(ctx context.Context, user string, sealed []byte, ttl time.Duration) error {
	_, err := call(ctx, s, "put_held", done(func(ctx context.Context) error { return s.st.PutHeld(ctx, user, sealed, ttl) }))
	return err
}

func (s *Store) GetHeld(ctx context.Context, user string) ([]byte, int, error) {
	type held struct {
		sealed   []byte
		failures int
	}
	h, err := call(ctx, s, "get_held", func(ctx context.Context) (held, error) {
		sealed, failures, err := s.st.GetHeld(ctx, user)
		return held{sealed, failures}, err
	})
	return h.sealed, h.failures, err
}

func (s *Store) FailHeld(ctx context.Context, user string, max int) (int, error) {
	return call(ctx, s, "fail_held", func(ctx context.Context) (int, error) { return s.st.FailHeld(ctx, user, max) })
}

func (s *Store) TakeHeld(ctx context.Context, user string, sealed []byte) (bool, error) {
	return call(ctx, s, "take_held", func(ctx context.Context) (bool, error) { return s.st.TakeHeld(ctx, user, sealed) })
}

func (s *Store) PutRecord(ctx context.Context, key string, sealed []byte, ttl time.Duration) error {
	_, err := call(ctx, s, "put_record", done(func(ctx context.Context) error { return s.st.PutRecord(ctx, key, sealed, ttl) }))
	return err
}

func (s *Store) PutRecordIfAbsent(ctx context.Context, key string, sealed []byte, ttl time.Duration) (bool, error) {
	return call(ctx, s, "put_record_if_absent", func(ctx context.Context) (bool, error) { return s.st.PutRecordIfAbsent(ctx, key, sealed, ttl) })
}

func (s *Store) SwapRecord(ctx context.Context, key string, old, sealed []byte, ttl time.Duration) (bool, error) {
	return call(ctx, s, "swap_record", func(ctx context.Context) (bool, error) { return s.st.SwapRecord(ctx, key, old, sealed, ttl) })
}

func (s *Store) GetRecord(ctx context.Context, key string) ([]byte, error) {
	return call(ctx, s, "get_record", func(ctx context.Context) ([]byte, error) { return s.st.GetRecord(ctx, key) })
}

func (s *Store) DeleteRecord(ctx context.Context, key string) error {
	_, err := call(ctx, s, "delete_record", done(func(ctx context.Context) error { return s.st.DeleteRecord(ctx, key) }))
	return err
}

func (s *Store) EnqueueOnce(ctx context.Context, once string, memory time.Duration, key string, item []byte, delay time.Duration) (bool, error) {
	return call(ctx, s, "enqueue_once", func(ctx context.Context) (bool, error) { return s.st.EnqueueOnce(ctx, once, memory, key, item, delay) })
}

func (s *Store) Claim(ctx context.Context, max int, lease time.Duration) ([]store.Batch, error) {
	return call(ctx, s, "claim", func(ctx context.Context) ([]store.Batch, error) { return s.st.Claim(ctx, max, lease) })
}

func (s *Store) Extend(ctx context.Context, b store.Batch, lease time.Duration) (bool, error) {
	return call(ctx, s, "extend", func(ctx context.Context) (bool, error) { return s.st.Extend(ctx, b, lease) })
}

func (s *Store) Finish(ctx context.Context, b store.Batch, delay time.Duration) error {
	_, err := call(ctx, s, "finish", done(func(ctx context.Context) error { return s.st.Finish(ctx, b, delay) }))
	return err
}

func (s *Store) Retry(ctx context.Context, b store.Batch, delay time.Duration) error {
	_, err := call(ctx, s, "retry", done(func(ctx context.Context) error { return s.st.Retry(ctx, b, delay) }))
	return err
}

func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	return call(ctx, s, "queue_stats", func(ctx context.Context) (store.QueueStats, error) { return s.st.QueueStats(ctx) })
}

func (s *Store) Mark(ctx context.Context, keys []string, ttl time.Duration) error {
	_, err := call(ctx, s, "mark", done(func(ctx context.Context) error { return s.st.Mark(ctx, keys, ttl) }))
	return err
}

func (s *Store) Marked(ctx context.Context, keys []string) ([]bool, error) {
	return call(ctx, s, "marked", func(ctx context.Context) ([]bool, error) { return s.st.Marked(ctx, keys) })
}

// Ping is not traced: health checks would fill the traces.
func (s *Store) Ping(ctx context.Context) error { return s.st.Ping(ctx) }

func (s *Store) Close() error { return s.st.Close() }

// SampleTokens passes on to the store's, when it has one.
func (s *Store) SampleTokens(ctx context.Context) (string, []byte, error) {
	sampler, ok := s.st.(store.Sampler)
	if !ok {
		return "", nil, store.ErrNotFound
	}
	type sample struct {
		user   string
		sealed []byte
	}
	v, err := call(ctx, s, "sample_tokens", func(ctx context.Context) (sample, error) {
		user, sealed, err := sampler.SampleTokens(ctx)
		return sample{user, sealed}, err
	})
	return v.user, v.sealed, err
}

// Shared is an observed store that several instances share: it locks and
// keeps the fleet's send log too.
type Shared struct{ *Store }

var (
	_ store.Locker  = (*Shared)(nil)
	_ store.SendLog = (*Shared)(nil)
)

func (s *Shared) TryLock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	type lock struct {
		release func()
		ok      bool
	}
	l, err := call(ctx, s.Store, "try_lock", func(ctx context.Context) (lock, error) {
		release, ok, err := s.st.(store.Locker).TryLock(ctx, name, ttl)
		return lock{release, ok}, err
	})
	return l.release, l.ok, err
}

func (s *Shared) ReserveSend(ctx context.Context, key string, limits []store.Window) (time.Duration, error) {
	return call(ctx, s.Store, "reserve_send", func(ctx context.Context) (time.Duration, error) {
		return s.st.(store.SendLog).ReserveSend(ctx, key, limits)
	})
}
