package test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowbot/test/fakebotframework"
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
	chg, _ := w.sn.Task("CHG0030001")
	prb, _ := w.sn.Task("PRB0040003")
	change := map[string]any{"sys_id": chg.SysID, "number": chg.Number, "assigned_to": sysIDOf(t, w.sn, "david.miller"), "watch_list": adaID}
	problem := map[string]any{"sys_id": prb.SysID, "number": prb.Number, "assigned_to": ""}
	ritm, _ := w.sn.Task("RITM0010001")
	sctask, _ := w.sn.Task("SCTASK0010001")
	requested := map[string]any{"sys_id": ritm.SysID, "number": ritm.Number, "assigned_to": beth, "watch_list": sysIDOf(t, w.sn, "bob.smith")}
	catalogTask := map[string]any{"sys_id": sctask.SysID, "number": sctask.Number, "assigned_to": beth}
	fixture := map[string]any{
		"properties": map[string]string{"snowbot.events_url": w.eventsURL(), "snowbot.webhook_secret": w.env["SERVICENOW_WEBHOOK_SECRET"]},
		"user":       beth,
		"records":    map[string]any{"incident": map[string]any{inc.SysID: incident}},
		"scenarios": []map[string]any{
			{"name": "state and priority change", "table": "incident", "operation": "update", "record": incident, "changed": []string{"state", "priority", "work_notes"}},
			{"name": "a comment", "table": "incident", "operation": "update", "record": incident, "changed": []string{"comments"}},
			{"name": "a work note", "table": "incident", "operation": "update", "record": incident, "changed": []string{"work_notes"}},
			{"name": "a description edit", "table": "incident", "operation": "update", "record": incident, "changed": []string{"description"}},
			{"name": "a new change", "table": "change_request", "operation": "insert", "record": change},
			{"name": "a problem nobody is assigned", "table": "problem", "operation": "update", "record": problem, "changed": []string{"state"}},
			{"name": "a requested item commented", "table": "sc_req_item", "operation": "update", "record": requested, "changed": []string{"comments"}},
			{"name": "a new catalog task", "table": "sc_task", "operation": "insert", "record": catalogTask},
			{"name": "a journal entry", "table": "sys_journal_field", "operation": "insert",
				"record": map[string]any{"sys_id": strings.Repeat("5", 32), "name": "incident", "element": "comments", "element_id": inc.SysID}},
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
			Async                                  bool
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
	for name, want := range map[string]int{"state and priority change": 1, "a comment": 1, "a work note": 0, "a description edit": 0,
		"a new change": 1, "a problem nobody is assigned": 1, "a requested item commented": 1, "a new catalog task": 1, "a journal entry": 0, "an approval requested": 1, "an approval decided": 0, "self-check": 1} {
		if perScenario[name] != want {
			t.Errorf("%s: %d requests, want %d", name, perScenario[name], want)
		}
	}
	events := map[string]string{}
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
			if !s.Async {
				t.Errorf("%s: sent waiting for the answer: a bot outage would hold ServiceNow's worker", s.Scenario)
			}
		}
		events[s.Scenario] = s.Body
	}
	for scenario, want := range map[string]string{
		"state and priority change":    `"event":"updated"`,
		"a comment":                    `"event":"commented"`,
		"a new change":                 `"table":"change_request"`,
		"a problem nobody is assigned": `"recipients":[]`,
		"a requested item commented":   `"event":"commented"`,
		"a new catalog task":           `"event":"created"`,
	} {
		mustContain(t, scenario, events[scenario], want)
	}
	mustContain(t, "the change's recipients", events["a new change"], `"event":"created"`, sysIDOf(t, w.sn, "david.miller"), adaID)
	// Ada hears once of the incident (its events coalesce), of the change
	// whose watch list names her, and gets the approval card.
	got := []fakebotframework.Activity{w.next(ada), w.next(ada), w.next(ada)}
	all, heads := "", ""
	for _, m := range got {
		all, heads = all+m.JSON(), heads+headline(m)+"\n"
	}
	mustContain(t, "Ada's notifications", heads, "INC0010001: state, priority changed, and a new comment", "New change request CHG0030001")
	mustContain(t, "Ada's notifications", all, "RITM0010001", `"verb":"approve"`)
	w.quiet(ada, 3*time.Second)
}
