package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// TestEveryCardRendersWithTheOfficialRenderer drives the bot through every
// reply that carries a card, takes the cards from what the fake connector
// received, and renders each with Microsoft's adaptivecards library at schema
// 1.5: a parse event, a validation failure or a failed render fails the test.
func TestEveryCardRendersWithTheOfficialRenderer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	collected := map[string]map[string]any{}
	take := func(kind string, a fakebotframework.Activity) {
		t.Helper()
		collected[kind] = card(t, a)
	}

	w.say(ada, "help")
	take("help", w.next(ada))
	added := activity(w.bf, ada, "conversationUpdate")
	added["membersAdded"] = []map[string]any{{"id": "28:" + w.bf.AppID}}
	w.post(added)
	take("welcome", w.next(ada))

	w.say(ada, "incidents")
	signin := w.next(ada)
	take("sign-in", signin)
	_, page := browse(t, signInURL(signin))
	w.say(ada, pageCode(t, page))
	w.next(ada) // confirmation text
	take("incident list", w.next(ada))

	w.say(ada, "incident INC0010001")
	take("incident detail", w.next(ada))
	w.say(ada, "incident INC0010005")
	take("resolved incident detail", w.next(ada))
	w.say(ada, "create")
	take("create form", w.next(ada))
	w.say(ada, "create Printer on 3rd floor jams")
	take("created", w.next(ada))

	w.say(ada, "approvals")
	take("approvals", w.next(ada))
	w.say(ada, "approve CHG0030001 Fine")
	take("decided approval", w.next(ada))
	_, resp := w.pressed(ada, "approve", map[string]any{"card": "approvals", "approval": approvalID(t, w.sn, "RITM0010001", "ada.lovelace")})
	collected["approvals after a button"] = cardOf(t, resp)

	w.say(ada, "catalog")
	take("catalog", w.next(ada))
	for kind, item := range map[string]string{"order form: laptop": "1", "order form: access": "4", "order in ServiceNow": "5"} {
		w.submit(ada, map[string]any{"action": "order", "item": "ca00000000000000000000000000000" + item})
		take(kind, w.next(ada))
	}
	w.submit(ada, map[string]any{"action": "orderNow", "item": "ca000000000000000000000000000002", "form": "cards-test", "v_size": "small"})
	take("ordered", w.next(ada))
	w.say(ada, "requests")
	take("requests", w.next(ada))
	w.say(ada, "show RITM0010001")
	take("requested item with approvals", w.next(ada))

	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusTooManyRequests, RetryAfter: "60"})
	w.say(ada, "incidents")
	take("error: throttled", w.next(ada))
	f := fakeservicenow.Failure{Path: "/api/now/table/incident", Status: http.StatusServiceUnavailable}
	w.sn.Fail(f, f, f)
	w.say(ada, "incidents")
	take("error: not answering", w.next(ada))

	w.sn.Configure(func(s *fakeservicenow.Server) { s.BrowserUser = "bob.smith" })
	w.say(bob, "incidents")
	_, page = browse(t, signInURL(w.next(bob)))
	w.say(bob, pageCode(t, page))
	w.next(bob)
	w.next(bob)
	w.say(bob, "resolve INC0010007 fixed")
	take("sign-in after a refusal", w.next(bob))

	dir := os.Getenv("SNOWBOT_CARDS_DIR") // keep the cards for a look, when asked
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	i := 0
	for kind, c := range collected {
		i++
		name := filepath.Join(dir, fmt.Sprintf("%02d-%s.json", i, sanitize(kind)))
		b, _ := json.MarshalIndent(c, "", "  ")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	out, err := nodeTool(t, "render-cards.mjs", files...).CombinedOutput()
	if err != nil {
		t.Fatalf("the official renderer found problems: %v\n%s", err, out)
	}
	var results []struct {
		File string
		OK   bool
		Text string
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(collected) {
		t.Fatalf("renderer output (%v):\n%s", err, out)
	}
	for _, r := range results {
		if r.Text == "" {
			t.Errorf("%s rendered no text", r.File)
		}
	}

	// The check itself can fail: a card with an input without an id, and one of a newer schema.
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"type":"AdaptiveCard","version":"1.5","body":[{"type":"Input.Text"},{"type":"Table","columns":[]}]}`), 0o644)
	if out, err := nodeTool(t, "render-cards.mjs", bad).CombinedOutput(); err == nil {
		t.Fatalf("a broken card passed the renderer:\n%s", out)
	}
}

func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			out = append(out, r)
		} else {
			out = append(out, '-')
		}
	}
	return string(out)
}
