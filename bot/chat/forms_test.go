package chat

// Forms and buttons act once: in-process.

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var formID = regexp.MustCompile(`"form":"([0-9a-f]+)"`)

func (w *world) incidentsNamed(short string) int {
	n := 0
	for _, inc := range w.sn.Incidents() {
		if inc.ShortDescription == short {
			n++
		}
	}
	return n
}

func TestAFormSentTwiceCreatesOneIncident(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "create")
	form := w.next(ada)
	m := formID.FindStringSubmatch(form.JSON())
	if m == nil {
		t.Fatalf("the form carries no id: %s", form.JSON())
	}
	value := map[string]any{"action": "create", "form": m[1], "short_description": "Desk lamp broken", "urgency": "3"}

	w.submitTo(ada, form, value)
	first := w.next(ada).JSON()
	number := regexp.MustCompile(`Created (INC\d+)`).FindStringSubmatch(first)
	if number == nil {
		t.Fatalf("first submission: %s", first)
	}
	// The form became a receipt: nothing left to send again.
	ups := w.rec.updates(form.ID)
	if len(ups) != 1 {
		t.Fatalf("the form was updated %d times, want once", len(ups))
	}
	mustContain(t, "the updated form", ups[0].JSON(), "Sent: created "+number[1])
	mustNotContain(t, "the updated form", ups[0].JSON(), "Input.Text", "Action.Submit")

	// The same form again (a double click, another device): the first answer, no second incident.
	w.submitTo(ada, form, value)
	again := w.next(ada).JSON()
	mustContain(t, "second submission", again, "already sent this", "Created "+number[1])
	if n := w.incidentsNamed("Desk lamp broken"); n != 1 {
		t.Fatalf("%d incidents from one form", n)
	}
	// The incident carries the form's key, so that a form sent again after
	// ServiceNow did not answer finds it instead of creating another.
	if inc, _ := w.sn.Incident(number[1]); inc.Correlation != "snowbot:"+m[1] {
		t.Errorf("the incident's correlation_id is %q", inc.Correlation)
	}

	// Two clicks at the same moment on a new form: still one incident.
	w.say(ada, "create")
	form2 := w.next(ada)
	value2 := map[string]any{"action": "create", "form": formID.FindStringSubmatch(form2.JSON())[1], "short_description": "Chair squeaks"}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); w.submitTo(ada, form2, value2) }() // runs to the end, or fails the test
	}
	wg.Wait()
	replies := []string{w.next(ada).JSON(), w.next(ada).JSON()}
	if n := w.incidentsNamed("Chair squeaks"); n != 1 {
		t.Fatalf("%d incidents from a double click", n)
	}
	if !strings.Contains(strings.Join(replies, " "), "already sent this") {
		t.Errorf("the second click was not recognised: %v", replies)
	}
}

func TestCommentAndResolveButtonsActOnce(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "incident INC0010002")
	card := w.next(ada)
	form := formID.FindStringSubmatch(card.JSON())[1]
	comments := func() int { inc, _ := w.sn.Incident("INC0010002"); return len(inc.Comments) }

	comment := map[string]any{"action": "comment", "number": "INC0010002", "form": form, "comment": "Any news?"}
	w.submitTo(ada, card, comment)
	mustContain(t, "comment", w.next(ada).Text(), "Added your comment")
	w.submitTo(ada, card, comment)
	mustContain(t, "the same comment again", w.next(ada).Text(), "already sent this")
	if n := comments(); n != 1 {
		t.Fatalf("%d comments, want 1", n)
	}
	// A different comment from the same card is a new comment.
	other := map[string]any{"action": "comment", "number": "INC0010002", "form": form, "comment": "Still jamming."}
	w.submitTo(ada, card, other)
	mustContain(t, "another comment", w.next(ada).Text(), "Added your comment")
	if n := comments(); n != 2 {
		t.Fatalf("%d comments, want 2", n)
	}
	// The card now shows the comments.
	ups := w.rec.updates(card.ID)
	if len(ups) == 0 || !strings.Contains(ups[len(ups)-1].JSON(), "Still jamming.") {
		t.Fatalf("the card was not shown again with the new comment: %d updates", len(ups))
	}

	resolve := map[string]any{"action": "resolve", "number": "INC0010002", "form": form, "notes": "Replaced the drum"}
	w.submitTo(ada, card, resolve)
	mustContain(t, "resolve", w.next(ada).Text(), "Resolved INC0010002")
	writes := 0
	for _, r := range w.sn.Requests("/api/now/table/incident/") {
		if r.Method == http.MethodPatch {
			writes++
		}
	}
	w.submitTo(ada, card, resolve)
	mustContain(t, "resolving again", w.next(ada).Text(), "already sent this", "Resolved INC0010002")
	after := 0
	for _, r := range w.sn.Requests("/api/now/table/incident/") {
		if r.Method == http.MethodPatch {
			after++
		}
	}
	if after != writes {
		t.Fatalf("the second resolve wrote again (%d writes, then %d)", writes, after)
	}
	ups = w.rec.updates(card.ID)
	mustNotContain(t, "the card after resolving", ups[len(ups)-1].JSON(), `"action":"resolve"`)
}
