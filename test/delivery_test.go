package test

// The notification delivery guarantee, proved with faults against the built
// binary: an event answered 202 reaches each recipient once, whatever fails
// on the way (ServiceNow, Teams, the store, the process itself).

import (
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"snowbot/auth/store/storetest"
	"snowbot/servicenow/events"
	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// onBothStores runs a test against a bot on the embedded store and against
// one on Redis (r is nil for the embedded store).
func onBothStores(t *testing.T, test func(t *testing.T, w *world, r *storetest.Redis)) {
	onBothStoresWith(t, nil, test)
}

// onBothStoresWith is onBothStores with settings of the test's own.
func onBothStoresWith(t *testing.T, edit func(env map[string]string), test func(t *testing.T, w *world, r *storetest.Redis)) {
	for _, kind := range []string{"bolt", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var r *storetest.Redis
			w := newWorld(t, func(env map[string]string) {
				if edit != nil {
					edit(env)
				}
				if kind == "redis" {
					r = storetest.StartRedis(t)
					env["STORE_URL"] = r.URL()
				}
			})
			test(t, w, r)
		})
	}
}

// cardsAbout counts the messages to a conversation that mention text.
func cardsAbout(bf *fakebotframework.Server, conversation, text string) int {
	return mentioning(bf.DeliveredTo(conversation), text)
}

// mentioning counts the messages of a list that mention text.
func mentioning(delivered []fakebotframework.Activity, text string) int {
	n := 0
	for _, m := range messagesOnly(delivered) {
		if strings.Contains(m.JSON(), text) {
			n++
		}
	}
	return n
}

// waitCards waits until a conversation has n messages that mention text.
func waitCards(t testing.TB, bf *fakebotframework.Server, conversation, text string, n int, timeout time.Duration) {
	t.Helper()
	if !bf.WaitConversation(conversation, timeout, func(d []fakebotframework.Activity) bool { return mentioning(d, text) >= n }) {
		t.Fatalf("timed out after %s waiting for %d message(s) about %q in %s (got %d)", timeout, n, text, conversation, cardsAbout(bf, conversation, text))
	}
}

// commentEvent is a comment by Chloé on an incident, for Ada (as ada.lovelace)
// and Bob (signed in as the agent Beth Anglin): both may read every incident.
func commentEvent(t *testing.T, w *world, id, number string) events.Event {
	return events.Event{ID: id, Table: "incident", SysID: incidentID(t, w.sn, number), Event: "commented",
		Recipients: []string{sysIDOf(t, w.sn, "ada.lovelace"), sysIDOf(t, w.sn, "beth.anglin")},
		Actor:      sysIDOf(t, w.sn, "chloe.zhang"), Changed: []string{"comments"}}
}

func signInAdaAndBeth(w *world) {
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "beth.anglin", "incidents")
}

// Fifteen seconds of 503s from the Table API delay the notifications; once
// ServiceNow answers again, each person is told, once.
func TestATableAPIOutageDelaysNotificationsAndLosesNone(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, w *world, _ *storetest.Redis) {
		signInAdaAndBeth(w)
		w.sn.Configure(func(s *fakeservicenow.Server) { s.TableFaults.Rate5xx = 1 })
		if status := w.sendEvent(commentEvent(t, w, "outage-1", "INC0010002")); status != http.StatusAccepted {
			t.Fatalf("event answered %d", status)
		}
		time.Sleep(15 * time.Second)
		if n := cardsAbout(w.bf, ada.Conversation, "New comment on INC0010002") + cardsAbout(w.bf, bob.Conversation, "New comment on INC0010002"); n != 0 {
			t.Fatalf("%d cards while ServiceNow answered 503 to every read", n)
		}
		w.sn.Configure(func(s *fakeservicenow.Server) { s.TableFaults.Rate5xx = 0 })
		waitCards(t, w.bf, ada.Conversation, "New comment on INC0010002", 1, 30*time.Second)
		waitCards(t, w.bf, bob.Conversation, "New comment on INC0010002", 1, 30*time.Second)
		time.Sleep(3 * time.Second)
		for _, u := range []user{ada, bob} {
			if n := cardsAbout(w.bf, u.Conversation, "New comment on INC0010002"); n != 1 {
				t.Errorf("%s got %d cards about INC0010002", u.Name, n)
			}
		}
	})
}

