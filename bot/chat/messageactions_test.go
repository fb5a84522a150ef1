package chat

// The message actions, in-process: a message turned into an incident, or
// added to a record.

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// taskAnswer is the answer to composeExtension/fetchTask, or to a
// submitAction that comes back to the form.
type taskAnswer struct {
	Task struct {
		Type  string `json:"type"`
		Value json.RawMessage
	} `json:"task"`
	composeAnswer
}

// form is the task's form: its inputs by id, with their prefilled values,
// and the warning it shows.
func (a taskAnswer) form(t *testing.T) (inputs map[string]string, warning string, data map[string]any) {
	t.Helper()
	var v struct {
		Title string
		Card  struct {
			ContentType string
			Content     struct {
				Body []struct {
					Type, ID, Value, Text, Color string
					Choices                      []struct{ Title, Value string }
				}
				Actions []struct {
					Type string
					Data map[string]any
				}
			}
		}
	}
	if a.Task.Type != "continue" || json.Unmarshal(a.Task.Value, &v) != nil || v.Card.ContentType != "application/vnd.microsoft.card.adaptive" || v.Title == "" {
		t.Fatalf("not a form: %s", jsonOf(a))
	}
	// As Teams reads it: its names are case sensitive.
	mustContain(t, "the form", string(a.Task.Value), `"title":`, `"content":{"type":"AdaptiveCard","version":"1.3","body":[`,
		`"contentType":"application/vnd.microsoft.card.adaptive"`)
	inputs = map[string]string{}
	for _, e := range v.Card.Content.Body {
		switch {
		case strings.HasPrefix(e.Type, "Input."):
			inputs[e.ID] = e.Value
		case e.Color == "Attention":
			warning = e.Text
		}
	}
	if len(v.Card.Content.Actions) != 1 || v.Card.Content.Actions[0].Type != "Action.Submit" {
		t.Fatalf("the form has no submit button: %s", jsonOf(a))
	}
	return inputs, warning, v.Card.Content.Actions[0].Data
}

// message is a Teams message, as a message action carries it.
type message struct{ html, author, link string }

var printerMessage = message{
	html: `<p>The <strong>printer</strong> on floor 3 is down again, see <a href="https://status.example.com/p3">the status page</a>.</p>` +
		`<p>cc <at id="0">Ada Lovelace</at>, it jams on every duplex job</p>`,
	author: "Bob Smith",
	link:   "https://teams.microsoft.com/l/message/19:abc@thread.v2/1733300000000",
}

// fetchTask sends what Teams sends when u chooses a message action on m.
func (w *world) fetchTask(u user, command string, m message, state string) taskAnswer {
	w.t.Helper()
	v := map[string]any{"commandId": command, "commandContext": "message", "context": map[string]any{"theme": "default"},
		"messagePayload": map[string]any{"id": "1733300000000", "createdDateTime": "2026-12-04T09:30:00.000Z", "linkToMessage": m.link,
			"body": map[string]any{"contentType": "html", "content": m.html},
			"from": map[string]any{"user": map[string]any{"id": "8:orgid:b0b0", "displayName": m.author}}}}
	if state != "" {
		v["state"] = state
	}
	return w.task(u, "composeExtension/fetchTask", v)
}

// submitAction sends what Teams sends when u sends the form of a message action.
func (w *world) submitAction(u user, command string, data map[string]any) taskAnswer {
	w.t.Helper()
	return w.task(u, "composeExtension/submitAction", map[string]any{"commandId": command, "commandContext": "message", "data": data})
}

func (w *world) task(u user, name string, v map[string]any) taskAnswer {
	w.t.Helper()
	resp := w.invoke(u, name, v)
	var a taskAnswer
	raw, _ := json.Marshal(resp.Body)
	if resp.Status != 200 || json.Unmarshal(raw, &a) != nil {
		w.t.Fatalf("%s: %d %s", name, resp.Status, raw)
	}
	return a
}

// formSent is what a form sends: its button's data and the inputs.
func formSent[V any](data map[string]any, inputs map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range data {
		out[k] = v
	}
	for k, v := range inputs {
		out[k] = v
	}
	return out
}

