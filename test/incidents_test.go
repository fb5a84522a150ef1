package test

import (
	"net/http"
	"testing"
	"time"

	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// signedIn is a world where Ada is signed in as ada.lovelace and Bob as bob.smith.
func signedIn(t *testing.T, edit func(env map[string]string)) *world {
	w := newWorld(t, edit)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")
	return w
}

// card returns the Adaptive Card of a reply.
func card(t *testing.T, a fakebotframework.Activity) map[string]any {
	t.Helper()
	atts, _ := a.Body["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("want one attachment: %s", a.JSON())
	}
	att := atts[0].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("not an Adaptive Card: %s", a.JSON())
	}
	c := att["content"].(map[string]any)
	if c["version"] != "1.5" {
		t.Fatalf("card version %v", c["version"])
	}
	return c
}

// A quick answer goes out without a typing indicator (it would cost a round
// trip to the channel); a slow one shows one while the person waits.
func TestASlowAnswerShowsOneTypingIndicator(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	start := len(w.bf.DeliveredTo(ada.Conversation))
	w.say(ada, "incidents")
	mustContain(t, "quick list", w.next(ada).JSON(), "INC0010001")
	for _, a := range w.bf.DeliveredTo(ada.Conversation)[start:] {
		if a.Type() == "typing" {
			t.Error("a typing indicator for a quick answer")
		}
	}
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Hang: time.Second})
	start = len(w.bf.DeliveredTo(ada.Conversation))
	w.say(ada, "incidents")
	mustContain(t, "slow list", w.next(ada).JSON(), "INC0010001")
	typing := 0
	for _, a := range w.bf.DeliveredTo(ada.Conversation)[start:] {
		if a.Type() == "message" {
			break
		}
		if a.Type() == "typing" {
			typing++
		}
	}
	if typing != 1 {
		t.Errorf("%d typing indicators before a reply that took a second, want 1", typing)
	}
}

func TestServiceNowFailuresAreExplained(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	table := "/api/now/table/incident"

	// A short Retry-After is waited for.
	w.sn.Fail(fakeservicenow.Failure{Path: table, Status: http.StatusTooManyRequests, RetryAfter: "1"})
	start := time.Now()
	w.say(ada, "incidents")
	mustContain(t, "after a short 429", w.next(ada).JSON(), "INC0010001")
	if time.Since(start) < time.Second {
		t.Error("Retry-After: 1 was not waited for")
	}

	// A long one is passed on to the user.
	w.sn.Fail(fakeservicenow.Failure{Path: table, Status: http.StatusTooManyRequests, RetryAfter: "30"})
	w.say(ada, "incidents")
	mustContain(t, "after a long 429", w.next(ada).JSON(), "slow down", "30 seconds")

	// Reads are retried after 5xx.
	w.sn.Fail(fakeservicenow.Failure{Path: table, Status: http.StatusInternalServerError},
		fakeservicenow.Failure{Path: table, Status: http.StatusServiceUnavailable})
	w.say(ada, "incidents")
	mustContain(t, "after two 5xx", w.next(ada).JSON(), "INC0010001")

	// …but not forever.
	f := fakeservicenow.Failure{Path: table, Status: http.StatusInternalServerError}
	w.sn.Fail(f, f, f)
	w.say(ada, "incidents")
	reply := w.next(ada).JSON()
	mustContain(t, "after 5xx", reply, "not answering")
	mustNotContain(t, "after 5xx", reply, "Internal server error", "{\\\"error", "goroutine")

	// Writes are not retried blindly.
	writes := len(w.sn.Requests(table))
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusBadGateway})
	w.say(ada, "create Something new")
	mustContain(t, "create after 502", w.next(ada).JSON(), "not answering", "check")
	if n := len(w.sn.Requests(table)) - writes; n != 1 {
		t.Errorf("a failed create was sent %d times", n)
	}

	// 404 from the instance.
	w.sn.Fail(fakeservicenow.Failure{Path: table, Status: http.StatusNotFound})
	w.say(ada, "incident INC0010001")
	mustContain(t, "404", w.next(ada).Text(), "no incident INC0010001")

	// A 400 is quoted.
	w.sn.Fail(fakeservicenow.Failure{Path: table, Status: http.StatusBadRequest, Message: "Invalid query", Detail: "unknown field"})
	w.say(ada, "incidents")
	mustContain(t, "400", w.next(ada).JSON(), "rejected the request", "Invalid query")
}

func TestRefusedEvenAfterRefreshAsksToSignInAgain(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	f := fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusUnauthorized}
	w.sn.Fail(f, f)
	w.say(ada, "incidents")
	reply := w.next(ada)
	if signInURL(reply) == "" {
		t.Fatalf("no sign-in card: %s", reply.JSON())
	}
	mustContain(t, "reply", reply.JSON(), "session has ended")
	if n := len(w.sn.TokenRequests("refresh_token")); n != 1 {
		t.Errorf("%d refreshes, want exactly 1", n)
	}
	// Signing in again resumes the list.
	w.sn.Configure(func(s *fakeservicenow.Server) { s.BrowserUser = "ada.lovelace" })
	_, page := browse(t, signInURL(reply))
	w.say(ada, pageCode(t, page))
	w.next(ada)
	mustContain(t, "resumed", w.next(ada).JSON(), "INC0010001")
}

func TestARecordIDThatIsNotASysIDNeverReachesAURL(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	table := "/api/now/table/incident"
	w.sn.Fail(fakeservicenow.Failure{Path: table, Status: http.StatusOK,
		Body: `{"result":[{"sys_id":{"value":"..","display_value":".."},"number":{"value":"INC0010001","display_value":"INC0010001"},"state":{"value":"2","display_value":"In Progress"}}]}`})
	before := len(w.sn.Requests("/api/now/table/"))
	w.say(ada, "comment INC0010001 hello")
	mustContain(t, "reply", w.next(ada).JSON(), "record id snowbot cannot use", "changed nothing")
	for _, r := range w.sn.Requests("/api/now/table/")[before:] {
		if r.Method != http.MethodGet {
			t.Errorf("a write went out: %s %s", r.Method, r.Path)
		}
	}
}

func TestAWebPageInsteadOfDataIsExplained(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusOK, ContentType: "text/html; charset=utf-8",
		Body: "<!doctype html><title>Log in</title><form action=/login.do>…</form>"})
	w.say(ada, "incidents")
	reply := w.next(ada).JSON()
	mustContain(t, "reply", reply, "web page instead of data", "SERVICENOW_INSTANCE_URL")
	mustNotContain(t, "reply", reply, "Sorry, something went wrong", "login.do")
}

func TestOneSecondReadsRight(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	f := fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusTooManyRequests, RetryAfter: "1"}
	w.sn.Fail(f, f) // the first is waited out, the second is passed on
	w.say(ada, "incidents")
	reply := w.next(ada).JSON()
	mustContain(t, "reply", reply, "try again in 1 second.")
	mustNotContain(t, "reply", reply, "1 seconds")
}
