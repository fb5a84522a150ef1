package test

import (
	"encoding/json"
	"net/http"
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
