package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/servicenow/events"
	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// eventsURL is where ServiceNow sends change events.
func (w *world) eventsURL() string { return w.bot.URL + "/api/servicenow/events" }

// fromServiceNow makes the instance send its change events to the bot,
// signed, as snowbot's business rules in ServiceNow do.
func (w *world) fromServiceNow() {
	url, secret := w.eventsURL(), w.env["SERVICENOW_WEBHOOK_SECRET"]
	w.sn.Configure(func(s *fakeservicenow.Server) {
		s.OnEvent = func(e events.Event) { _, _ = events.Post(context.Background(), http.DefaultClient, url, secret, e) }
	})
}

// postEvent sends a body to the events endpoint with these headers.
func (w *world) postEvent(body []byte, timestamp, signature string) (int, string) {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.eventsURL(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if timestamp != "" {
		req.Header.Set(events.HeaderTimestamp, timestamp)
	}
	if signature != "" {
		req.Header.Set(events.HeaderSignature, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sendEvent signs and sends an event as ServiceNow would, now.
func (w *world) sendEvent(e events.Event) int {
	w.t.Helper()
	body, _ := json.Marshal(e)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	tsN, _ := strconv.ParseInt(ts, 10, 64)
	status, _ := w.postEvent(body, ts, events.Sign(w.env["SERVICENOW_WEBHOOK_SECRET"], tsN, body))
	return status
}

// waitLog waits until the bot's log holds text.
func (w *world) waitLog(text string) {
	w.t.Helper()
	waitFor(w.t, 15*time.Second, "the log line "+strconv.Quote(text), func() bool { return strings.Contains(w.bot.Logs(), text) })
}

func sysIDOf(t *testing.T, sn *fakeservicenow.Server, userName string) string {
	t.Helper()
	u := sn.User(userName)
	if u == nil {
		t.Fatalf("no user %s", userName)
	}
	return u.SysID
}

func incidentID(t *testing.T, sn *fakeservicenow.Server, number string) string {
	t.Helper()
	inc, ok := sn.Incident(number)
	if !ok {
		t.Fatalf("no incident %s", number)
	}
	return inc.SysID
}

// A comment made in ServiceNow reaches the caller and a watcher, each with
// what their own token reads, the first time with how to turn it off.
func TestAChangeInServiceNowTellsThePeopleItConcerns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")
	w.fromServiceNow()
	number := w.sn.AddIncident("bob.smith", "Monitor flickers after the docking station update")
	if err := w.sn.ChangeIncident(number, "beth.anglin", map[string]string{"watch_list": "ada.lovelace,chloe.zhang"}); err != nil {
		t.Fatal(err)
	}
	// The watch list changed nothing a person is told about; now Beth comments.
	before := len(w.sn.Requests("/api/now/table/incident/"))
	if err := w.sn.ChangeIncident(number, "beth.anglin", map[string]string{"comments": "Which docking station model is it?"}); err != nil {
		t.Fatal(err)
	}
	// Bob, the caller, created it himself, so he is told only of the comment.
	bobs := w.next(bob)
	mustContain(t, "Bob's notification", bobs.JSON(), "New comment on "+number, "Monitor flickers", "Beth Anglin", "Latest comment",
		"Which docking station model is it?", "nav_to.do?uri=incident.do?sys_id="+incidentID(t, w.sn, number))
	mustContain(t, "Bob's first notification", bobs.Text(), "notifications off")
	adas := w.next(ada)
	mustContain(t, "Ada's notification", adas.JSON(), "New comment on "+number, "Which docking station model is it?")
	mustContain(t, "Ada's first notification", adas.Text(), "notifications off")

	// Each read the incident with their own token: two reads, two bearers.
	reads := map[string]bool{}
	for _, r := range w.sn.Requests("/api/now/table/incident/")[before:] {
		if r.Method == http.MethodGet {
			reads[r.Bearer] = true
		}
	}
	if len(reads) != 2 {
		t.Errorf("the incident was read with %d tokens, want Bob's and Ada's", len(reads))
	}

	// The next change: told again, without the hint.
	if err := w.sn.ChangeIncident(number, "beth.anglin", map[string]string{"state": "3"}); err != nil {
		t.Fatal(err)
	}
	next := w.next(ada)
	mustContain(t, "the next notification", next.JSON(), number+": state changed", "On Hold (changed)")
	if next.Text() != "" {
		t.Errorf("the hint came twice: %q", next.Text())
	}
}

// The person who made the change is not told; a recipient who may not read
// the record gets nothing, and nothing about it is logged but the reason.
func TestTheActorAndPeopleWithoutRightsAreNotTold(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")
	w.fromServiceNow()
	// Ada's incident, watched by Bob, who is no agent: ServiceNow does not let him read it.
	if err := w.sn.ChangeIncident("INC0010001", "ada.lovelace", map[string]string{"watch_list": "bob.smith"}); err != nil {
		t.Fatal(err)
	}
	if err := w.sn.ChangeIncident("INC0010001", "ada.lovelace", map[string]string{"priority": "1", "urgency": "1", "impact": "1"}); err != nil {
		t.Fatal(err)
	}
	w.waitLog("notification not sent: the recipient may not read the record")
	w.quiet(ada, 500*time.Millisecond)
	w.quiet(bob, 0)
	logs := w.bot.Logs()
	mustNotContain(t, "the log", logs, "INC0010001", incidentID(t, w.sn, "INC0010001"), sysIDOf(t, w.sn, "bob.smith"))
}

// Someone who signed out is told nothing, and snowbot no longer even looks.
func TestASignedOutPersonIsNotTold(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.say(ada, "signout")
	mustContain(t, "signout", w.next(ada).Text(), "signed out")
	before := len(w.sn.Requests("/api/now/table/"))
	status := w.sendEvent(events.Event{ID: "signed-out-1", Table: "incident", SysID: incidentID(t, w.sn, "INC0010001"), Event: "updated",
		Recipients: []string{sysIDOf(t, w.sn, "ada.lovelace")}, Actor: sysIDOf(t, w.sn, "beth.anglin"), Changed: []string{"state"}})
	if status != http.StatusAccepted {
		t.Fatalf("event answered %d", status)
	}
	w.waitLog("notification not sent: the recipient is not signed in to snowbot")
	w.quiet(ada, 0)
	if n := len(w.sn.Requests("/api/now/table/")) - before; n != 0 {
		t.Fatalf("%d Table API calls for a signed-out person", n)
	}
}

// Forged, stale, oversized and malformed events are refused before anything
// happens; the contract's order is size, then signature, then body.
func TestEventsThatAreNotFromServiceNowAreRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	secret := w.env["SERVICENOW_WEBHOOK_SECRET"]
	good, _ := json.Marshal(events.Event{ID: "forged-1", Table: "incident", SysID: incidentID(t, w.sn, "INC0010001"), Event: "commented",
		Recipients: []string{sysIDOf(t, w.sn, "ada.lovelace")}})
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	stale := now - 301
	oversize := append(bytes.Repeat([]byte(" "), 64<<10), good...)
	malformed := []byte(strings.Replace(string(good), `"event"`, `"text":"your password expired","event"`, 1))
	cases := []struct {
		name      string
		body      []byte
		ts, sig   string
		want      int
		wantInAns string
	}{
		{"no signature", good, ts, "", http.StatusUnauthorized, "signed"},
		{"wrong secret", good, ts, events.Sign(secret[1:]+"x", now, good), http.StatusUnauthorized, "signature"},
		{"signature of another body", good, ts, events.Sign(secret, now, malformed), http.StatusUnauthorized, "signature"},
		{"stale timestamp", good, strconv.FormatInt(stale, 10), events.Sign(secret, stale, good), http.StatusUnauthorized, "timestamp"},
		{"oversize, even unsigned", oversize, ts, "", http.StatusRequestEntityTooLarge, "64 KiB"},
		{"oversize, signed", oversize, ts, events.Sign(secret, now, oversize), http.StatusRequestEntityTooLarge, "64 KiB"},
		{"malformed", malformed, ts, events.Sign(secret, now, malformed), http.StatusBadRequest, "unknown field"},
		{"not JSON", []byte("sys_id=1"), ts, events.Sign(secret, now, []byte("sys_id=1")), http.StatusBadRequest, "not an event"},
	}
	for _, c := range cases {
		status, body := w.postEvent(c.body, c.ts, c.sig)
		if status != c.want || !strings.Contains(body, c.wantInAns) {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.want)
		}
	}
	resp, err := http.Get(w.eventsURL())
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp.StatusCode, err)
	}
	// The good event goes through: it was only refused for its packaging.
	if status := w.sendEvent(events.Event{ID: "forged-1", Table: "incident", SysID: incidentID(t, w.sn, "INC0010001"), Event: "commented",
		Recipients: []string{sysIDOf(t, w.sn, "ada.lovelace")}}); status != http.StatusAccepted {
		t.Fatalf("the genuine event: %d", status)
	}
	w.next(ada) // the notification
	w.quiet(ada, 3*time.Second)
	if strings.Contains(jsonOf(w.bf.Attempts()), "your password expired") {
		t.Fatal("text from an event was shown")
	}
}

