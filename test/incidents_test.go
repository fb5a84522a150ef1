package test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
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

var incidentNumbers = regexp.MustCompile(`\[(INC\d+)\]`)

func TestIncidentsListsTheUsersOpenIncidentsNewestFirst(t *testing.T) {
	w := signedIn(t, nil)
	start := len(w.bf.DeliveredTo(ada.Conversation))
	w.say(ada, "incidents")
	reply := w.next(ada)
	js := reply.JSON()
	got := incidentNumbers.FindAllStringSubmatch(js, -1)
	var numbers []string
	for _, m := range got {
		numbers = append(numbers, m[1])
	}
	if strings.Join(numbers, ",") != "INC0010004,INC0010003,INC0010002,INC0010001" {
		t.Fatalf("listed %v", numbers)
	}
	inc, _ := w.sn.Incident("INC0010001")
	mustContain(t, "list", js, "In Progress", "3 - Moderate", "Laptop does not connect",
		w.sn.URL+"/nav_to.do?uri=incident.do?sys_id="+inc.SysID)
	mustContain(t, "fallback", card(t, reply)["fallbackText"].(string), "INC0010001")

	calls := w.sn.Requests("/api/now/table/incident")
	q := calls[len(calls)-1].Query
	if q.Get("sysparm_query") != "caller_id=javascript:gs.getUserID()^active=true^ORDERBYDESCsys_created_on" ||
		q.Get("sysparm_display_value") != "all" || q.Get("sysparm_exclude_reference_link") != "true" ||
		q.Get("sysparm_limit") != "10" || !strings.Contains(q.Get("sysparm_fields"), "short_description") {
		t.Errorf("list request: %v", q)
	}
	// ServiceNow answered at once: no typing indicator, which would only cost a
	// round trip to the channel.
	for _, a := range w.bf.DeliveredTo(ada.Conversation)[start:] {
		if a.Type() == "typing" {
			t.Error("a typing indicator for a quick answer")
		}
	}
	// A slow answer shows one while the person waits, before the reply.
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

func TestLongListsSayHowManyMore(t *testing.T) {
	w := signedIn(t, nil)
	for i := range 9 {
		w.sn.AddIncident("ada.lovelace", fmt.Sprintf("Extra problem %d", i))
	}
	w.say(ada, "incidents")
	reply := w.next(ada)
	if n := len(incidentNumbers.FindAllString(reply.JSON(), -1)); n != 10 {
		t.Errorf("%d incidents listed, want 10", n)
	}
	mustContain(t, "list", reply.JSON(), "and 3 more")
	if len(reply.JSON()) > 25_000 {
		t.Errorf("list message is %d bytes", len(reply.JSON()))
	}
}

func TestNoOpenIncidents(t *testing.T) {
	w := newWorld(t, nil)
	replies := w.signIn(ada, "david.miller", "incidents") // an agent who never called in an incident himself
	mustContain(t, "empty list", replies[1].Text(), "no open incidents", "create")
}

func TestIncidentDetails(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "Incident inc0010001")
	reply := w.next(ada)
	js := reply.JSON()
	mustContain(t, "detail", js, "INC0010001", "Laptop does not connect", "In Progress", "3 - Moderate", "Network",
		"Beth Anglin", "Ada Lovelace", "It is LT-0042.", "Could you tell me your laptop", "Open in ServiceNow",
		`"action":"comment"`, `"action":"resolve"`, `"number":"INC0010001"`, "Action.ShowCard")
	// Latest comment first.
	if strings.Index(js, "It is LT-0042.") > strings.Index(js, "Could you tell me") {
		t.Error("comments not newest first")
	}
	mustContain(t, "fallback", card(t, reply)["fallbackText"].(string), "Beth Anglin")

	w.say(ada, "incident INC0010005")
	mustNotContain(t, "resolved incident", w.next(ada).JSON(), `"action":"resolve"`)

	w.say(ada, "incident INC9999999")
	mustContain(t, "unknown number", w.next(ada).Text(), "no incident INC9999999")
	// Bob may not see Ada's incident: ServiceNow filters it, and he is told it is not there.
	w.say(bob, "incident INC0010001")
	mustContain(t, "someone else's incident", w.next(bob).Text(), "no incident INC0010001")

	calls := len(w.sn.Requests("/api/now/table/"))
	w.say(ada, "incident 42")
	mustContain(t, "bad number", w.next(ada).Text(), "not an incident number")
	w.say(ada, "incident")
	mustContain(t, "missing number", w.next(ada).Text(), "Which incident")
	if n := len(w.sn.Requests("/api/now/table/")); n != calls {
		t.Error("an invalid number reached ServiceNow")
	}
}

