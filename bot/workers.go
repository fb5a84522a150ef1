package bot

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// background runs work for a turn after its request is answered: the channel
// must not wait for ServiceNow. The work keeps the request's values (its id for
// the logs), is bounded by turnTimeout and is waited for at shutdown.
func (b *Bot) background(ctx context.Context, f func(ctx context.Context)) {
	b.turns.Add(1)
	b.inFlight.Add(1)
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), turnTimeout)
	stop := context.AfterFunc(b.base, cancel)
	job := func() {
		defer b.turns.Done()
		defer b.inFlight.Add(-1)
		defer cancel()
		defer stop()
		defer func() {
			if p := recover(); p != nil {
				b.log.ErrorContext(tctx, "background work panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		f(tctx)
	}
	select {
	case b.idle <- job: // a worker that is waiting takes it
	default:
		if b.workers.Add(1) <= maxWorkers {
			go b.work(job)
		} else {
			b.workers.Add(-1)
			go job() // every worker is busy: a goroutine of its own, never a queue
		}
	}
}

// maxWorkers is how many goroutines stay to run turns. A turn decodes and
// encodes JSON deep enough to grow a fresh goroutine's stack several times;
// a worker that lives on keeps its grown stack, which saves that copying (about
// a tenth of a turn's CPU) on every turn after its first. A worker with nothing
// to do for workerIdle ends, so the pool shrinks back after a burst.
const (
	maxWorkers = 256
	workerIdle = 5 * time.Second
)

// work runs job, then the next ones it is handed, until it has been idle for
// workerIdle or the bot shuts down.
func (b *Bot) work(job func()) {
	defer b.workers.Add(-1)
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(workerIdle)
		select {
		case job = <-b.idle:
		case <-idle.C:
			return
		case <-b.base.Done():
			return
		}
	}
}

// InFlight is how many turns are still being answered after their request.
func (b *Bot) InFlight() int64 { return b.inFlight.Load() }

// Shutdown waits for turns in flight, at most until ctx ends, then cancels them.
func (b *Bot) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { b.turns.Wait(); close(done) }()
	defer b.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("turns still running at shutdown: %w", ctx.Err())
	}
}