// Without a secret there is no endpoint; a short secret stops the bot at start.
func TestTheEventsEndpointNeedsALongSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(env map[string]string) { env["SERVICENOW_WEBHOOK_SECRET"] = "" })
	if status, _ := w.postEvent([]byte("{}"), "", ""); status != http.StatusNotFound {
		t.Fatalf("without a secret: %d", status)
	}
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	env["SERVICENOW_WEBHOOK_SECRET"] = "too-short-a-secret"
	env["PORT"] = strconv.Itoa(freePort(t))
	p := launch(t, env, "serve")
	code, ok := p.Wait(10 * time.Second)
	if !ok || code == 0 {
		t.Fatalf("snowbot started with a short secret (exit %d)", code)
	}
	mustContain(t, "the refusal", p.Logs(), "SERVICENOW_WEBHOOK_SECRET", "at least 32", "openssl rand -hex 32")
}

// The same event sent twice is one message; several events for one record
// within a few seconds are one message too.
func TestRepeatedAndCloseEventsAreOneMessage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	inc, adaID, beth := incidentID(t, w.sn, "INC0010001"), sysIDOf(t, w.sn, "ada.lovelace"), sysIDOf(t, w.sn, "beth.anglin")
	e := events.Event{ID: "same-1", Table: "incident", SysID: inc, Event: "updated", Recipients: []string{adaID}, Actor: beth, Changed: []string{"state"}}
	for range 3 {
		if status := w.sendEvent(e); status != http.StatusAccepted {
			t.Fatalf("event answered %d", status)
		}
	}
	e.ID, e.Changed = "same-2", []string{"priority"}
	w.sendEvent(e)
	e.ID, e.Event, e.Changed = "same-3", "commented", []string{"comments"}
	w.sendEvent(e)
	msg := w.next(ada)
	mustContain(t, "the one message", msg.JSON(), "INC0010001: state, priority changed, and a new comment")
	w.quiet(ada, 3*time.Second)
	// Sent again much later (a replay): still nothing.
	if status := w.sendEvent(events.Event{ID: "same-1", Table: "incident", SysID: inc, Event: "updated", Recipients: []string{adaID}}); status != http.StatusAccepted {
		t.Fatalf("replay answered %d", status)
	}
	w.quiet(ada, 3*time.Second)
}

