package chat

// Approvals, in-process: the list, the buttons, the typed commands.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// pressed is what Teams sends when a card's Action.Execute button is pressed
// (or the card refreshes itself): an adaptiveCard/action invoke. It returns
// the invoke's status and body.
func (w *world) pressed(u user, verb string, data map[string]any) (int, map[string]any) {
	w.t.Helper()
	r := w.invoke(u, "adaptiveCard/action", map[string]any{
		"action":  map[string]any{"type": "Action.Execute", "verb": verb, "data": data},
		"trigger": "manual",
	})
	var resp map[string]any
	if err := json.Unmarshal([]byte(jsonOf(r.Body)), &resp); err != nil {
		w.t.Fatalf("invoke answered %d with %v", r.Status, r.Body)
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	return status, resp
}

// invokeCard checks the shape of an invoke's card answer and returns the card.
func invokeCard(t *testing.T, resp map[string]any) map[string]any {
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

func (w *world) approvalID(number, approver string) string {
	w.t.Helper()
	a, ok := w.sn.ApprovalOf(number, approver)
	if !ok {
		w.t.Fatalf("no approval of %s by %s", number, approver)
	}
	return a.SysID
}

func patchesOf(sn *instanceServer) []request {
	var out []request
	for _, r := range sn.Requests("/api/now/table/sysapproval_approver/") {
		if r.Method == http.MethodPatch {
			out = append(out, r)
		}
	}
	return out
}

func TestApprovalsListWhatWaitsWithItsDetailsInFewCalls(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	before := len(w.sn.Requests("/api/now/table/"))
	w.say(ada, "approvals")
	js := w.next(ada).JSON()
	mustContain(t, "approvals", js, "Waiting for your approval",
		"CHG0030001", "Change Request", "Upgrade the VPN concentrator firmware", "David Miller", "Moderate", "Planned",
		"CHG0030002", "High", "RITM0010001", "Requested Item", "Developer Laptop (Mac)", "Bob Smith", "RITM0010002", "Standing Desk",
		`"type":"Action.Execute"`, `"verb":"approve"`, `"verb":"reject"`, `"verb":"refresh"`, `"refresh"`, "Why do you reject it?")
	mustNotContain(t, "approvals", js, "REQ0010003") // Beth's
	if strings.Index(js, "RITM0010002") > strings.Index(js, "CHG0030001") {
		t.Error("not newest first")
	}
	calls := w.sn.Requests("/api/now/table/")[before:]
	if len(calls) != 3 {
		t.Errorf("%d Table API calls for a list of 4 approvals, want 3 (approvals, changes, requested items)", len(calls))
	}
	q := calls[0].Query
	if calls[0].Path != "/api/now/table/sysapproval_approver" || q.Get("sysparm_query") != "approver=javascript:gs.getUserID()^state=requested^ORDERBYDESCsys_created_on" ||
		!strings.Contains(q.Get("sysparm_fields"), "sysapproval.number") {
		t.Errorf("approvals read as %s %v", calls[0].Path, q)
	}
}

func TestApproveByButtonUpdatesTheCardInPlace(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	id := w.approvalID("CHG0030001", "ada.lovelace")
	status, resp := w.pressed(ada, "approve", map[string]any{"card": "approvals", "approval": id})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	card := jsonOf(invokeCard(t, resp))
	mustContain(t, "the list after approving", card, "Approved CHG0030001.", "RITM0010001")
	mustNotContain(t, "the list after approving", card, `"approval":"`+id+`"`)
	if a, _ := w.sn.ApprovalOf("CHG0030001", "ada.lovelace"); a.State != "approved" {
		t.Fatalf("approval is %s", a.State)
	}
	p := patchesOf(w.sn)
	if len(p) != 1 || jsonOf(bodyOf(t, p[0].Body)) != `{"state":"approved"}` || p[0].Bearer == "" {
		t.Fatalf("decided with %+v", p)
	}
	// The same button again (an old copy of the card): nothing is written twice.
	_, resp = w.pressed(ada, "approve", map[string]any{"card": "approval", "approval": id})
	mustContain(t, "the button again", jsonOf(invokeCard(t, resp)), "already approved by Ada Lovelace")
	if n := len(patchesOf(w.sn)); n != 1 {
		t.Fatalf("%d writes, want 1", n)
	}
	// A card shown again later refreshes itself: no buttons for a decided approval.
	_, resp = w.pressed(ada, "refresh", map[string]any{"card": "approval", "approval": id})
	c := jsonOf(invokeCard(t, resp))
	mustContain(t, "refreshed card", c, "Approved by Ada Lovelace on", "CHG0030001")
	mustNotContain(t, "refreshed card", c, `"verb":"approve"`)
	w.quiet(ada)
}

func bodyOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %q", s)
	}
	return m
}

func TestRejectByButtonNeedsAReason(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	id := w.approvalID("RITM0010002", "ada.lovelace")
	_, resp := w.pressed(ada, "reject", map[string]any{"card": "approval", "approval": id})
	if resp["statusCode"] != float64(400) || len(patchesOf(w.sn)) != 0 {
		t.Fatalf("reject without a reason: %v", resp)
	}
	_, resp = w.pressed(ada, "reject", map[string]any{"card": "approval", "approval": id, "reason-" + id: "Not in this quarter's budget."})
	card := jsonOf(invokeCard(t, resp))
	mustContain(t, "rejected card", card, "Rejected RITM0010002.", "Rejected by Ada Lovelace")
	a, _ := w.sn.ApprovalOf("RITM0010002", "ada.lovelace")
	if a.State != "rejected" || len(a.Comments) != 1 || a.Comments[0].Text != "Not in this quarter's budget." {
		t.Fatalf("approval %+v", a)
	}
}