// ServiceNow throttling a recipient's read (429 with a Retry-After longer
// than the client waits by itself) delays that notification by at least what
// it asked for; it is then sent, once.
func TestServiceNowThrottlingARecipientsReadDelaysAndLosesNone(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, w *world, _ *storetest.Redis) {
		w.signIn(ada, "ada.lovelace", "incidents")
		path := "/api/now/table/incident/" + incidentID(t, w.sn, "INC0010004")
		w.sn.Fail(fakeservicenow.Failure{Path: path, Method: http.MethodGet, User: "ada.lovelace", Status: http.StatusTooManyRequests, RetryAfter: "8"})
		e := commentEvent(t, w, "sn-throttled-1", "INC0010004")
		e.Recipients = e.Recipients[:1]
		sent := time.Now()
		if status := w.sendEvent(e); status != http.StatusAccepted {
			t.Fatalf("event answered %d", status)
		}
		waitCards(t, w.bf, ada.Conversation, "New comment on INC0010004", 1, 40*time.Second)
		if took := time.Since(sent); took < 8*time.Second {
			t.Errorf("told %s after the event, though ServiceNow asked for 8 s", took)
		}
		statuses := []int{}
		for _, r := range w.sn.Requests(path) {
			if r.Method == http.MethodGet {
				statuses = append(statuses, r.Status)
			}
		}
		if len(statuses) != 2 || statuses[0] != http.StatusTooManyRequests || statuses[1] != http.StatusOK {
			t.Errorf("the reads were answered %v, want one 429 and one 200", statuses)
		}
		time.Sleep(2 * time.Second)
		if n := cardsAbout(w.bf, ada.Conversation, "New comment on INC0010004"); n != 1 {
			t.Errorf("%d cards", n)
		}
	})
}

// Teams throttling a notification four times running (429, Retry-After: 3)
// delays it, each try at least the 3 seconds Teams asked for after the last;
// it is not given up.
func TestTeamsThrottlingDelaysANotificationAndLosesNone(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, w *world, _ *storetest.Redis) {
		w.signIn(ada, "ada.lovelace", "incidents")
		before := len(w.bf.Attempts())
		throttled := fakebotframework.Failure{Status: http.StatusTooManyRequests, RetryAfter: "3"}
		w.bf.FailNext(throttled, throttled, throttled, throttled)
		e := commentEvent(t, w, "throttled-1", "INC0010003")
		e.Recipients = e.Recipients[:1]
		if status := w.sendEvent(e); status != http.StatusAccepted {
			t.Fatalf("event answered %d", status)
		}
		waitCards(t, w.bf, ada.Conversation, "New comment on INC0010003", 1, 40*time.Second)
		var tries []time.Time
		for _, a := range w.bf.Attempts()[before:] {
			if a.ConversationID == ada.Conversation && a.Type() == "message" {
				tries = append(tries, a.At)
			}
		}
		if len(tries) != 5 {
			t.Fatalf("%d tries, want 4 throttled and 1 accepted", len(tries))
		}
		for i := 1; i < len(tries); i++ {
			if gap := tries[i].Sub(tries[i-1]); gap < 3*time.Second {
				t.Errorf("try %d came %s after a 429 that asked for 3 s", i+1, gap)
			}
		}
		time.Sleep(2 * time.Second)
		if n := cardsAbout(w.bf, ada.Conversation, "New comment on INC0010003"); n != 1 {
			t.Errorf("%d cards", n)
		}
	})
}

// The process dies (kill -9, or SIGTERM) while one recipient's read hangs:
// after a restart that recipient is told, and the one told before is not
// told again.
func TestAStopWhileAReadIsSlowLosesNothingAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	for _, stop := range []string{"kill", "sigterm"} {
		t.Run(stop, func(t *testing.T) {
			t.Parallel()
			onBothStores(t, func(t *testing.T, w *world, _ *storetest.Redis) {
				signInAdaAndBeth(w)
				number := "INC0010004"
				// Hanging reads, two of them: a read is tried again when one try takes too long.
				hang := fakeservicenow.Failure{Path: "/api/now/table/incident/" + incidentID(t, w.sn, number), Method: http.MethodGet,
					User: "beth.anglin", Hang: time.Minute}
				w.sn.Fail(hang, hang)
				if status := w.sendEvent(commentEvent(t, w, "slow-"+stop, number)); status != http.StatusAccepted {
					t.Fatalf("event answered %d", status)
				}
				waitCards(t, w.bf, ada.Conversation, "New comment on "+number, 1, 15*time.Second)
				time.Sleep(time.Second) // Beth's read hangs meanwhile
				if stop == "kill" {
					w.bot.Kill()
				} else if code, err := w.bot.Stop(30 * time.Second); err != nil || code != 0 {
					t.Fatalf("SIGTERM: exit %d, %v", code, err)
				}
				if n := cardsAbout(w.bf, bob.Conversation, "New comment on "+number); n != 0 {
					t.Fatalf("Beth was told while her read hung")
				}
				w.bot = startBot(t, w.env)
				waitCards(t, w.bf, bob.Conversation, "New comment on "+number, 1, 40*time.Second)
				time.Sleep(3 * time.Second)
				if n := cardsAbout(w.bf, ada.Conversation, "New comment on "+number); n != 1 {
					t.Errorf("Ada got %d cards: told again after the restart", n)
				}
				if n := cardsAbout(w.bf, bob.Conversation, "New comment on "+number); n != 1 {
					t.Errorf("Beth got %d cards", n)
				}
			})
		})
	}
}

