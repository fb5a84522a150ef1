package test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkIncidentsTurn measures a whole "incidents" turn through HTTP on
// loopback, with the user signed in and the token cached: the activity is
// posted to the bot process, which checks the channel token, sends a typing
// indicator, lists the incidents at the fake ServiceNow (one Table API call)
// and posts the card to the fake connector. It reports turns per second and
// the p50/p99 latency from the post to the reply's arrival, for one user at a
// time and for 8 users at once.
func BenchmarkIncidentsTurn(b *testing.B) {
	for _, users := range []int{1, 8} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			w := newWorld(b, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })
			people := make([]user, users)
			for i := range people {
				people[i] = user{ID: fmt.Sprintf("29:bench%d", i), Name: "Bench", ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
					Tenant: ada.Tenant, Conversation: fmt.Sprintf("a:bench-%d", i)}
				w.signIn(people[i], "ada.lovelace", "incidents")
			}
			var (
				mu        sync.Mutex
				latencies []time.Duration
				wg        sync.WaitGroup
			)
			per := max(b.N/users, 1)
			b.ResetTimer()
			start := time.Now()
			for _, p := range people {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range per {
						t0 := time.Now()
						w.say(p, "incidents")
						w.next(p)
						mu.Lock()
						latencies = append(latencies, time.Since(t0))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(latencies)
			pct := func(p float64) float64 {
				return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "turns/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