// notifications off stops them, on brings them back; help says how.
func TestNotificationsCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.say(ada, "help")
	mustContain(t, "help", w.next(ada).JSON(), "notifications [on|off]")
	w.signIn(ada, "ada.lovelace", "incidents")
	w.say(ada, "notifications")
	mustContain(t, "notifications", w.next(ada).Text(), "Notifications are **on**", "notifications off")
	w.say(ada, "notifications off")
	mustContain(t, "notifications off", w.next(ada).Text(), "Notifications are **off**")
	inc, adaID := incidentID(t, w.sn, "INC0010001"), sysIDOf(t, w.sn, "ada.lovelace")
	w.sendEvent(events.Event{ID: "muted-1", Table: "incident", SysID: inc, Event: "commented", Recipients: []string{adaID}})
	w.waitLog("notification not sent: the recipient turned notifications off")
	w.quiet(ada, 0)
	w.say(ada, "notifications on")
	mustContain(t, "notifications on", w.next(ada).Text(), "Notifications are **on**")
	w.sendEvent(events.Event{ID: "muted-2", Table: "incident", SysID: inc, Event: "commented", Recipients: []string{adaID}})
	mustContain(t, "a notification again", w.next(ada).JSON(), "New comment on INC0010001")
	w.say(ada, "notifications sometimes")
	mustContain(t, "a wrong argument", w.next(ada).Text(), "notifications on")
}