// An event answered 202 survives a kill -9 that comes right after.
func TestAnEventAcceptedRightBeforeACrashIsDelivered(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, w *world, _ *storetest.Redis) {
		w.signIn(ada, "ada.lovelace", "incidents")
		e := commentEvent(t, w, "crash-1", "INC0010005")
		e.Recipients = e.Recipients[:1]
		if status := w.sendEvent(e); status != http.StatusAccepted {
			t.Fatalf("event answered %d", status)
		}
		w.bot.Kill()
		w.bot = startBot(t, w.env)
		waitCards(t, w.bf, ada.Conversation, "New comment on INC0010005", 1, 40*time.Second)
		time.Sleep(2 * time.Second)
		if n := cardsAbout(w.bf, ada.Conversation, "New comment on INC0010005"); n != 1 {
			t.Errorf("%d cards", n)
		}
	})
}

// Redis stops right when Teams takes a notification, before the bot could
// note that it was sent, and while the other recipient's read is still under
// way: when Redis is back, each was told once.
func TestRedisStoppingBetweenASendAndItsMarkRepeatsNothing(t *testing.T) {
	t.Parallel()
	r := storetest.StartRedis(t)
	w := newWorld(t, func(env map[string]string) { env["STORE_URL"] = r.URL() })
	signInAdaAndBeth(w)
	number := "INC0010006"
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident/" + incidentID(t, w.sn, number), Method: http.MethodGet,
		User: "beth.anglin", Hang: 2 * time.Second})
	var once sync.Once
	stopped := make(chan struct{})
	w.bf.Configure(func(s *fakebotframework.Server) {
		s.OnAccept = func(a fakebotframework.Activity) {
			if strings.Contains(a.JSON(), number) {
				once.Do(func() { r.Stop(); close(stopped) })
			}
		}
	})
	if status := w.sendEvent(commentEvent(t, w, "redis-mark-1", number)); status != http.StatusAccepted {
		t.Fatalf("event answered %d", status)
	}
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("no notification went out")
	}
	time.Sleep(4 * time.Second) // Beth's read ends and her card goes out while Redis is down
	r.Start()
	waitCards(t, w.bf, bob.Conversation, "New comment on "+number, 1, 30*time.Second)
	// Longer than a claim's lease: a batch whose end was not noted would come back by now.
	time.Sleep(20 * time.Second)
	for _, u := range []user{ada, bob} {
		if n := cardsAbout(w.bf, u.Conversation, "New comment on "+number); n != 1 {
			t.Errorf("%s got %d cards", u.Name, n)
		}
	}
}

// A batch that takes longer than a claim's lease (a slow read, then a slow
// send) stays with the instance working on it, whose claim is extended: the
// other instance does not take it over and tell the person a second time.
func TestASlowBatchIsNotTakenOverByAnotherInstance(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })
	w := f.on(0)
	w.signIn(ada, "ada.lovelace", "incidents")
	number := "INC0010005"
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident/" + incidentID(t, w.sn, number), Method: http.MethodGet,
		User: "ada.lovelace", Hang: 12 * time.Second})
	w.bf.Configure(func(s *fakebotframework.Server) { s.Latency = 6 * time.Second })
	e := commentEvent(t, w, "slow-batch-1", number)
	e.Recipients = e.Recipients[:1]
	start := time.Now()
	if status := w.sendEvent(e); status != http.StatusAccepted {
		t.Fatalf("event answered %d", status)
	}
	waitCards(t, w.bf, ada.Conversation, "New comment on "+number, 1, 45*time.Second)
	if took := time.Since(start); took < 15*time.Second {
		t.Fatalf("told after %s: the batch was not slower than a claim's lease, the test proves nothing", took)
	}
	time.Sleep(10 * time.Second) // a batch taken over would have been told again by now
	if n := cardsAbout(w.bf, ada.Conversation, "New comment on "+number); n != 1 {
		t.Errorf("Ada was told %d times", n)
	}
}

