package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"snowbot/test/fakeservicenow"
)

// pressed is what Teams sends when a card's Action.Execute button is pressed
// (or the card refreshes itself): an adaptiveCard/action invoke.
func (w *world) pressed(u user, verb string, data map[string]any) (int, map[string]any) {
	w.t.Helper()
	status, body := w.invoke(u, "adaptiveCard/action", map[string]any{
		"action":  map[string]any{"type": "Action.Execute", "verb": verb, "data": data},
		"trigger": "manual",
	})
	var resp map[string]any
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		w.t.Fatalf("invoke answered %d with %q", status, body)
	}
	return status, resp
}

// cardOf checks the shape of an invoke's card answer and returns the card.
func cardOf(t *testing.T, resp map[string]any) map[string]any {
	t.Helper()
	if resp["statusCode"] != float64(200) || resp["type"] != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("not a card answer: %v", resp)
	}
	c, _ := resp["value"].(map[string]any)
	if c["type"] != "AdaptiveCard" || c["version"] != "1.5" {
		t.Fatalf("not an Adaptive Card 1.5: %v", resp["value"])
	}
	return c
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func approvalID(t *testing.T, sn *fakeservicenow.Server, number, approver string) string {
	t.Helper()
	a, ok := sn.ApprovalOf(number, approver)
	if !ok {
		t.Fatalf("no approval of %s by %s", number, approver)
	}
	return a.SysID
}

func patchesOf(sn *fakeservicenow.Server) []fakeservicenow.Request {
	var out []fakeservicenow.Request
	for _, r := range sn.Requests("/api/now/table/sysapproval_approver/") {
		if r.Method == http.MethodPatch {
			out = append(out, r)
		}
	}
	return out
}

func TestAButtonWhileServiceNowIsDownKeepsTheCard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	id := approvalID(t, w.sn, "CHG0030001", "ada.lovelace")
	// A write that fails: the card keeps its buttons and says to try again.
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/now/table/sysapproval_approver/" + id, Method: http.MethodPatch, Status: http.StatusServiceUnavailable})
	_, resp := w.pressed(ada, "approve", map[string]any{"card": "approval", "approval": id})
	js := jsonOf(resp)
	mustContain(t, "answer to a failed write", js, "ServiceNow is not answering, try again in a moment.")
	mustContain(t, "answer to a failed write", js, `"verb":"approve"`)
	mustNotContain(t, "answer to a failed write", js, "Approved by")
	if a, _ := w.sn.ApprovalOf("CHG0030001", "ada.lovelace"); a.State != "requested" {
		t.Fatalf("approval %+v", a)
	}
}

// pressOn sends an approval card's button press to one instance and returns the invoke's answer.
func (w *world) pressOn(p *botProcess, u user, verb string, data map[string]any) (int, string) {
	a := activity(w.bf, u, "invoke")
	a["name"] = "adaptiveCard/action"
	a["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
	return p.post(w.t, w.token(), a)
}

// Approve pressed twice at once, or Approve and Reject at once, twenty
// times each: one PATCH each time, and both presses are answered with the
// approval's state, never with a sign-in card. On one instance, and on two
// sharing one Redis.
func TestSimultaneousPressesDecideOnce(t *testing.T) {
	t.Parallel()
	for _, fleetSize := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", fleetSize), func(t *testing.T) {
			t.Parallel()
			var w *world
			var procs []*botProcess
			if fleetSize == 1 {
				w = newWorld(t, nil)
				procs = []*botProcess{w.bot, w.bot}
			} else {
				f := newFleet(t, 2, nil)
				w, procs = f.world, f.instances
			}
			w.signIn(ada, "ada.lovelace", "incidents")
			for round := range 40 {
				second := "approve"
				if round%2 == 1 {
					second = "reject"
				}
				id, err := w.sn.RequestApproval("CHG0030001", "ada.lovelace")
				if err != nil {
					t.Fatal(err)
				}
				before := len(patchesOf(w.sn))
				var wg sync.WaitGroup
				answers := make([]string, 2)
				for i, verb := range []string{"approve", second} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						data := map[string]any{"card": "approval", "approval": id, "reason-" + id: "Not now."}
						status, body := w.pressOn(procs[i], ada, verb, data)
						if status != http.StatusOK {
							t.Errorf("round %d: %s answered %d %s", round, verb, status, body)
						}
						answers[i] = body
					}()
				}
				wg.Wait()
				if n := len(patchesOf(w.sn)) - before; n != 1 {
					t.Errorf("round %d (approve and %s): %d PATCHes", round, second, n)
				}
				for i, body := range answers {
					if !strings.Contains(body, `"type":"application/vnd.microsoft.card.adaptive"`) || !strings.Contains(body, "CHG0030001") ||
						!(strings.Contains(body, "Approved by Ada Lovelace") || strings.Contains(body, "Rejected by Ada Lovelace")) {
						t.Errorf("round %d, press %d: not the approval as it is now: %.300s…", round, i+1, body)
					}
				}
			}
			for _, m := range messagesTo(w.bf, ada.Conversation) {
				if signInURL(m) != "" && strings.Contains(m.JSON(), "refused") {
					t.Fatalf("a press was answered with a sign-in card: %s", m.JSON())
				}
			}
		})
	}
}