// A chat whose user removed the app is skipped until they write again.
func TestARemovedChatIsSkippedUntilThePersonWritesAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	inc, adaID := incidentID(t, w.sn, "INC0010001"), sysIDOf(t, w.sn, "ada.lovelace")
	event := func(id string) events.Event {
		return events.Event{ID: id, Table: "incident", SysID: inc, Event: "commented", Recipients: []string{adaID}}
	}
	w.bf.RemoveConversation(ada.Conversation)
	w.sendEvent(event("gone-1"))
	w.waitLog("the recipient's chat no longer takes messages")
	attempts := len(w.bf.Attempts())
	w.sendEvent(event("gone-2"))
	w.waitLog("notification not sent: the recipient's chat with the bot no longer exists")
	if n := len(w.bf.Attempts()); n != attempts {
		t.Fatalf("%d more tries to a removed chat", n-attempts)
	}
	// Ada adds the app again and writes: she hears of the next change.
	w.bf.RestoreConversation(ada.Conversation)
	w.say(ada, "help")
	w.next(ada)
	time.Sleep(200 * time.Millisecond) // the chat is kept once the answer is on its way
	w.sendEvent(event("gone-3"))
	mustContain(t, "after writing again", w.next(ada).JSON(), "New comment on INC0010001")
}

// A requested approval arrives as the approval card, and its Approve works.
func TestAnApprovalRequestArrivesWithWorkingButtons(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(bob, "beth.anglin", "incidents")
	w.fromServiceNow()
	id, err := w.sn.RequestApproval("RITM0010001", "beth.anglin")
	if err != nil {
		t.Fatal(err)
	}
	card := w.next(bob).JSON()
	mustContain(t, "the approval notification", card, "RITM0010001", "Developer Laptop (Mac)", `"verb":"approve"`, `"verb":"reject"`, id)
	_, resp := w.pressed(bob, "approve", map[string]any{"card": "approval", "approval": id})
	mustContain(t, "after Approve", jsonOf(cardOf(t, resp)), "Approved by Beth Anglin")
	if a, _ := w.sn.ApprovalOf("RITM0010001", "beth.anglin"); a.State != "approved" {
		t.Fatalf("approval %+v", a)
	}
}

// Two instances on Redis: an event sent to both is handled once, and an event
// one instance accepted is delivered by the other when the first dies.
func TestTwoInstancesShareTheEventsAndTheQueue(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, nil)
	f.on(0).signIn(ada, "ada.lovelace", "incidents")
	inc, adaID := incidentID(t, f.sn, "INC0010001"), sysIDOf(t, f.sn, "ada.lovelace")
	e := events.Event{ID: "fleet-1", Table: "incident", SysID: inc, Event: "commented", Recipients: []string{adaID}}
	if f.on(0).sendEvent(e) != http.StatusAccepted || f.on(1).sendEvent(e) != http.StatusAccepted {
		t.Fatal("not accepted")
	}
	f.next(ada)
	f.quiet(ada, 3*time.Second)

	// Instance 0 takes an event and dies before it is due; instance 1 delivers it.
	e.ID = "fleet-2"
	if f.on(0).sendEvent(e) != http.StatusAccepted {
		t.Fatal("not accepted")
	}
	f.instances[0].Kill()
	mustContain(t, "delivered by the survivor", f.next(ada).JSON(), "New comment on INC0010001")
}

