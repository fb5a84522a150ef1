package chat

// Any record of any task table: by number, by link, by search.

import (
	"net/url"
	"strings"
	"testing"

	"snowbot/servicenow"
)

// Every default prefix finds its table, and the card shows the table's own
// key fields under the instance's labels.
func TestShowFindsARecordOfEveryTable(t *testing.T) {
	w := signedIn(t, nil)
	for number, want := range map[string][]string{
		"INC0010001":    {"Laptop does not connect", `"title":"Opened by","value":"Ada Lovelace"`},
		"CHG0030001":    {"Upgrade the VPN concentrator firmware", "Change Request", "Type", "Normal", "Risk", "Moderate", "Planned start date", "Planned end date"},
		"CTASK0010001":  {"Back up the concentrator", "Change Task"},
		"PRB0040001":    {"Recurring VPN disconnects", "Known error", "true"},
		"PTASK0010001":  {"Collect VPN client logs", "Problem Task"},
		"RITM0010001":   {"Developer Laptop (Mac)", "Requested Item", "Item", "Request", "REQ0010001", "Stage", "Waiting for Approval"},
		"REQ0010001":    {"Developer Laptop (Mac) for Bob", "Request"},
		"SCTASK0010001": {"Prepare the laptop", "Catalog Task", "Request item", "RITM0010001"},
		"TASK0010001":   {"Renew the TLS certificate"},
		"KB0010002":     {"Reset your VPN password"},
	} {
		w.say(ada, "show "+strings.ToLower(number))
		got := w.next(ada).JSON()
		mustContain(t, number, got, append(want, number)...)
		mustNotContain(t, number, got, "not found")
	}
	// A table's record links open that record.
	w.say(ada, "show CHG0030001")
	chg, _ := w.sn.Task("CHG0030001")
	mustContain(t, "the change's link", w.next(ada).JSON(), "change_request.do?sys_id="+chg.SysID)
}

// The card names fields as the instance labels them: an administrator's own
// label, read from the dictionary, not snowbot's English.
func TestARecordShowsTheInstancesOwnLabels(t *testing.T) {
	w := signedIn(t, nil)
	w.sn.Relabel("change_request", "risk", "Risk level")
	w.sn.Relabel("task", "opened_by", "Raised by")
	w.say(ada, "show CHG0030001")
	got := w.next(ada).JSON()
	mustContain(t, "the change", got, `"title":"Risk level"`)
	mustNotContain(t, "the change", got, `"title":"Risk"`)
	w.say(ada, "show SCTASK0010001")
	got = w.next(ada).JSON()
	mustContain(t, "the catalog task", got, `"title":"Raised by"`)
	mustNotContain(t, "the catalog task", got, "Opened by")
}

// A message that is only a number shows it; a question naming one too.
func TestABareNumberShowsTheRecord(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "chg0030002")
	mustContain(t, "a bare number", w.next(ada).JSON(), "CHG0030002", "Replace the core switch")
	w.say(ada, "what's the state of PRB0040001?")
	mustContain(t, "a question", w.next(ada).JSON(), "PRB0040001", "Root Cause Analysis")
}

// An unknown prefix is answered with the prefixes known; an administrator's
// own prefix works.
func TestAnUnknownPrefixNamesThoseKnown(t *testing.T) {
	w := signedIn(t, nil)
	for _, text := range []string{"show ABC0010001", "XYZ0010001", "approve XYZ0010001", "comment ABC0010001 hello"} {
		w.say(ada, text)
		got := w.next(ada).Text()
		mustContain(t, text, got, "I don't know records whose number starts like", "CHG, CTASK, INC, KB, PRB, PTASK, REQ, RITM, SCTASK, TASK", "SERVICENOW_NUMBER_PREFIXES")
	}
	w.say(ada, "show my incidents")
	mustContain(t, "a sentence", w.next(ada).Text(), "Did you mean **incidents**?")

	// An instance whose changes are numbered CHNG…: asked of change_request.
	w = newWorld(t, func(c *Conversation) {
		p, err := servicenow.ParsePrefixes("chng:change_request")
		if err != nil {
			t.Fatal(err)
		}
		c.Prefixes = p
	})
	w.signIn(ada, "ada.lovelace", "incidents")
	w.say(ada, "show CHNG0030001")
	mustContain(t, "an added prefix", w.next(ada).Text(), "CHNG0030001: not found")
	asked := w.sn.Requests("/api/now/table/change_request")
	if len(asked) == 0 || !strings.Contains(asked[len(asked)-1].Query.Get("sysparm_query"), "number=CHNG0030001") {
		t.Errorf("an added prefix was not asked of its table: %v", asked)
	}
}

