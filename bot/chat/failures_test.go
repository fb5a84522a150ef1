package chat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"snowbot/auth"
	"snowbot/servicenow"
)

// Every failure is sorted once, and each surface answers it the same way: a
// card's button or refresh gets the status that fits (a 403 as a 403).
func TestEachFailureIsAnsweredAsWhatItIs(t *testing.T) {
	cases := []struct {
		err    error
		status int
		says   string
	}{
		{&servicenow.Error{Status: 403, Message: "Operation Failed", Detail: "ACL Exception"}, http.StatusForbidden, "ACL Exception"},
		{&servicenow.Error{Status: 404, Message: "No Record found"}, http.StatusNotFound, "not yours to see"},
		{&servicenow.Error{Status: 503}, http.StatusServiceUnavailable, "not answering"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "not answering"},
		{&servicenow.Error{Status: 429, RetryAfter: 30e9}, http.StatusServiceUnavailable, "in 30 seconds"},
		{auth.ErrSignInRequired, http.StatusUnauthorized, "Sign in"},
		{auth.ErrSessionEnded, http.StatusUnauthorized, "Sign in"},
		{fmt.Errorf("%w: down", auth.ErrUnavailable), http.StatusServiceUnavailable, "temporarily unavailable"},
		{&servicenow.Error{Status: 403, Detail: "Data Policy Exception: x"}, http.StatusBadRequest, "Data Policy"},
		{fmt.Errorf("%w: ^NQ (a new query) is not allowed", servicenow.ErrBadFilter), http.StatusBadRequest, "I can't use that filter: ^NQ (a new query) is not allowed."},
		{errors.New("a bug"), http.StatusInternalServerError, "something went wrong"},
	}
	for _, c := range cases {
		resp, said := classify(c.err).forCard()
		body := jsonOf(resp.Body)
		if !strings.Contains(body, fmt.Sprintf(`"statusCode":%d`, c.status)) || !strings.Contains(said, c.says) {
			t.Errorf("%v: %s (%q), want %d saying %q", c.err, body, said, c.status, c.says)
		}
	}
}

// The questions every surface asks of a failure are answered in one place.
func TestWhatAFailureMeansForWhatComesNext(t *testing.T) {
	refused := &servicenow.Error{Status: 400, Message: "Mandatory Variables are required"}
	for _, c := range []struct {
		err                                       error
		mustSignIn, refused, hidden, maybeWritten bool
	}{
		{auth.ErrSignInRequired, true, false, false, false},
		{auth.ErrMisconfigured, true, false, false, false},
		{auth.ErrServiceNowUnavailable, true, false, false, false},
		{fmt.Errorf("%w: %w", servicenow.ErrRejected, refused), false, true, false, false},
		{&servicenow.Error{Status: 403, Detail: "ACL Exception"}, false, true, true, false},
		{&servicenow.Error{Status: 404}, false, false, true, false},
		{&servicenow.Error{Status: 502}, false, false, false, true},
		{context.DeadlineExceeded, false, false, false, true},
		{&servicenow.Error{Status: 429}, false, false, false, false},
	} {
		f := classify(c.err)
		if f.mustSignIn() != c.mustSignIn || f.refusedByServiceNow() != c.refused || f.hiddenFromThem() != c.hidden || f.mayHaveGoneThrough() != c.maybeWritten {
			t.Errorf("%v: sign in %v, refused %v, hidden %v, may have gone through %v", c.err, f.mustSignIn(), f.refusedByServiceNow(), f.hiddenFromThem(), f.mayHaveGoneThrough())
		}
	}
}

// A card's refresh of an approval the person may not read is answered as
// that (404), not as ServiceNow not answering.
func TestARefreshOfAnUnreadableApprovalSaysSo(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(bob, "bob.smith", "approvals")
	id := w.approvalID("CHG0030001", "ada.lovelace")
	status, resp := w.pressed(bob, "refresh", map[string]any{"card": "approval", "approval": id})
	if status != http.StatusOK || resp["statusCode"] != float64(404) || strings.Contains(jsonOf(resp), "not answering") {
		t.Fatalf("refresh of someone else's approval: %d %v", status, resp)
	}
	// Where others may look (a forwarded card), nothing about anyone's approvals.
	a := w.activity(bob, "invoke")
	a.Name = "adaptiveCard/action"
	a.Conversation.ConversationType, a.Conversation.IsGroup = "groupChat", true
	a.Value = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "refresh", "data": map[string]any{"card": "approvals"}}}
	if r := jsonOf(w.invokeActivity(a).Body); !strings.Contains(r, `"statusCode":403`) || strings.Contains(r, "CHG") {
		t.Fatalf("refresh outside the 1:1 chat: %s", r)
	}
}