// A burst of 1,000 events about 200 incidents of 100 people: every person
// hears of each of their incidents, and the connector never had to throttle.
func TestABurstOfEventsIsDeliveredWithinTeamsLimits(t *testing.T) {
	t.Parallel()
	const people, perPerson, eventsPerIncident = 100, 2, 5
	w := newWorld(t, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })
	type person struct {
		u         user
		sysID     string
		incidents []string // numbers
	}
	crowd := make([]person, people)
	for i := range crowd {
		name := fmt.Sprintf("person.%03d", i)
		snUser := w.sn.AddUser(name, fmt.Sprintf("Person %03d", i), false)
		crowd[i] = person{
			u: user{ID: fmt.Sprintf("29:burst%d", i), Name: snUser.Name, ObjectID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i),
				Tenant: ada.Tenant, Conversation: fmt.Sprintf("a:burst-%d", i)},
			sysID: snUser.SysID,
		}
		w.signIn(crowd[i].u, name, "incidents")
		for k := range perPerson {
			crowd[i].incidents = append(crowd[i].incidents, w.sn.AddIncident(name, fmt.Sprintf("Burst incident %d of person %d", k, i)))
		}
	}
	var list []events.Event
	kinds := []events.Event{{Event: "created"}, {Event: "updated", Changed: []string{"state"}}, {Event: "updated", Changed: []string{"priority"}},
		{Event: "updated", Changed: []string{"assigned_to"}}, {Event: "commented", Changed: []string{"comments"}}}
	for _, p := range crowd {
		for _, number := range p.incidents {
			for k := range eventsPerIncident {
				e := kinds[k]
				e.ID, e.Table, e.SysID, e.Recipients = fmt.Sprintf("burst-%s-%d", number, k), "incident", incidentID(t, w.sn, number), []string{p.sysID}
				list = append(list, e)
			}
		}
	}
	// From now on the connector throttles as Teams does.
	w.bf.Configure(func(s *fakebotframework.Server) { s.TeamsLimits = true })
	start := time.Now()
	var next atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(list); i = int(next.Add(1)) - 1 {
				if status := w.sendEvent(list[i]); status != http.StatusAccepted {
					t.Errorf("event %d answered %d", i, status)
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	// All of them within a minute, however busy the machine is (the time it took is logged).
	deadline := time.Now().Add(time.Minute)
	for _, p := range crowd {
		got := waitMessagesWithin(t, w.bf, p.u.Conversation, 3+perPerson, time.Until(deadline))[3:] // after the sign-in card, the confirmation and the list
		all := jsonOf(got)
		for _, number := range p.incidents {
			if !strings.Contains(all, "New incident "+number) {
				t.Errorf("%s did not hear of %s", p.u.Name, number)
			}
		}
		if len(got) != perPerson {
			var heads []string
			for _, m := range got {
				heads = append(heads, headline(m))
			}
			t.Errorf("%s got %d messages for %d incidents: %q", p.u.Name, len(got), perPerson, heads)
		}
	}
	t.Logf("%d events for %d people accepted in %s, all %d messages delivered in %s; %d answered 429",
		len(list), people, accepted.Round(time.Millisecond), people*perPerson, time.Since(start).Round(time.Millisecond), w.bf.Throttled())
	if n := w.bf.Throttled(); n != 0 {
		t.Errorf("the connector throttled %d messages: snowbot went over Teams' limits", n)
	}
}

// headline is the first text of a message's card.
func headline(a fakebotframework.Activity) string {
	var m struct {
		Attachments []struct {
			Content struct {
				Body []struct{ Text string } `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	_ = json.Unmarshal([]byte(a.JSON()), &m)
	if len(m.Attachments) == 0 || len(m.Attachments[0].Content.Body) == 0 {
		return a.Text()
	}
	return m.Attachments[0].Content.Body[0].Text
}