func TestCreateIncidentFromAMessage(t *testing.T) {
	w := signedIn(t, nil)
	inputs, warning, data := w.fetchTask(ada, "createIncidentFromMessage", printerMessage, "").form(t)
	if warning != "" {
		t.Errorf("a fresh form warns: %q", warning)
	}
	if got, want := inputs["short_description"], "The printer on floor 3 is down again, see the status page (https://status.example.com/p3)."; got != want {
		t.Errorf("short description %q, want %q", got, want)
	}
	mustContain(t, "description", inputs["description"],
		"The printer on floor 3 is down again, see the status page (https://status.example.com/p3).\n\ncc Ada Lovelace, it jams on every duplex job",
		"From a Teams message by Bob Smith on Fri, Dec 4, 2026 09:30 UTC: "+printerMessage.link)
	mustNotContain(t, "description", inputs["description"], "<strong>", "<at", "&nbsp;")

	// Sent twice (a double click, or Teams trying again): one incident, the same card.
	before := len(w.sn.Requests("/api/now/table/incident"))
	first := w.submitAction(ada, "createIncidentFromMessage", formSent(data, inputs))
	again := w.submitAction(ada, "createIncidentFromMessage", formSent(data, inputs))
	ce := first.ComposeExtension
	if ce.Type != "result" || ce.AttachmentLayout != "list" || len(ce.Attachments) != 1 || ce.Attachments[0].Preview.ContentType == "" {
		t.Fatalf("not a result: %s", jsonOf(first))
	}
	card := jsonOf(ce.Attachments[0].Content)
	if again.ComposeExtension.Type != "result" || jsonOf(again.ComposeExtension.Attachments[0].Content) != card {
		t.Errorf("the repeat answered differently: %s", jsonOf(again))
	}
	posts := 0
	for _, r := range w.sn.Requests("/api/now/table/incident")[before:] {
		if r.Method == "POST" {
			posts++
		}
	}
	if posts != 1 {
		t.Fatalf("%d incidents created", posts)
	}
	number := firstNumber(card)
	inc, ok := w.sn.Incident(number)
	if !ok || inc.ShortDescription != inputs["short_description"] || !strings.Contains(inc.Description, "duplex") {
		t.Fatalf("the card names %q: %+v", number, inc)
	}
	if inc.Caller != w.sn.User("ada.lovelace").SysID {
		t.Errorf("the caller is %s, not the person who sent it", inc.Caller)
	}
	mustContain(t, "the card", card, number, `"value":"New"`, "Open in ServiceNow")
}

// ServiceNow's refusal comes back in the form, with what was typed kept; the
// same form, put right, then goes through.
func TestADataPolicyRefusalKeepsWhatWasTyped(t *testing.T) {
	w := signedIn(t, nil)
	inputs, _, data := w.fetchTask(bob, "createIncidentFromMessage", printerMessage, "").form(t)
	inputs["short_description"] = "Printer on floor 3 jams on duplex jobs"
	inputs["description"] = ""
	inputs["urgency"] = "1"
	back := w.submitAction(bob, "createIncidentFromMessage", formSent(data, inputs))
	kept, warning, _ := back.form(t)
	mustContain(t, "the refusal", warning, "Description is mandatory when Urgency is 1 - High")
	if kept["short_description"] != inputs["short_description"] || kept["urgency"] != "1" {
		t.Errorf("what was typed was not kept: %v", kept)
	}
	kept["description"] = "Every duplex job since Monday."
	if got := w.submitAction(bob, "createIncidentFromMessage", formSent(data, kept)); got.ComposeExtension.Type != "result" {
		t.Fatalf("put right, it was refused: %s", jsonOf(got))
	}
	// Nothing typed: the form says what is missing, asking nothing of ServiceNow.
	kept["short_description"] = "  "
	_, warning, _ = w.submitAction(bob, "createIncidentFromMessage", formSent(data, kept)).form(t)
	mustContain(t, "an empty short description", warning, "Say in a few words what is wrong.")
}