// A record the person may not read says so and shows nothing of it: by
// number, and as a pasted link. A field they may not read is left out.
func TestARecordWithoutReadRightsLeaksNothing(t *testing.T) {
	w := signedIn(t, nil)
	private, _ := w.sn.Task("PRB0040002") // Beth's alone
	for _, u := range []user{ada, bob} {
		w.say(u, "show PRB0040002")
		got := w.next(u).JSON()
		mustContain(t, "a private problem", got, "PRB0040002: not found, or not yours to see.")
		mustNotContain(t, "a private problem", got, "Payroll", "salary")
		card := jsonOf(w.unfurl(u, w.sn.URL+"/problem.do?sys_id="+private.SysID, "").ComposeExtension.Attachments)
		mustContain(t, "a private problem's link", card, "Open in ServiceNow", private.SysID)
		mustNotContain(t, "a private problem's link", card, "Payroll", "salary", "PRB0040002")
	}
	// Bob opened PRB0040003 but may not read whether it is a known error.
	w.say(bob, "show PRB0040003")
	got := w.next(bob).JSON()
	mustContain(t, "Bob's problem", got, "PRB0040003", "Shared drive mapping", "State")
	mustNotContain(t, "Bob's problem", got, "Known error")
	w.say(ada, "show PRB0040003")
	mustContain(t, "Ada's view", w.next(ada).JSON(), "Known error")
}

// Every link shape unfolds for three tables; the record links the bot builds
// are of a shape it reads back.
func TestEveryLinkShapeUnfoldsForAnyTable(t *testing.T) {
	w := signedIn(t, nil)
	chg, _ := w.sn.Task("CHG0030001")
	prb, _ := w.sn.Task("PRB0040001")
	records := []struct{ table, id, number string }{
		{"incident", w.incidentID("INC0010001"), "INC0010001"},
		{"change_request", chg.SysID, "CHG0030001"},
		{"problem", prb.SysID, "PRB0040001"},
	}
	base := w.sn.URL
	for _, r := range records {
		for _, link := range []string{
			base + "/" + r.table + ".do?sys_id=" + r.id,
			base + "/nav_to.do?uri=" + r.table + ".do?sys_id=" + r.id,
			base + "/nav_to.do?uri=" + url.QueryEscape("/"+r.table+".do?sys_id="+r.id),
			base + "/now/nav/ui/classic/params/target/" + r.table + ".do%3Fsys_id%3D" + r.id,
			base + "/now/sow/record/" + r.table + "/" + r.id,
			base + "/sp?id=ticket&table=" + r.table + "&sys_id=" + r.id,
			base + "/esc?id=ticket&table=" + r.table + "&sys_id=" + r.id,
			w.c.ServiceNow.Links().Record(r.table, r.id),
		} {
			got := w.unfurl(ada, link, "")
			if len(got.ComposeExtension.Attachments) != 1 || !strings.Contains(jsonOf(got.ComposeExtension.Attachments[0].Content), r.number) {
				t.Errorf("%s: %s", link, got.json())
			}
		}
	}
}

// searchRecords finds changes and problems with incidents, the person's own
// first, and nothing they may not read.
func TestSearchingRecordsAcrossTables(t *testing.T) {
	w := signedIn(t, nil)
	got := w.search(ada, "searchRecords", "VPN", 0, 10, "").numbers()
	for _, want := range []string{"CHG0030001", "PRB0040001"} {
		if !contains(got, want) {
			t.Errorf("searching VPN: %v lacks %s", got, want)
		}
	}
	mustContain(t, "a number", strings.Join(w.search(ada, "searchRecords", "prb0040001", 0, 10, "").numbers(), " "), "PRB0040001")
	if got := w.search(ada, "searchRecords", "Payroll", 0, 10, "").numbers(); len(got) != 0 {
		t.Errorf("a private problem was found: %v", got)
	}
	// Ada's own come first: every record she opened, asked for or called
	// in before anyone else's (she is an agent and reads others' too).
	adaID := w.sn.User("ada.lovelace").SysID
	hers := func(number string) bool {
		if inc, ok := w.sn.Incident(number); ok {
			return inc.Caller == adaID
		}
		task, _ := w.sn.Task(number)
		return task.OpenedBy == adaID || task.RequestedFor == adaID
	}
	got = w.search(ada, "searchRecords", "", 0, 10, "").numbers()
	seenOther, own := false, 0
	for _, n := range got {
		switch {
		case !hers(n):
			seenOther = true
		case seenOther:
			t.Errorf("Ada's %s comes after someone else's: %v", n, got)
		default:
			own++
		}
	}
	if own == 0 || !seenOther {
		t.Errorf("Ada's search has %d of her own in %v", own, got)
	}
	// One Table API call per table searched.
	before := len(w.sn.Requests("/api/now/table/"))
	w.search(ada, "searchRecords", "switch", 0, 10, "")
	if n := len(w.sn.Requests("/api/now/table/")) - before; n != len(defaultSearchTables) {
		t.Errorf("%d Table API calls for one search of %d tables", n, len(defaultSearchTables))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// comment takes a record of any table, written with the person's token.
func TestCommentOnAnyRecord(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "comment chg0030001 The window moves to Friday")
	mustContain(t, "a change", w.next(ada).Text(), "Added your comment to CHG0030001.")
	if chg, _ := w.sn.Task("CHG0030001"); len(chg.Comments) != 1 || chg.Comments[0].Text != "The window moves to Friday" {
		t.Errorf("comments %v", chg.Comments)
	}
	w.say(bob, "comment PRB0040002 let me see")
	mustContain(t, "a private problem", w.next(bob).Text(), "PRB0040002: not found, or not yours to see.")
	w.say(bob, "comment RITM0010001")
	mustContain(t, "no text", w.next(bob).Text(), "What should the comment say?")
}
