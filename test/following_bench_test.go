package test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/servicenow/events"
	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// BenchmarkFollowingAtScale: 5,000 people each watching 5 records (25,000
// records of incident, change_request and problem, each watched by one
// person), 50 channel subscriptions across the 3 tables (in 10 channels,
// each matching 1% of its table), and change events at 50/s for 60 s
// against the in-memory instance answering every call 20 ms late. It reports
// events accepted/s, ServiceNow calls per event, p50/p99 from the event to
// the watcher's card, and the bot's memory. -short runs 500 people for 20 s.
//
//	go test ./test -run '^$' -bench FollowingAtScale -benchtime 1x -timeout 30m
func BenchmarkFollowingAtScale(b *testing.B) {
	people, perPerson, subscriptions, rate, duration := 5000, 5, 50, 50, 60*time.Second
	if testing.Short() {
		people, duration = 500, 20*time.Second
	}
	for range b.N {
		followingAtScale(b, people, perPerson, subscriptions, rate, duration)
	}
}

func followingAtScale(b *testing.B, people, perPerson, subscriptions, rate int, duration time.Duration) {
	w := newWorld(b, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })
	start := time.Now()
	crowd := make([]user, people)
	tenants := 10 // Teams' limits are per tenant: a crowd of one company would wait on them, not on snowbot
	parallel(people, 16, func(i int) {
		crowd[i] = user{ID: fmt.Sprintf("29:scale%d", i), Name: fmt.Sprintf("Person %d", i),
			ObjectID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), Tenant: fmt.Sprintf("0f1e2d3c-4b5a-6978-8796-%012d", i%tenants),
			Conversation: fmt.Sprintf("a:scale-%d", i)}
		w.signIn(crowd[i], "ada.lovelace", "incidents")
	})
	b.Logf("%d people signed in in %s", people, time.Since(start).Round(time.Second))

	// The records, each watched by one person.
	tables := []string{"incident", "change_request", "problem"}
	type rec struct{ table, number, sysID, watcher string }
	records := make([]rec, people*perPerson)
	for i := range records {
		table := tables[i%len(tables)]
		short := fmt.Sprintf("Scale %s %d (group %d)", table, i, (i/len(tables))%100)
		var number, sysID string
		if table == "incident" {
			number = w.sn.AddIncident("ada.lovelace", short)
			inc, _ := w.sn.Incident(number)
			sysID = inc.SysID
		} else {
			number, sysID = w.sn.AddTask(table, "ada.lovelace", short, 3)
		}
		records[i] = rec{table: table, number: number, sysID: sysID, watcher: crowd[i%people].Conversation}
	}
	start = time.Now()
	parallel(people, 16, func(p int) {
		for k := range perPerson {
			r := records[k*people+p]
			w.say(crowd[p], "watch "+r.number)
			if got := w.next(crowd[p]).Text(); !strings.Contains(got, "Watching "+r.number) {
				b.Errorf("watch %s: %s", r.number, got)
			}
		}
	})
	b.Logf("%d watches in %s", len(records), time.Since(start).Round(time.Second))

	// The channel subscriptions, owned by the first person.
	for k := range subscriptions {
		table := tables[k%len(tables)]
		channel := fmt.Sprintf("19:scale-channel-%d@thread.tacv2", k%10)
		a := channelMessage(w.bf, crowd[0], fmt.Sprintf("subscribe %s short_descriptionLIKE(group %d)", table, k))
		thread := channel + ";messageid=" + a["id"].(string)
		a["conversation"].(map[string]any)["id"] = thread
		a["channelData"].(map[string]any)["channel"] = map[string]any{"id": channel}
		w.post(a)
		if got := messagesOnly(waitMessages(b, w.bf, thread, 1))[0].Text(); !strings.Contains(got, "Subscribed this channel") {
			b.Fatalf("subscribe: %s", got)
		}
	}

	// The events: 50 a second, each for a record drawn at random, naming nobody.
	w.sn.Configure(func(s *fakeservicenow.Server) { s.Latency = 20 * time.Millisecond })
	w.bf.Configure(func(s *fakebotframework.Server) { s.TeamsLimits = true })
	callsBefore := len(w.sn.Requests("/api/now/"))
	rnd := rand.New(rand.NewPCG(1, 2))
	type sent struct {
		at time.Time
		r  rec
	}
	var (
		mu      sync.Mutex
		all     []sent
		accepts []time.Duration
		refused atomic.Int32
		wg      sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	start = time.Now()
	for i := 0; time.Since(start) < duration; i++ {
		<-tick.C
		r := records[rnd.IntN(len(records))]
		e := events.Event{ID: fmt.Sprintf("scale-%d", i), Table: r.table, SysID: r.sysID, Event: events.Updated,
			Recipients: []string{}, Changed: []string{"state"}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			status := w.sendEvent(e)
			mu.Lock()
			defer mu.Unlock()
			if status != http.StatusAccepted {
				refused.Add(1)
				return
			}
			accepts = append(accepts, time.Since(t0))
			all = append(all, sent{t0, r})
		}()
	}
	tick.Stop()
	wg.Wait()
	sending := time.Since(start)

	// Every watcher's card: from the event to its arrival.
	var latencies []time.Duration
	deadline := time.Now().Add(5 * time.Minute)
	for _, s := range all {
		for {
			if at, ok := arrival(w.bf, s.r.watcher, s.r.number, s.at); ok {
				latencies = append(latencies, at.Sub(s.at))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s's card never came", s.r.number)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	calls := len(w.sn.Requests("/api/now/")) - callsBefore
	slices.Sort(latencies)
	slices.Sort(accepts)
	pct := func(d []time.Duration, p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	rss, peak := processMemory(b, w.bot)
	b.ReportMetric(float64(len(all))/sending.Seconds(), "events-accepted/s")
	b.ReportMetric(float64(calls)/float64(len(all)), "servicenow-calls/event")
	b.ReportMetric(float64(pct(latencies, 0.5).Milliseconds()), "p50-event-to-card-ms")
	b.ReportMetric(float64(pct(latencies, 0.99).Milliseconds()), "p99-event-to-card-ms")
	b.ReportMetric(float64(rss>>20), "rss-MB")
	b.Logf("%d people, %d watches, %d subscriptions; %d events in %s (%.1f accepted/s, %d refused, accept p99 %s); "+
		"%.1f ServiceNow calls per event; event to card p50 %s, p99 %s; %d channel posts and replies; bot memory %d MB (peak %d MB)",
		people, len(records), subscriptions, len(all), sending.Round(time.Second), float64(len(all))/sending.Seconds(), refused.Load(),
		pct(accepts, 0.99).Round(time.Millisecond), float64(calls)/float64(len(all)), pct(latencies, 0.5).Round(time.Millisecond),
		pct(latencies, 0.99).Round(time.Millisecond), channelMessages(w.bf), rss>>20, peak>>20)
	if n := w.bf.Throttled(); n != 0 {
		b.Errorf("Teams throttled %d messages", n)
	}
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// arrival is when the first message about number reached conversation after since.
func arrival(bf *fakebotframework.Server, conversation, number string, since time.Time) (time.Time, bool) {
	for _, m := range messagesOnly(bf.DeliveredTo(conversation)) {
		if !m.At.Before(since) && strings.Contains(m.JSON(), number) {
			return m.At, true
		}
	}
	return time.Time{}, false
}

// channelMessages counts what went to the benchmark's channels.
func channelMessages(bf *fakebotframework.Server) int {
	n := 0
	for _, m := range bf.Delivered() {
		if strings.HasPrefix(m.ConversationID, "19:scale-channel-") && m.Type() == "message" && !strings.Contains(m.JSON(), "Subscribed this channel") {
			n++
		}
	}
	return n
}