func TestApproveAndRejectByCommand(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	w.say(ada, "approve chg0030001 Looks good, go ahead")
	reply := w.next(ada)
	mustContain(t, "typed approve", reply.Text(), "Approved CHG0030001.")
	mustContain(t, "typed approve", reply.JSON(), "Approved by Ada Lovelace")
	a, _ := w.sn.ApprovalOf("CHG0030001", "ada.lovelace")
	if a.State != "approved" || a.Comments[0].Text != "Looks good, go ahead" {
		t.Fatalf("approval %+v", a)
	}
	w.say(ada, "approve CHG0030001")
	mustContain(t, "approving twice", w.next(ada).Text(), "Nothing of yours waits for approval on CHG0030001")

	w.say(ada, "reject RITM0010001")
	mustContain(t, "reject without a reason", w.next(ada).Text(), "Why do you reject it?")
	w.say(ada, "reject RITM0010001 Use the standard laptop")
	mustContain(t, "typed reject", w.next(ada).Text(), "Rejected RITM0010001.")
	if a, _ := w.sn.ApprovalOf("RITM0010001", "ada.lovelace"); a.State != "rejected" {
		t.Fatalf("approval %+v", a)
	}

	// Numbers are letters then digits, and never widen a query.
	calls := len(w.sn.Requests("/api/now/table/"))
	for _, attempt := range []string{"approve CHG0030002^NQstate=requested", "approve CHG0030002^ORsysapproval.numberISNOTEMPTY", "reject javascript:gs.getUserID() no", "approve 12345"} {
		w.say(ada, attempt)
		mustContain(t, attempt, w.next(ada).Text(), "not a record number")
	}
	if n := len(w.sn.Requests("/api/now/table/")); n != calls {
		t.Fatalf("injection attempts reached ServiceNow (%d calls)", n-calls)
	}
}

func TestSomeoneElsesApprovalIsRefusedWithASignInCard(t *testing.T) {
	w := newWorld(t, nil)
	// Beth is an agent: she may read Ada's approval, but not decide it.
	w.signIn(bob, "beth.anglin", "approvals")
	id := w.approvalID("CHG0030001", "ada.lovelace")
	_, resp := w.pressed(bob, "approve", map[string]any{"card": "approval", "approval": id})
	card := jsonOf(invokeCard(t, resp))
	mustContain(t, "card after a refusal", card, "I could not decide it", `"verb":"approve"`)
	msg := w.next(bob)
	if signInURL(msg) == "" {
		t.Fatalf("no sign-in card after a 403: %s", msg.JSON())
	}
	mustContain(t, "sign-in card", msg.JSON(), "ACL Exception Update Failed")
	if a, _ := w.sn.ApprovalOf("CHG0030001", "ada.lovelace"); a.State != "requested" {
		t.Fatalf("someone else decided Ada's approval: %+v", a)
	}
	// Bob, who may not even see it, learns nothing about it.
	w.signIn(ada, "bob.smith", "approvals")
	_, resp = w.pressed(ada, "approve", map[string]any{"card": "approval", "approval": id})
	if resp["statusCode"] != float64(404) || strings.Contains(jsonOf(resp), "CHG0030001") {
		t.Fatalf("an unreadable approval: %v", resp)
	}
}

func TestAGroupApprovalDecidedByTheOtherApprover(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	w.signIn(bob, "beth.anglin", "approvals")
	w.say(bob, "approve CHG0030002 Fine by the CAB")
	mustContain(t, "Beth approves", w.next(bob).Text(), "Approved CHG0030002.")
	id := w.approvalID("CHG0030002", "ada.lovelace")
	writes := len(patchesOf(w.sn))
	_, resp := w.pressed(ada, "approve", map[string]any{"card": "approval", "approval": id})
	card := jsonOf(invokeCard(t, resp))
	mustContain(t, "Ada's card", card, "already no longer required")
	mustNotContain(t, "Ada's card", card, `"verb":"approve"`)
	if n := len(patchesOf(w.sn)); n != writes {
		t.Fatal("an approval no longer required was written")
	}
}

// A button whose approval id is not a sys_id, on the list card as on the
// single one, is refused before anything reaches ServiceNow.
func TestAButtonWithABadApprovalIDIsRefused(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "approvals")
	calls := len(w.sn.Requests("/api/now/table/"))
	for _, kind := range []string{"approvals", "approval"} {
		for _, id := range []string{"", "x^ORstate=requested", "CHG0030001"} {
			_, resp := w.pressed(ada, "approve", map[string]any{"card": kind, "approval": id})
			if resp["statusCode"] != float64(400) || !strings.Contains(jsonOf(resp), "not one snowbot knows") {
				t.Errorf("%s card, approval %q: %v", kind, id, resp)
			}
		}
	}
	if n := len(w.sn.Requests("/api/now/table/")); n != calls {
		t.Errorf("%d calls reached ServiceNow", n-calls)
	}
}