func TestCreateKeepsTheTextExactlyAsTyped(t *testing.T) {
	w := signedIn(t, nil)
	text := "Printer «3rd floor» says \"PC LOAD LETTER\" ^NQactive=false\nand beeps 🙂"
	w.say(ada, "create "+text)
	reply := w.next(ada)
	m := regexp.MustCompile(`Created (INC\d+)`).FindStringSubmatch(reply.JSON())
	if m == nil {
		t.Fatalf("no number in %s", reply.JSON())
	}
	inc, ok := w.sn.Incident(m[1])
	if !ok || inc.ShortDescription != text || inc.Caller != w.sn.User("ada.lovelace").SysID {
		t.Fatalf("created %+v", inc)
	}
	// The second create reuses the looked-up caller: one call, not two.
	before := len(w.sn.Requests("/api/now/table/sys_user"))
	w.say(ada, "create Second one")
	mustContain(t, "second create", w.next(ada).JSON(), "Created INC")
	if n := len(w.sn.Requests("/api/now/table/sys_user")); n != before {
		t.Errorf("the caller was looked up again (%d lookups)", n-before)
	}
}

func TestCreateFormCard(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "create")
	form := w.next(ada).JSON()
	mustContain(t, "form", form, "Input.Text", "short_description", "Input.ChoiceSet", "urgency", `"action":"create"`)

	w.submit(ada, map[string]any{"action": "create", "short_description": "Monitor flickers", "description": "Line one\nLine two", "urgency": "1"})
	m := regexp.MustCompile(`Created (INC\d+)`).FindStringSubmatch(w.next(ada).JSON())
	if m == nil {
		t.Fatal("form submit created nothing")
	}
	inc, _ := w.sn.Incident(m[1])
	if inc.ShortDescription != "Monitor flickers" || inc.Description != "Line one\nLine two" || inc.Urgency != 1 {
		t.Fatalf("created %+v", inc)
	}
	w.submit(ada, map[string]any{"action": "create", "short_description": "  "})
	mustContain(t, "empty form", w.next(ada).JSON(), "Input.Text")
}

func TestCommentAndResolveByTextAndByCard(t *testing.T) {
	w := signedIn(t, nil)
	comment := "Thanks — it works «again»\nsecond line with ^OR and ="
	w.say(ada, "comment INC0010001 "+comment)
	mustContain(t, "comment reply", w.next(ada).Text(), "Added your comment to INC0010001")
	inc, _ := w.sn.Incident("INC0010001")
	if last := inc.Comments[len(inc.Comments)-1]; last.Text != comment || last.By != w.sn.User("ada.lovelace").SysID {
		t.Fatalf("comment stored as %+v", last)
	}
	lookups := w.sn.Requests("/api/now/table/incident")
	if q := lookups[len(lookups)-2].Query.Get("sysparm_query"); q != "number=INC0010001" {
		t.Errorf("lookup query %q", q)
	}

	w.submit(ada, map[string]any{"action": "comment", "number": "INC0010002", "comment": "From the card"})
	mustContain(t, "card comment", w.next(ada).Text(), "INC0010002")
	inc, _ = w.sn.Incident("INC0010002")
	if inc.Comments[len(inc.Comments)-1].Text != "From the card" {
		t.Fatal("card comment not stored")
	}

	w.say(ada, "resolve INC0010002 Replaced the drum")
	mustContain(t, "resolve reply", w.next(ada).Text(), "Resolved INC0010002")
	inc, _ = w.sn.Incident("INC0010002")
	if inc.State != 6 || inc.CloseCode != "Solution provided" || inc.CloseNotes != "Replaced the drum" {
		t.Fatalf("resolved as %+v", inc)
	}
	w.say(ada, "resolve INC0010002 again")
	mustContain(t, "resolving twice", w.next(ada).Text(), "already resolved")

	w.submit(ada, map[string]any{"action": "resolve", "number": "INC0010003", "notes": "Vendor fixed it"})
	mustContain(t, "card resolve", w.next(ada).Text(), "Resolved INC0010003")

	w.say(ada, "comment INC0010001")
	mustContain(t, "comment without text", w.next(ada).Text(), "What should the comment say")
	w.say(ada, "resolve INC0010001")
	mustContain(t, "resolve without notes", w.next(ada).Text(), "How was it resolved")
}

