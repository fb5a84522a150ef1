package test

import (
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/test/fakeservicenow"
)

var fullLoad = flag.Bool("load", false, "run the full load and fault test: 1,000 users, 20,000 turns")

// TestLoadAndFaults runs two bot instances on one Redis against the fakes,
// with 1% of ServiceNow calls answered 503 and 1% answered 429, and Redis
// restarted once mid-run. Every turn must get exactly one answer, nothing may
// panic, and nobody may be asked to sign in again. It prints turns/s and the
// p50/p99 latency from post to answer. Without -load it runs a shortened
// version (100 users, 1,000 turns).
func TestLoadAndFaults(t *testing.T) {
	users, turns, workers := 100, 1000, 16
	if !*fullLoad {
		t.Parallel() // a check that nothing is lost, not a measurement: it may share the machine
	}
	if *fullLoad {
		users, turns, workers = 1000, 20000, 64
	}
	f := newFleet(t, 2, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })

	// Everyone signs in first (through both instances), as a ServiceNow account of the fake.
	people := make([]user, users)
	var wg sync.WaitGroup
	next := atomic.Int32{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= users {
					return
				}
				people[i] = user{ID: fmt.Sprintf("29:load%d", i), Name: fmt.Sprintf("User %d", i),
					ObjectID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), Tenant: ada.Tenant, Conversation: fmt.Sprintf("a:load-%d", i)}
				signInOn(t, f, i%2, people[i])
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	f.sn.Configure(func(s *fakeservicenow.Server) {
		s.TableFaults = fakeservicenow.Faults{Rate5xx: 0.01, Rate429: 0.01, RetryAfter: "1"}
	})
	var (
		mu        sync.Mutex
		latencies []time.Duration
		sent      = map[string]int{}
		kinds     = map[string]int{}
		done      atomic.Int32
		restarted sync.Once
	)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []user
			for i := w; i < users; i += workers {
				mine = append(mine, people[i])
			}
			for k := 0; ; k++ {
				n := int(done.Add(1))
				if n > turns {
					return
				}
				if n == turns/2 {
					restarted.Do(func() {
						go func() { f.redis.Stop(); time.Sleep(time.Second); f.redis.Start() }()
					})
				}
				u := mine[k%len(mine)]
				t0 := time.Now()
				if status, body := f.instances[n%2].post(t, f.token(), message(f.bf, u, "incidents")); status != http.StatusOK {
					t.Errorf("turn refused: %d %s", status, body)
					return
				}
				reply := f.next(u)
				kind := classify(reply.JSON())
				mu.Lock()
				latencies = append(latencies, time.Since(t0))
				sent[u.Conversation]++
				kinds[kind]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Exactly one answer per turn: nothing more arrives afterwards.
	time.Sleep(time.Second)
	lost, extra := 0, 0
	for _, u := range people {
		f.mu.Lock()
		seen := f.seen[u.Conversation]
		f.mu.Unlock()
		got := len(messagesTo(f.bf, u.Conversation))
		if got < seen {
			lost += seen - got
		}
		extra += got - seen
	}
	for i, p := range f.instances {
		if strings.Contains(p.Logs(), "panic") {
			t.Errorf("instance %d panicked:\n%s", i+1, p.Logs())
		}
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("%d users, %d turns on 2 instances in %s: %.0f turns/s, p50 %s, p99 %s", users, len(latencies), elapsed.Round(time.Millisecond),
		float64(len(latencies))/elapsed.Seconds(), pct(0.50).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond))
	t.Logf("answers: %v", kinds)
	if len(latencies) != turns {
		t.Errorf("%d of %d turns answered", len(latencies), turns)
	}
	if lost != 0 || extra != 0 {
		t.Errorf("%d answers lost, %d extra answers", lost, extra)
	}
	if kinds["sign-in"] != 0 {
		t.Errorf("%d turns asked the user to sign in again", kinds["sign-in"])
	}
	if kinds["other"] != 0 {
		t.Errorf("%d answers were neither a list nor an explained problem", kinds["other"])
	}
	if kinds["list"] < turns/2 {
		t.Errorf("only %d of %d turns listed incidents", kinds["list"], turns)
	}
}

// signInOn signs u in through instance i with a typed code.
func signInOn(t *testing.T, f *fleet, i int, u user) {
	p := f.instances[i]
	if status, _ := p.post(t, f.token(), message(f.bf, u, "incidents")); status != http.StatusOK {
		t.Errorf("sign-in turn refused")
		return
	}
	link := signInURL(f.next(u))
	if link == "" {
		t.Errorf("%s got no sign-in card", u.Name)
		return
	}
	_, page := browse(t, link)
	if status, _ := p.post(t, f.token(), message(f.bf, u, pageCode(t, page))); status != http.StatusOK {
		t.Errorf("code turn refused")
		return
	}
	f.next(u) // confirmation
	f.next(u) // the list
}

// classify sorts an answer to "incidents".
func classify(js string) string {
	switch {
	case signInURLPattern.MatchString(js):
		return "sign-in"
	case strings.Contains(js, "Your open incidents"):
		return "list"
	case strings.Contains(js, "temporarily unavailable"):
		return "store unavailable"
	case strings.Contains(js, "slow down"):
		return "throttled"
	case strings.Contains(js, "not answering"):
		return "servicenow down"
	}
	return "other"
}
