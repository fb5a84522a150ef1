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
