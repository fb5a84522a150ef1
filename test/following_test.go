package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"snowbot/servicenow/events"
	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// forwardEvents sends the instance's change events to the bot, signed, as
// snowbot's business rules do in ServiceNow.
func (w *world) forwardEvents() {
	w.sn.Configure(func(s *fakeservicenow.Server) {
		s.OnEvent = func(e events.Event) {
			if status := w.sendEvent(e); status != http.StatusAccepted {
				w.t.Errorf("event %s answered %d", e.ID, status)
			}
		}
	})
}

// changeTask changes a task in ServiceNow's own user interface, as userName.
func (w *world) changeTask(number, userName string, fields map[string]string) {
	w.t.Helper()
	if err := w.sn.ChangeTask(number, userName, fields); err != nil {
		w.t.Fatal(err)
	}
}

// Watching a change: every later change reaches the watcher once, as their
// own token reads it; the actor is not told; unwatch stops it; someone who
// can no longer read the record hears nothing of it.
func TestWatchingARecord(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")
	w.forwardEvents()

	w.say(ada, "watch chg0030002")
	mustContain(t, "watch", w.next(ada).Text(), "Watching CHG0030002", "Replace the core switch", "unwatch CHG0030002")
	w.say(ada, "watch CHG0030002")
	mustContain(t, "watch again", w.next(ada).Text(), "You already watch CHG0030002")

	w.changeTask("CHG0030002", "david.miller", map[string]string{"comments": "The switch arrives on Tuesday."})
	card := w.next(ada).JSON()
	mustContain(t, "the watcher's card", card, "New comment on CHG0030002", "The switch arrives on Tuesday.", "David Miller", "change_request.do?sys_id=")
	w.quiet(ada, 3*time.Second) // one message, not one per event or per rule

	// Ada's own change: she is not told of it.
	w.changeTask("CHG0030002", "ada.lovelace", map[string]string{"state": "-2"})
	w.quiet(ada, 3*time.Second)

	w.say(ada, "watching")
	mustContain(t, "watching", w.next(ada).JSON(), "What you watch", "CHG0030002", "Replace the core switch")
	w.say(ada, "unwatch CHG0030002")
	mustContain(t, "unwatch", w.next(ada).Text(), "You no longer watch CHG0030002.")
	w.changeTask("CHG0030002", "david.miller", map[string]string{"comments": "Delayed to Wednesday."})
	w.quiet(ada, 3*time.Second)

	// Bob watches his requested item; then it is given to Chloé: he may no
	// longer read it, and hears nothing of its changes.
	w.say(bob, "watch RITM0010001")
	mustContain(t, "Bob's watch", w.next(bob).Text(), "Watching RITM0010001")
	w.say(ada, "watch RITM0010001")
	w.next(ada)
	w.changeTask("RITM0010001", "beth.anglin", map[string]string{"requested_for": "chloe.zhang", "opened_by": "chloe.zhang", "comments": "Handed over to Chloé."})
	mustContain(t, "Ada's card", w.next(ada).JSON(), "RITM0010001")
	w.quiet(bob, 3*time.Second)

	// A watcher who is also named by the event hears once: Ada, the caller of INC0010001.
	w.say(ada, "watch INC0010001")
	w.next(ada)
	if err := w.sn.ChangeIncident("INC0010001", "beth.anglin", map[string]string{"comments": "Try the other dock."}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the caller's card", w.next(ada).JSON(), "INC0010001", "Try the other dock.")
	w.quiet(ada, 3*time.Second)

	// A record Bob may not read cannot be watched.
	w.say(bob, "watch PRB0040002")
	got := w.next(bob).Text()
	mustContain(t, "a private record", got, "PRB0040002: not found, or not yours to see.")
	mustNotContain(t, "a private record", got, "Payroll")

	// Signing out forgets what Bob watched.
	w.say(bob, "watch REQ0010001")
	w.next(bob)
	w.say(bob, "signout")
	w.next(bob)
	w.say(bob, "watching")
	mustContain(t, "after signing out", w.next(bob).Text(), "You don't watch any record")
}

// channel is a team channel: its id, and the thread of each post in it.
const channelID = "19:general-snowbot@thread.tacv2"

// channelMessage is a message from u in the channel, mentioning the bot, as a
// new post (Teams sends it with the post's own thread as the conversation).
func channelMessage(bf *fakebotframework.Server, u user, text string) map[string]any {
	a := message(bf, u, "<at>snowbot</at> "+text)
	a["id"] = "77" + a["id"].(string) // ids of people's posts, never one the connector gives the bot's
	a["conversation"] = map[string]any{"id": channelID + ";messageid=" + a["id"].(string), "conversationType": "channel", "isGroup": true, "tenantId": u.Tenant}
	a["channelData"] = map[string]any{"tenant": map[string]any{"id": u.Tenant}, "team": map[string]any{"id": "19:team@thread.tacv2"},
		"channel": map[string]any{"id": channelID}}
	return a
}

// inChannel sends text to the channel from u and returns the bot's answer in
// the post's thread.
func (w *world) inChannel(u user, text string) fakebotframework.Activity {
	w.t.Helper()
	a := channelMessage(w.bf, u, text)
	w.post(a)
	thread := a["conversation"].(map[string]any)["id"].(string)
	return messagesOnly(waitMessages(w.t, w.bf, thread, 1))[0]
}

// posts are the channel's own posts (not thread replies) that mention text.
func posts(bf *fakebotframework.Server, text string) []fakebotframework.Activity {
	var out []fakebotframework.Activity
	for _, m := range messagesOnly(bf.DeliveredTo(channelID)) {
		if strings.Contains(m.JSON(), text) {
			out = append(out, m)
		}
	}
	return out
}

// threadOf are the replies in the thread a post started.
func threadOf(bf *fakebotframework.Server, post fakebotframework.Activity) []fakebotframework.Activity {
	return messagesOnly(bf.DeliveredTo(channelID + ";messageid=" + post.ID))
}

// A channel subscription: a bad filter gets ServiceNow's reason; a record
// that newly matches gets one post, its changes replies in that post's
// thread (also after a restart), its leaving the match one last reply; the
// owner signing out pauses it, with one notice; unsubscribe ends it.
func TestAChannelFollowsRecordsInOneThreadEach(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.forwardEvents()

	mustContain(t, "an unknown table", w.inChannel(ada, "subscribe change_requests priority<=2").Text(), "ServiceNow refused that filter", `Invalid table change\_requests`)
	mustContain(t, "an unknown field", w.inChannel(ada, "subscribe change_request priorty<=2").Text(), "no field", "priorty", "match every record")
	mustContain(t, "a new query", w.inChannel(ada, "subscribe change_request priority=1^NQactive=true").Text(), "^NQ")
	got := w.inChannel(ada, "subscribe change_request priority<=2").Text()
	mustContain(t, "the confirmation", got, "Subscribed this channel", `change\_request`, `priority\<=2`, "as **Ada Lovelace** sees them", "unsubscribe 1")

	// CHG0030001 becomes a P1: one post.
	w.changeTask("CHG0030001", "david.miller", map[string]string{"priority": "1"})
	waitFor(t, 15*time.Second, "the post", func() bool { return len(posts(w.bf, "CHG0030001")) == 1 })
	post := posts(w.bf, "CHG0030001")[0]
	mustContain(t, "the post", post.JSON(), "Upgrade the VPN concentrator firmware", "Shared by Ada Lovelace", "priority", "1 - Critical")

	// A comment: a reply in its thread, not a new post.
	w.changeTask("CHG0030001", "david.miller", map[string]string{"comments": "CAB approved the window."})
	waitFor(t, 15*time.Second, "the first reply", func() bool { return len(threadOf(w.bf, post)) == 1 })
	mustContain(t, "the reply", threadOf(w.bf, post)[0].JSON(), "New comment on CHG0030001", "CAB approved the window.")

	// A restart between two replies: the next still lands in the same thread.
	w.restart()
	w.changeTask("CHG0030001", "david.miller", map[string]string{"state": "-2"})
	waitFor(t, 15*time.Second, "the reply after a restart", func() bool { return len(threadOf(w.bf, post)) == 2 })

	// Down to P4: one last reply, then nothing more.
	w.changeTask("CHG0030001", "david.miller", map[string]string{"priority": "4"})
	waitFor(t, 15*time.Second, "the last reply", func() bool { return len(threadOf(w.bf, post)) == 3 })
	mustContain(t, "the last reply", threadOf(w.bf, post)[2].JSON(), "no longer matches")
	w.changeTask("CHG0030001", "david.miller", map[string]string{"comments": "Unrelated."})
	time.Sleep(3 * time.Second)
	if n, p := len(threadOf(w.bf, post)), len(posts(w.bf, "CHG0030001")); n != 3 || p != 1 {
		t.Fatalf("after leaving the match: %d replies, %d posts", n, p)
	}

	t.Logf("the channel's thread, as text:\n%s", threadText(post, threadOf(w.bf, post)))

	// The owner signs out: paused, and the channel is told once.
	w.say(ada, "signout")
	w.next(ada)
	waitFor(t, 15*time.Second, "the pause notice", func() bool { return len(posts(w.bf, "is paused")) == 1 })
	w.changeTask("CHG0030002", "david.miller", map[string]string{"priority": "1"})
	time.Sleep(3 * time.Second)
	if n := len(posts(w.bf, "CHG0030002")); n != 0 {
		t.Fatalf("a paused subscription posted %d times", n)
	}
	mustContain(t, "the list", w.inChannel(bob, "subscriptions").JSON(), "paused until Ada Lovelace signs in again")

	// Signed in again: it goes on. Then Bob ends it.
	w.signIn(ada, "ada.lovelace", "incidents")
	waitFor(t, 15*time.Second, "the resume notice", func() bool { return len(posts(w.bf, "is back on")) == 1 })
	w.signIn(bob, "bob.smith", "incidents")
	mustContain(t, "unsubscribe", w.inChannel(bob, "unsubscribe 1").Text(), "Bob Smith ended subscription 1")
	w.changeTask("CHG0030003", "david.miller", map[string]string{"comments": "Still patching."})
	time.Sleep(3 * time.Second)
	if n := len(posts(w.bf, "CHG0030003")); n != 0 {
		t.Fatalf("an ended subscription posted %d times", n)
	}
	if n := len(posts(w.bf, "is paused")); n != 1 {
		t.Fatalf("%d pause notices", n)
	}
}

// Two instances share the subscriptions, the threads and the marks: events
// for one record, sent to either, make one post and one reply each.
func TestTwoInstancesPostEachRecordOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, nil)
	f.on(0).signIn(ada, "ada.lovelace", "incidents")
	mustContain(t, "subscribe", f.on(1).inChannel(ada, "subscribe change_request priority<=2").Text(), "Subscribed this channel")
	chg, _ := f.sn.Task("CHG0030002") // priority 2: it matches from its first event
	const changes = 6
	for i := range changes {
		e := events.Event{ID: fmt.Sprintf("two-%d", i), Table: "change_request", SysID: chg.SysID, Event: "commented", Recipients: []string{}, Changed: []string{"comments"}}
		if err := f.sn.ChangeTask("CHG0030002", "david.miller", map[string]string{"comments": fmt.Sprintf("Step %d done.", i)}); err != nil {
			t.Fatal(err)
		}
		for k := range 2 { // ServiceNow retrying: the same event to both instances
			if status := f.on(k).sendEvent(e); status != http.StatusAccepted {
				t.Fatalf("event answered %d", status)
			}
		}
		time.Sleep(2500 * time.Millisecond) // past the coalescing window: one message per change
	}
	waitFor(t, 20*time.Second, "a post and its replies", func() bool {
		p := posts(f.bf, "CHG0030002")
		return len(p) == 1 && len(threadOf(f.bf, p[0])) == changes-1
	})
	time.Sleep(3 * time.Second)
	if p := posts(f.bf, "CHG0030002"); len(p) != 1 || len(threadOf(f.bf, p[0])) != changes-1 {
		t.Fatalf("%d posts, replies %v", len(p), p)
	}
}

// threadText is a post and its replies as the cards' text renderings.
func threadText(post fakebotframework.Activity, replies []fakebotframework.Activity) string {
	var b strings.Builder
	for i, m := range append([]fakebotframework.Activity{post}, replies...) {
		prefix := "  └ "
		if i == 0 {
			prefix = ""
		}
		for _, line := range strings.Split(strings.TrimSpace(fallbackOf(m)), "\n") {
			b.WriteString(prefix + line + "\n")
			if i > 0 {
				prefix = "    "
			}
		}
	}
	return b.String()
}

// fallbackOf is a message's card as text (or its text).
func fallbackOf(m fakebotframework.Activity) string {
	if atts, ok := m.Body["attachments"].([]any); ok && len(atts) > 0 {
		if a, ok := atts[0].(map[string]any); ok {
			if c, ok := a["content"].(map[string]any); ok {
				if fb, ok := c["fallbackText"].(string); ok {
					return fb
				}
			}
		}
	}
	return m.Text()
}