func TestCommentFromAMessageNamingARecord(t *testing.T) {
	w := signedIn(t, nil)
	m := message{html: `<p>Any news on <b>chg0030001</b>? The window is tonight.</p>`, author: "Bob Smith", link: printerMessage.link}

	// Ada, an agent: the number found, and the choice of a work note.
	inputs, _, data := w.fetchTask(ada, "commentFromMessage", m, "").form(t)
	if inputs["number"] != "CHG0030001" || !strings.HasPrefix(inputs["text"], "Any news on chg0030001? The window is tonight.") {
		t.Fatalf("prefilled: %v", inputs)
	}
	if _, ok := inputs["kind"]; !ok {
		t.Fatalf("an agent is not offered a work note: %v", inputs)
	}
	inputs["kind"] = "work_notes"
	got := w.submitAction(ada, "commentFromMessage", formSent(data, inputs))
	if got.ComposeExtension.Type != "result" || !strings.Contains(jsonOf(got.ComposeExtension.Attachments), "CHG0030001") {
		t.Fatalf("not the change's card: %s", jsonOf(got))
	}
	chg, _ := w.sn.Task("CHG0030001")
	if len(chg.WorkNotes) != 1 || !strings.Contains(chg.WorkNotes[0].Text, "The window is tonight.") || len(chg.Comments) != 0 {
		t.Errorf("work notes %v, comments %v", chg.WorkNotes, chg.Comments)
	}

	// Bob, who requested RITM0010001: a comment, and no work note offered.
	m.html = `<div>About RITM0010001: I need it before Friday</div>`
	inputs, _, data = w.fetchTask(bob, "commentFromMessage", m, "").form(t)
	if _, ok := inputs["kind"]; ok || inputs["number"] != "RITM0010001" {
		t.Fatalf("Bob's form: %v", inputs)
	}
	if got := w.submitAction(bob, "commentFromMessage", formSent(data, inputs)); got.ComposeExtension.Type != "result" {
		t.Fatalf("Bob's comment: %s", jsonOf(got))
	}
	ritm, _ := w.sn.Task("RITM0010001")
	if len(ritm.Comments) != 1 || !strings.Contains(ritm.Comments[0].Text, "before Friday") {
		t.Errorf("comments %v", ritm.Comments)
	}
	// A work note asked for all the same is refused before anything is written.
	inputs["kind"], inputs["text"] = "work_notes", "internal"
	_, warning, _ := w.submitAction(bob, "commentFromMessage", formSent(data, inputs)).form(t)
	mustContain(t, "a work note by a requester", warning, "does not let you write work notes on RITM0010001")
	// A record Bob may not read.
	inputs["kind"], inputs["number"] = "comments", "PRB0040002"
	_, warning, _ = w.submitAction(bob, "commentFromMessage", formSent(data, inputs)).form(t)
	mustContain(t, "a private record", warning, "PRB0040002: not found, or not yours to see.")
	if prb, _ := w.sn.Task("PRB0040002"); len(prb.Comments) != 0 {
		t.Errorf("a comment on a record Bob may not read: %v", prb.Comments)
	}
	// No number in the message: asked for.
	m.html = "<p>no number here</p>"
	inputs, _, _ = w.fetchTask(bob, "commentFromMessage", m, "").form(t)
	if inputs["number"] != "" {
		t.Errorf("a number out of nowhere: %v", inputs)
	}
}

// Someone not signed in is asked to sign in, as in a search; after the
// sign-in pop-up, Teams asks again with the code and gets the form.
func TestAMessageActionSignsInFirst(t *testing.T) {
	w := newWorld(t, nil)
	got := w.fetchTask(ada, "createIncidentFromMessage", printerMessage, "")
	ce := got.ComposeExtension
	if ce.Type != "auth" || len(ce.SuggestedActions.Actions) != 1 || ce.SuggestedActions.Actions[0].Type != "openUrl" {
		t.Fatalf("not an auth answer: %s", jsonOf(got))
	}
	code := w.codeFor(ce.SuggestedActions.Actions[0].Value, "ada.lovelace")
	inputs, _, _ := w.fetchTask(ada, "createIncidentFromMessage", printerMessage, code).form(t)
	if inputs["short_description"] == "" {
		t.Errorf("not prefilled after signing in: %v", inputs)
	}
	// Sending a form after signing out: the sign-in again, nothing created.
	w.say(ada, "signout")
	w.next(ada)
	before := len(w.sn.Requests("/api/now/table/incident"))
	if got := w.submitAction(ada, "createIncidentFromMessage", map[string]any{"form": "f1", "short_description": "x", "urgency": "3"}); got.ComposeExtension.Type != "auth" {
		t.Fatalf("signed out: %s", jsonOf(got))
	}
	if n := len(w.sn.Requests("/api/now/table/incident")) - before; n != 0 {
		t.Errorf("%d incident requests while signed out", n)
	}
}

// firstNumber is the first incident number in s.
func firstNumber(s string) string {
	i := strings.Index(s, "INC00")
	if i < 0 {
		return ""
	}
	return s[i : i+10]
}

// A long first line is cut to what a short description holds (160
// characters, the cut marked), and the whole text stays in the description;
// a longer one typed into the form is cut the same way when it is created.
func TestALongMessageFitsTheShortDescription(t *testing.T) {
	w := signedIn(t, nil)
	long := strings.Repeat("The build farm in Zürich is slow again ", 8) // 312 characters
	m := message{html: "<p>" + long + "</p><p>second line</p>", author: "Bob Smith", link: printerMessage.link}
	inputs, _, data := w.fetchTask(ada, "createIncidentFromMessage", m, "").form(t)
	short := inputs["short_description"]
	if n := utf8.RuneCountInString(short); n != 160 || !strings.HasSuffix(short, "…") || !strings.HasPrefix(long, strings.TrimSuffix(short, "…")) {
		t.Errorf("short description of %d characters: %q", n, short)
	}
	mustContain(t, "description", inputs["description"], strings.TrimSpace(long), "second line")
	inputs["short_description"] = long
	card := jsonOf(w.submitAction(ada, "createIncidentFromMessage", formSent(data, inputs)).ComposeExtension.Attachments[0].Content)
	inc, _ := w.sn.Incident(firstNumber(card))
	if n := utf8.RuneCountInString(inc.ShortDescription); n != 160 {
		t.Errorf("created with a short description of %d characters", n)
	}
}