func TestInjectionCannotWidenAQuery(t *testing.T) {
	w := signedIn(t, nil)
	calls := len(w.sn.Requests("/api/now/table/"))
	for _, attempt := range []string{
		"incident INC0010001^NQactive=false",
		"incident INC0010001^ORnumberISNOTEMPTY",
		"comment INC0010001^ORcaller_id!=x hi",
		"resolve javascript:gs.getUserID() done",
	} {
		w.say(bob, attempt)
		mustContain(t, attempt, w.next(bob).Text(), "not an incident number")
	}
	if n := len(w.sn.Requests("/api/now/table/")); n != calls {
		t.Fatalf("injection attempts reached ServiceNow (%d calls)", n-calls)
	}
	// Bob's own list holds only Bob's incidents.
	w.say(bob, "incidents")
	js := w.next(bob).JSON()
	mustNotContain(t, "Bob's list", js, "INC0010001", "INC0010011")
	mustContain(t, "Bob's list", js, "INC0010007")
}

func TestForbiddenActionExplainsAndOffersAnotherAccount(t *testing.T) {
	w := signedIn(t, nil)
	w.say(bob, "resolve INC0010007 fixed it myself")
	reply := w.next(bob)
	if signInURL(reply) == "" {
		t.Fatalf("no sign-in card on 403: %s", reply.JSON())
	}
	mustContain(t, "403 reply", reply.JSON(), "refused this action", "ACL Exception Update Failed", "another account", "administrator")
	// Bob is still signed in: reading works.
	w.say(bob, "incident INC0010007")
	mustContain(t, "read after 403", w.next(bob).JSON(), "Email bounces")
}

func TestDataPolicyRefusalNamesTheResolveCodeSetting(t *testing.T) {
	w := signedIn(t, func(env map[string]string) { env["SERVICENOW_RESOLVE_CODE"] = "Solved (Permanently)" })
	w.say(ada, "resolve INC0010001 done")
	reply := w.next(ada)
	if signInURL(reply) != "" {
		t.Fatal("a data policy refusal asked to sign in")
	}
	mustContain(t, "reply", reply.JSON(), "refused the change", "Data Policy Exception", "SERVICENOW_RESOLVE_CODE")
}

func TestServiceNowFailuresAreExplained(t *testing.T) {
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

func TestCardSubmitForDetails(t *testing.T) {
	w := signedIn(t, nil)
	w.submit(ada, map[string]any{"action": "incident", "number": "INC0010003"})
	mustContain(t, "details from the list", w.next(ada).JSON(), "VPN disconnects")
	w.submit(ada, map[string]any{"action": "dance"})
	mustContain(t, "unknown button", w.next(ada).Text(), "did not understand")
}

func TestARecordIDThatIsNotASysIDNeverReachesAURL(t *testing.T) {
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
	w := signedIn(t, nil)
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusOK, ContentType: "text/html; charset=utf-8",
		Body: "<!doctype html><title>Log in</title><form action=/login.do>…</form>"})
	w.say(ada, "incidents")
	reply := w.next(ada).JSON()
	mustContain(t, "reply", reply, "web page instead of data", "SERVICENOW_INSTANCE_URL")
	mustNotContain(t, "reply", reply, "Sorry, something went wrong", "login.do")
}

func TestOneSecondReadsRight(t *testing.T) {
	w := signedIn(t, nil)
	f := fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusTooManyRequests, RetryAfter: "1"}
	w.sn.Fail(f, f) // the first is waited out, the second is passed on
	w.say(ada, "incidents")
	reply := w.next(ada).JSON()
	mustContain(t, "reply", reply, "try again in 1 second.")
	mustNotContain(t, "reply", reply, "1 seconds")
}