// Two instances on one Redis deliver 60 notifications into one chat between
// them, and together stay within Teams' limits: not one 429.
func TestTwoInstancesPaceTogetherWithinTeamsLimits(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })
	f.on(0).signIn(ada, "ada.lovelace", "incidents")
	adaID := sysIDOf(t, f.sn, "ada.lovelace")
	var list []events.Event
	for i := range 60 {
		number := f.sn.AddIncident("ada.lovelace", fmt.Sprintf("Paced incident %d", i))
		list = append(list, events.Event{ID: "paced-" + number, Table: "incident", SysID: incidentID(t, f.sn, number), Event: "created", Recipients: []string{adaID}})
	}
	f.bf.Configure(func(s *fakebotframework.Server) { s.TeamsLimits = true })
	for i, e := range list {
		if status := f.on(i % 2).sendEvent(e); status != http.StatusAccepted {
			t.Fatalf("event %d answered %d", i, status)
		}
	}
	waitCards(t, f.bf, ada.Conversation, "Paced incident", 60, 90*time.Second)
	if n := f.bf.Throttled(); n != 0 {
		t.Errorf("Teams throttled %d messages: the instances went over its limits together", n)
	}
}

// Signing in again as another ServiceNow account moves the link: that
// account's events reach the person, the old account's no longer do.
func TestSigningInAsAnotherAccountMovesTheNotifications(t *testing.T) {
	t.Parallel()
	onBothStores(t, signingInAsAnotherAccountMovesTheNotifications)
}

func signingInAsAnotherAccountMovesTheNotifications(t *testing.T, w *world, _ *storetest.Redis) {
	w.signIn(ada, "ada.lovelace", "incidents")
	// ServiceNow refuses Ada's account; the card suggests another account, and she takes Beth's.
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Method: http.MethodGet, Status: http.StatusForbidden})
	w.sn.Configure(func(s *fakeservicenow.Server) { s.BrowserUser = "beth.anglin" })
	link := w.startSignIn(ada, "incidents")
	status, page := browse(t, link)
	if status != http.StatusOK {
		t.Fatalf("callback page: %d", status)
	}
	w.say(ada, pageCode(t, page))
	mustContain(t, "the confirmation", w.next(ada).Text(), "signed in")
	w.next(ada) // the resumed list

	asBeth := commentEvent(t, w, "switch-1", "INC0010007")
	asBeth.Recipients = []string{sysIDOf(t, w.sn, "beth.anglin")}
	asAda := commentEvent(t, w, "switch-2", "INC0010008")
	asAda.Recipients = []string{sysIDOf(t, w.sn, "ada.lovelace")}
	for _, e := range []events.Event{asBeth, asAda} {
		if status := w.sendEvent(e); status != http.StatusAccepted {
			t.Fatalf("event answered %d", status)
		}
	}
	waitCards(t, w.bf, ada.Conversation, "New comment on INC0010007", 1, 15*time.Second)
	time.Sleep(3 * time.Second)
	if n := cardsAbout(w.bf, ada.Conversation, "New comment on INC0010008"); n != 0 {
		t.Errorf("told of the account she no longer uses")
	}
}

// A tenant taken out of ALLOWED_TENANT_IDS hears nothing more, and nothing of
// ServiceNow is read for it.
func TestATenantNoLongerAllowedIsNotNotified(t *testing.T) {
	t.Parallel()
	onBothStoresWith(t, func(env map[string]string) { env["ALLOWED_TENANT_IDS"] = ada.Tenant }, aTenantNoLongerAllowedIsNotNotified)
}

func aTenantNoLongerAllowedIsNotNotified(t *testing.T, w *world, _ *storetest.Redis) {
	w.signIn(ada, "ada.lovelace", "incidents")
	w.bot.Kill()
	w.env["ALLOWED_TENANT_IDS"] = "11111111-2222-4333-8444-555555555555"
	w.bot = startBot(t, w.env)
	reads := len(w.sn.Requests("/api/now/table/"))
	e := commentEvent(t, w, "tenant-1", "INC0010009")
	e.Recipients = e.Recipients[:1]
	if status := w.sendEvent(e); status != http.StatusAccepted {
		t.Fatalf("event answered %d", status)
	}
	w.waitLog("notification not sent: the recipient's tenant is not allowed")
	w.quiet(ada, time.Second)
	if n := cardsAbout(w.bf, ada.Conversation, "New comment on INC0010009"); n != 0 {
		t.Fatalf("%d cards to a tenant that is not allowed", n)
	}
	if n := len(w.sn.Requests("/api/now/table/")) - reads; n != 0 {
		t.Fatalf("%d Table API calls for a tenant that is not allowed", n)
	}
}

