package test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What deploy/servicenow ships is run for real: its business rules and script
// include, executed in Node against stand-ins for ServiceNow's server API,
// build requests that the running bot accepts (signature, headers, body) and
// that become the right notifications. Rules that must not fire do not.
func TestTheShippedBusinessRulesSendEventsTheBotTakes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	inc := w.sn.Incidents()[0] // INC0010001: Ada's, assigned to Beth
	adaID, beth := sysIDOf(t, w.sn, "ada.lovelace"), sysIDOf(t, w.sn, "beth.anglin")
	approval := approvalID(t, w.sn, "RITM0010001", "ada.lovelace")
	incident := map[string]any{"sys_id": inc.SysID, "number": inc.Number, "caller_id": adaID, "assigned_to": beth,
		"watch_list": sysIDOf(t, w.sn, "bob.smith") + ",someone.outside@example.com"}
	fixture := map[string]any{
		"properties": map[string]string{"snowbot.events_url": w.eventsURL(), "snowbot.webhook_secret": w.env["SERVICENOW_WEBHOOK_SECRET"]},
		"user":       beth,
		"records":    map[string]any{"incident": map[string]any{inc.SysID: incident}},
		"scenarios": []map[string]any{
			{"name": "state and priority change", "table": "incident", "operation": "update", "record": incident, "changed": []string{"state", "priority", "work_notes"}},
			{"name": "a comment", "table": "sys_journal_field", "operation": "insert",
				"record": map[string]any{"sys_id": strings.Repeat("5", 32), "name": "incident", "element": "comments", "element_id": inc.SysID, "value": "On it."}},
			{"name": "a work note", "table": "sys_journal_field", "operation": "insert",
				"record": map[string]any{"sys_id": strings.Repeat("6", 32), "name": "incident", "element": "work_notes", "element_id": inc.SysID}},
			{"name": "a description edit", "table": "incident", "operation": "update", "record": incident, "changed": []string{"description"}},
			{"name": "an approval requested", "table": "sysapproval_approver", "operation": "insert",
				"record": map[string]any{"sys_id": approval, "state": "requested", "approver": adaID}},
			{"name": "an approval decided", "table": "sysapproval_approver", "operation": "update",
				"record": map[string]any{"sys_id": approval, "state": "approved", "approver": adaID}, "changed": []string{"state"}},
			{"name": "self-check", "check": true},
		},
	}
	in, _ := json.Marshal(fixture)
	xmlPath, _ := filepath.Abs(filepath.Join("..", "deploy", "servicenow", "snowbot-update-set.xml"))
	cmd := nodeTool(t, "servicenow-rules.mjs", xmlPath)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the shipped scripts failed: %v\n%s", err, out)
	}
	var run struct {
		Sent []struct {
			Scenario, Rule, Endpoint, Method, Body string
			Headers                                map[string]string
		}
		Log []string
	}
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	perScenario := map[string]int{}
	for _, s := range run.Sent {
		perScenario[s.Scenario]++
	}
	for name, want := range map[string]int{"state and priority change": 2, "a comment": 1, "a work note": 0, "a description edit": 0,
		"an approval requested": 1, "an approval decided": 0, "self-check": 1} {
		if perScenario[name] != want {
			t.Errorf("%s: %d requests, want %d", name, perScenario[name], want)
		}
	}
	for _, s := range run.Sent {
		req, _ := http.NewRequest(s.Method, s.Endpoint, strings.NewReader(s.Body))
		for k, v := range s.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusAccepted
		if s.Rule == "check" {
			want = http.StatusBadRequest // signed right, and not an event
		}
		if resp.StatusCode != want {
			t.Errorf("%s (%s): the bot answered %d, want %d; body %s", s.Scenario, s.Rule, resp.StatusCode, want, s.Body)
		}
		if s.Rule != "check" {
			var e map[string]any
			_ = json.Unmarshal([]byte(s.Body), &e)
			if e["actor"] != beth || strings.Contains(s.Body, "someone.outside") {
				t.Errorf("%s: event %s", s.Scenario, s.Body)
			}
		}
	}
	// Ada hears once of the incident (the rules' events coalesce) and gets the approval card.
	first, second := w.next(ada), w.next(ada)
	mustContain(t, "Ada's notifications", headline(first)+"\n"+headline(second), "INC0010001: state, priority changed, and a new comment")
	mustContain(t, "Ada's notifications", first.JSON()+second.JSON(), "RITM0010001", `"verb":"approve"`)
	w.quiet(ada, 3*time.Second)
}
