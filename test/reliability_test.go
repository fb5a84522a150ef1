package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// These tests wait out snowbot's time budget for ServiceNow (15 s), so they
// run in parallel with each other, after the rest of the package.

// notAnswering is the sentence a person gets when ServiceNow does not answer in time.
const notAnswering = "ServiceNow is not answering, try again in a moment."

// within waits for the next message of u for at most d (longer than next's default).
func (w *world) within(u user, d time.Duration) fakebotframework.Activity {
	w.t.Helper()
	w.mu.Lock()
	n := w.seen[u.Conversation]
	w.seen[u.Conversation] = n + 1
	w.mu.Unlock()
	ok := w.bf.WaitConversation(u.Conversation, d, func(all []fakebotframework.Activity) bool {
		return len(messagesOnly(all)) > n
	})
	if !ok {
		w.t.Fatalf("no answer for %s within %s", u.Name, d)
	}
	return messagesTo(w.bf, u.Conversation)[n]
}

// hang is a ServiceNow request under path that never gets an answer in time.
func hang(path string) fakeservicenow.Failure {
	return fakeservicenow.Failure{Path: path, Hang: time.Minute, Status: http.StatusServiceUnavailable}
}

func TestAReadThatHangsOnEveryTryIsAnsweredInTime(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	table := "/api/now/table/incident"
	w.sn.Fail(hang(table), hang(table), hang(table), hang(table))
	start := time.Now()
	w.say(ada, "incidents")
	reply := w.within(ada, 25*time.Second)
	mustContain(t, "answer to a hanging read", reply.JSON(), notAnswering)
	t.Logf("answered after %s", time.Since(start).Round(100*time.Millisecond))
}

func TestAWriteThatHangsIsAnsweredInTime(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	w.sn.Fail(hang("/api/now/table/incident"))
	w.say(ada, "create The coffee machine is on fire")
	reply := w.within(ada, 25*time.Second)
	mustContain(t, "answer to a hanging write", reply.JSON(), notAnswering, "check the incident")
}

func TestCreateWhileTheUserLookupHangsIsAnsweredInTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	users := "/api/now/table/sys_user"
	// The lookup of who signed in hangs at sign-in already: the sign-in still completes.
	w.sn.Fail(hang(users), hang(users), hang(users), hang(users))
	w.signIn(ada, "ada.lovelace", "incidents")
	w.say(ada, "create Projector flickers")
	reply := w.within(ada, 25*time.Second)
	mustContain(t, "create with a hanging lookup", reply.JSON(), notAnswering)

	// Once ServiceNow answers again, create works, with Ada as the caller.
	waitFor(t, 30*time.Second, "the queued hangs to be used up", func() bool {
		w.say(ada, "create Projector flickers")
		return strings.Contains(w.within(ada, 25*time.Second).JSON(), "Created INC")
	})
	var created fakeservicenow.Incident
	for _, inc := range w.sn.Incidents() {
		if inc.ShortDescription == "Projector flickers" {
			created = inc
		}
	}
	if created.Caller != w.sn.User("ada.lovelace").SysID {
		t.Fatalf("created with caller %q", created.Caller)
	}
}

func TestAHangingTokenRefreshIsAnsweredInTime(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	w.sn.ExpireAccessTokens()
	w.sn.Fail(hang("/oauth_token.do"), hang("/oauth_token.do"))
	w.say(ada, "incidents")
	reply := w.within(ada, 25*time.Second)
	mustContain(t, "answer with a hanging refresh", reply.JSON(), notAnswering)
}

// health reads /healthz.
func health(t testing.TB, p *botProcess) map[string]any {
	t.Helper()
	resp, err := http.Get(p.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAHangingConnectorDoesNotPileUpWork(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(env map[string]string) { env["LOG_LEVEL"] = "warn" })
	w.say(ada, "help")
	w.next(ada)
	baseline := health(t, w.bot)["goroutines"].(float64)

	w.bf.Configure(func(s *fakebotframework.Server) { s.Hang = true })
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := ada
			u.Conversation = fmt.Sprintf("%s-hang-%d", ada.Conversation, i)
			start := time.Now()
			w.say(u, "help")
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("a turn was accepted only after %s", d)
			}
		}()
	}
	wg.Wait()
	if n := health(t, w.bot)["turns_in_flight"].(float64); n == 0 {
		t.Fatal("no turn in flight while the connector hangs: the test proves nothing")
	}
	// Each reply gives up within the connector's budget; nothing stays behind.
	waitFor(t, 30*time.Second, "the turns to give up", func() bool {
		// The channel's idle keep-alive connections are not the bot's work.
		w.bot.channel.CloseIdleConnections()
		h := health(t, w.bot)
		return h["turns_in_flight"].(float64) == 0 && h["goroutines"].(float64) <= baseline+10
	})
	w.bf.Configure(func(s *fakebotframework.Server) { s.Hang = false })
	w.say(bob, "help")
	waitMessages(t, w.bf, bob.Conversation, 1)
}