// notifications shows the last notifications with their times.
func TestNotificationsShowsTheLastOnesSent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	e := commentEvent(t, w, "history-1", "INC0010010")
	e.Recipients = e.Recipients[:1]
	w.sendEvent(e)
	w.next(ada)
	time.Sleep(300 * time.Millisecond) // the history is written once Teams took the card
	w.say(ada, "notifications")
	reply := w.next(ada)
	mustContain(t, "the history", reply.JSON(), "Notifications are **on**", "Your last notifications", "New comment on INC0010010", "{{DATE(", "{{TIME(")
	w.say(ada, "signout")
	w.next(ada)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.say(ada, "notifications")
	reply = w.next(ada)
	mustContain(t, "after signing out and in", reply.JSON(), "None yet")
	mustNotContain(t, "after signing out and in", reply.JSON(), "INC0010010")
}

// The crash loop: 200 events, each about a new incident of its own and for 3
// of 30 people in 3 tenants, while the bot is killed with kill -9 ten times
// at random moments and started again. ServiceNow sends each event until it
// is answered 202. Every (event, recipient) pair is told; the only repeats
// are of sends under way at a kill, so at most one per kill.
func TestNotificationsSurviveACrashLoop(t *testing.T) {
	t.Parallel()
	onBothStoresWith(t, func(env map[string]string) { env["LOG_LEVEL"] = "warn" }, notificationsSurviveACrashLoop)
}

func notificationsSurviveACrashLoop(t *testing.T, w *world, _ *storetest.Redis) {
	const people, count, perEvent, kills = 30, 200, 3, 10
	tenants := []string{ada.Tenant, "1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a1", "2d3c4b5a-6978-4796-a5b4-c3d2e1f0a1b2"}
	crowd := make([]user, people)
	snIDs := make([]string, people)
	for i := range crowd {
		name := fmt.Sprintf("crash.%02d", i)
		u := w.sn.AddUser(name, fmt.Sprintf("Crash %02d", i), true)
		crowd[i] = user{ID: fmt.Sprintf("29:crash%d", i), Name: u.Name, ObjectID: fmt.Sprintf("00000000-0000-4000-a000-%012d", i),
			Tenant: tenants[i%len(tenants)], Conversation: fmt.Sprintf("a:crash-%d", i)}
		snIDs[i] = u.SysID
		w.signIn(crowd[i], name, "incidents")
	}
	type pair struct{ number, conversation string }
	var list []events.Event
	var pairs []pair
	for i := range count {
		number := w.sn.AddIncident(fmt.Sprintf("crash.%02d", i%people), fmt.Sprintf("Crash loop incident %d", i))
		e := events.Event{ID: "loop-" + number, Table: "incident", SysID: incidentID(t, w.sn, number), Event: "created"}
		for k := range perEvent {
			p := (i + k) % people
			e.Recipients = append(e.Recipients, snIDs[p])
			pairs = append(pairs, pair{number, crowd[p].Conversation})
		}
		list = append(list, e)
	}

	// ServiceNow's side: each event is sent until the bot answers 202.
	url, secret := w.eventsURL(), w.env["SERVICENOW_WEBHOOK_SECRET"]
	client := &http.Client{Timeout: 5 * time.Second}
	var next sync.Mutex
	queue := list
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				if len(queue) == 0 {
					next.Unlock()
					return
				}
				e := queue[0]
				queue = queue[1:]
				next.Unlock()
				for {
					if _, err := events.Post(t.Context(), client, url, secret, e); err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	for k := range kills {
		time.Sleep(time.Duration(300+mathrand.IntN(1200)) * time.Millisecond)
		w.bot.Kill()
		t.Logf("kill %d", k+1)
		w.bot = startBot(t, w.env)
	}
	wg.Wait()

	deadline := time.Now().Add(2 * time.Minute)
	for _, p := range pairs {
		waitCards(t, w.bf, p.conversation, "New incident "+p.number, 1, time.Until(deadline))
	}
	time.Sleep(3 * time.Second)
	missing, duplicates := 0, 0
	for _, p := range pairs {
		switch n := cardsAbout(w.bf, p.conversation, "New incident "+p.number); {
		case n == 0:
			missing++
		case n > 1:
			duplicates += n - 1
		}
	}
	t.Logf("%s: crash loop: %d events, %d (event, recipient) pairs, %d kills: %d missing, %d duplicates", t.Name(), count, len(pairs), kills, missing, duplicates)
	if missing > 0 || duplicates > kills {
		t.Fatalf("%d missing, %d duplicates (at most one per kill: %d)", missing, duplicates, kills)
	}
}
