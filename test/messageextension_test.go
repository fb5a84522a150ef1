package test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"snowbot/test/fakeservicenow"
)

// composeAnswer is the answer to a message extension invoke.
type composeAnswer struct {
	ComposeExtension struct {
		Type             string `json:"type"`
		AttachmentLayout string `json:"attachmentLayout"`
		Text             string `json:"text"`
		Attachments      []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
			Preview     struct {
				ContentType string            `json:"contentType"`
				Content     map[string]string `json:"content"`
			} `json:"preview"`
		} `json:"attachments"`
		SuggestedActions struct {
			Actions []struct{ Type, Value, Title string } `json:"actions"`
		} `json:"suggestedActions"`
	} `json:"composeExtension"`
}

// search sends what Teams sends when u types into the message extension.
func (w *world) search(u user, command, text string, skip, count int, state string) composeAnswer {
	w.t.Helper()
	v := map[string]any{"commandId": command, "parameters": []map[string]any{{"name": "query", "value": text}},
		"queryOptions": map[string]any{"skip": skip, "count": count}}
	if state != "" {
		v["state"] = state
	}
	return w.compose(u, "composeExtension/query", v)
}

func (w *world) compose(u user, name string, v map[string]any) composeAnswer {
	w.t.Helper()
	status, body := w.invoke(u, name, v)
	var a composeAnswer
	if status != http.StatusOK || json.Unmarshal([]byte(body), &a) != nil {
		w.t.Fatalf("%s answered %d: %s", name, status, body)
	}
	return a
}

func (a composeAnswer) json() string { b, _ := json.Marshal(a); return string(b) }

// Teams waits about 5 seconds: with ServiceNow hanging, the answer comes in
// time and says so; with the search of others hanging, the person's own come.
func TestTheComposeBoxIsAnsweredInTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Hang: 30 * time.Second})
	start := time.Now()
	got := w.search(ada, "searchIncidents", "vpn", 0, 25, "")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %s", took)
	}
	if got.ComposeExtension.Type != "message" || !strings.Contains(got.ComposeExtension.Text, "not answering") {
		t.Errorf("with ServiceNow hanging: %s", got.json())
	}
	// The person's own are read; the search of others hangs.
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Query: "caller_id!=javascript:gs.getUserID()", Hang: 30 * time.Second})
	start = time.Now()
	got = w.search(ada, "searchIncidents", "vpn", 0, 25, "")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %s", took)
	}
	if n := got.numbers(); len(n) != 1 || n[0] != "INC0010003" {
		t.Errorf("with the search of others hanging: %s", got.json())
	}
}

// numbers are the numbers of the results, in order.
func (a composeAnswer) numbers() []string {
	var out []string
	for _, at := range a.ComposeExtension.Attachments {
		out = append(out, strings.SplitN(at.Preview.Content["title"], " ", 2)[0])
	}
	return out
}

// createIncidentForm asks, as Ada, for the Create incident form on a message
// (its payload as Teams sends it), and returns the form's id and the answer.
func createIncidentForm(t *testing.T, w *world, payload map[string]any) (form, body string) {
	t.Helper()
	status, body := w.invoke(ada, "composeExtension/fetchTask", map[string]any{"commandId": "createIncidentFromMessage", "commandContext": "message", "messagePayload": payload})
	if status != http.StatusOK {
		t.Fatalf("fetchTask: %d %s", status, body)
	}
	m := regexp.MustCompile(`"form":"([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form id: %s", body)
	}
	return m[1], body
}

// submitCreateIncident sends, as Ada, the Create incident form with data.
func submitCreateIncident(w *world, data map[string]any) (int, string) {
	return w.invoke(ada, "composeExtension/submitAction", map[string]any{"commandId": "createIncidentFromMessage", "commandContext": "message", "data": data})
}

// A message action over the wire: the form, prefilled from the message's
// HTML; sent while ServiceNow hangs, the form comes back in time with what was
// typed; sent again when ServiceNow is back, and once more, one incident.
func TestAMessageBecomesOneIncidentOverTheWire(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	payload := map[string]any{"id": "1733300000000", "createdDateTime": "2026-12-04T09:30:00.000Z",
		"linkToMessage": "https://teams.microsoft.com/l/message/19:abc@thread.v2/1733300000000",
		"body":          map[string]any{"contentType": "html", "content": `<p>The <b>badge reader</b> at the <a href="https://maps.example.com/b">north door</a> is dead</p><p>since 9</p>`},
		"from":          map[string]any{"user": map[string]any{"displayName": "Bob Smith"}}}
	form, body := createIncidentForm(t, w, payload)
	mustContain(t, "the form", body, `"type":"continue"`, `"contentType":"application/vnd.microsoft.card.adaptive"`, `"content":{"type":"AdaptiveCard","version":"1.3","body":[`,
		`"value":"The badge reader at the north door (https://maps.example.com/b) is dead"`, "From a Teams message by Bob Smith")
	data := map[string]any{"form": form, "short_description": "Badge reader at the north door is dead", "description": "since 9", "urgency": "2"}
	submit := func() (int, string, time.Duration) {
		start := time.Now()
		status, body := submitCreateIncident(w, data)
		return status, body, time.Since(start)
	}

	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Method: http.MethodPost, Hang: 30 * time.Second})
	status, body, took := submit()
	if status != http.StatusOK || took > 5*time.Second {
		t.Fatalf("with ServiceNow hanging: %d after %s: %s", status, took, body)
	}
	mustContain(t, "with ServiceNow hanging", body, `"type":"continue"`, "did not answer in time", `"value":"Badge reader at the north door is dead"`)

	before := len(w.sn.Incidents())
	_, first, _ := submit()
	_, again, _ := submit()
	mustContain(t, "the result", first, `"composeExtension":{"type":"result","attachmentLayout":"list"`, "Badge reader at the north door is dead")
	number := regexp.MustCompile(`INC\d{7}`).FindString(first)
	if number == "" || !strings.Contains(again, number) {
		t.Fatalf("first %s, again %s", first, again)
	}
	if n := len(w.sn.Incidents()) - before; n != 1 {
		t.Fatalf("%d incidents created", n)
	}
}

// ServiceNow creates the incident but answers after the bot gave up: the
// form, sent again, gets that incident, not a second one.
func TestAnIncidentServiceNowConfirmedLateIsNotCreatedTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	payload := map[string]any{"id": "1733300000001", "createdDateTime": "2026-12-04T09:31:00.000Z",
		"body": map[string]any{"contentType": "html", "content": "<p>The lift in building B is stuck</p>"},
		"from": map[string]any{"user": map[string]any{"displayName": "Bob Smith"}}}
	form, _ := createIncidentForm(t, w, payload)
	data := map[string]any{"form": form, "short_description": "The lift in building B is stuck", "description": "", "urgency": "3"}
	submit := func() string {
		_, body := submitCreateIncident(w, data)
		return body
	}
	before := len(w.sn.Incidents())
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Method: http.MethodPost, Late: 20 * time.Second})
	mustContain(t, "answered late", submit(), `"type":"continue"`, "may have been created", "Send it again")
	again := submit()
	mustContain(t, "sent again", again, `"composeExtension":{"type":"result"`, "The lift in building B is stuck")
	if n := len(w.sn.Incidents()) - before; n != 1 {
		t.Fatalf("%d incidents created", n)
	}
	number := regexp.MustCompile(`INC\d{7}`).FindString(again)
	if inc, ok := w.sn.Incident(number); !ok || inc.ShortDescription != "The lift in building B is stuck" {
		t.Fatalf("the card names %q", number)
	}
}

// ServiceNow refusing the account (a 403 on the create) brings the form back
// with its words and what was typed, and nothing is created.
func TestARefusedIncidentFromAMessageKeepsTheForm(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	payload := map[string]any{"id": "1733300000002", "createdDateTime": "2026-12-04T09:32:00.000Z",
		"body": map[string]any{"contentType": "html", "content": "<p>The coffee machine leaks</p>"},
		"from": map[string]any{"user": map[string]any{"displayName": "Bob Smith"}}}
	form, _ := createIncidentForm(t, w, payload)
	before := len(w.sn.Incidents())
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Method: http.MethodPost, Status: http.StatusForbidden,
		Message: "Operation Failed", Detail: "ACL Exception Insert Failed due to security constraints"})
	data := map[string]any{"form": form, "short_description": "Coffee machine on 2 leaks", "description": "A puddle since Monday", "urgency": "3"}
	_, body := submitCreateIncident(w, data)
	mustContain(t, "the refusal", body, `"type":"continue"`, "ACL Exception Insert Failed", `"value":"Coffee machine on 2 leaks"`, `"value":"A puddle since Monday"`)
	if n := len(w.sn.Incidents()) - before; n != 0 {
		t.Fatalf("%d incidents created", n)
	}
}

// searchRecords asks every table at once: one table hanging, the others'
// results come within Teams' 5 seconds.
func TestSearchingRecordsAnswersInTimeWhenATableHangs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/change_request", Hang: 30 * time.Second})
	start := time.Now()
	got := w.search(ada, "searchRecords", "VPN", 0, 10, "")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %s", took)
	}
	numbers := strings.Join(got.numbers(), " ")
	mustContain(t, "results", numbers, "PRB0040001")
	mustNotContain(t, "results", numbers, "CHG0030001")
}
