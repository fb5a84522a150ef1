package servicenow

import (
	"fmt"
	"testing"
)

func TestParseRecordURL(t *testing.T) {
	const base = "https://acme.service-now.com"
	const id = "1c000000000000000000000000000001"
	good := map[string]RecordRef{
		base + "/incident.do?sys_id=" + id:                                            {Table: "incident", SysID: id},
		base + "/incident.do?sysparm_view=ess&sys_id=" + id:                           {Table: "incident", SysID: id},
		"https://ACME.service-now.com/incident.do?sys_id=" + id:                       {Table: "incident", SysID: id},
		base + "/nav_to.do?uri=incident.do?sys_id=" + id:                              {Table: "incident", SysID: id},
		base + "/nav_to.do?uri=%2Fincident.do%3Fsys_id%3D" + id:                       {Table: "incident", SysID: id},
		base + "/nav_to.do?uri=incident.do%253Fsys_id%253D" + id:                      {Table: "incident", SysID: id},
		base + "/now/nav/ui/classic/params/target/incident.do%3Fsys_id%3D" + id:       {Table: "incident", SysID: id},
		base + "/now/nav/ui/classic/params/target/incident.do%253Fsys_id%253D" + id:   {Table: "incident", SysID: id},
		base + "/now/sow/record/incident/" + id:                                       {Table: "incident", SysID: id},
		base + "/now/sow/record/incident/" + id + "/params/selected-tab-index/1":      {Table: "incident", SysID: id},
		base + "/kb_view.do?sysparm_article=kb0010001":                                {Table: "kb_knowledge", Number: "KB0010001"},
		base + "/kb_view.do?sys_kb_id=" + id:                                          {Table: "kb_knowledge", SysID: id},
		base + "/nav_to.do?uri=kb_view.do?sysparm_article=KB0010002":                  {Table: "kb_knowledge", Number: "KB0010002"},
		base + "/now/nav/ui/classic/params/target/kb_view.do%3Fsysparm_article%3DKB1": {Table: "kb_knowledge", Number: "KB1"},
		base + "/esc?id=ticket&table=incident&sys_id=" + id:                           {Table: "incident", SysID: id},
	}
	// Every shape, for any table.
	for _, table := range []string{"change_request", "problem", "sc_req_item"} {
		for _, shape := range []string{
			"/%s.do?sys_id=%s", "/nav_to.do?uri=%s.do?sys_id=%s", "/nav_to.do?uri=%%2F%s.do%%3Fsys_id%%3D%s",
			"/now/nav/ui/classic/params/target/%s.do%%3Fsys_id%%3D%s", "/now/sow/record/%s/%s",
		} {
			good[base+fmt.Sprintf(shape, table, id)] = RecordRef{Table: table, SysID: id}
		}
		good[base+"/sp?id=ticket&table="+table+"&sys_id="+id] = RecordRef{Table: table, SysID: id}
		good[base+"/esc?id=ticket&sys_id="+id+"&table="+table] = RecordRef{Table: table, SysID: id}
	}
	for raw, want := range good {
		got, ok := ParseRecordURL(base, raw)
		if !ok || got != want {
			t.Errorf("%s: %+v, %v", raw, got, ok)
		}
	}
	bad := []string{
		"https://evil.example/incident.do?sys_id=" + id,                       // another host
		"https://acme.service-now.com.evil.example/incident.do?sys_id=" + id,  // a look-alike
		"http://acme.service-now.com/incident.do?sys_id=" + id,                // plain http to an https instance
		base + "/incident.do?sys_id=../../etc",                                // not a sys_id
		base + "/incident.do?sys_id=" + id + "0",                              // too long
		base + "/incident_list.do?sys_id=" + id,                               // a list, not a record
		base + "/sp?id=kb_article&table=incident&sys_id=" + id,                // a portal page that is no ticket
		base + "/sp?id=ticket&table=Incident%20x&sys_id=" + id,                // not a table name
		base + "/nav_to.do?uri=https://evil.example/incident.do?sys_id=" + id, // a wrapped absolute URL
		base + "/nav_to.do?uri=nav_to.do?uri=nav_to.do?uri=nav_to.do?uri=incident.do?sys_id=" + id,
		base + "/kb_view.do?sysparm_article=KB0010001^ORnumberISNOTEMPTY",
		base + "/now/sow/record/problem/not-an-id",
		"not a url at all",
		base,
	}
	for _, raw := range bad {
		if got, ok := ParseRecordURL(base, raw); ok {
			t.Errorf("%s read as %+v", raw, got)
		}
	}
	// The demo instance is served over plain http on loopback.
	if _, ok := ParseRecordURL("http://127.0.0.1:8080", "http://127.0.0.1:8080/incident.do?sys_id="+id); !ok {
		t.Error("an http instance's own link")
	}
}

// Every link to a record is built here: a table name that is not one goes
// through task, an id that is not a sys_id gives no link at all.
func TestLinksAreBuiltInOnePlace(t *testing.T) {
	l := NewLinks("https://acme.service-now.com/")
	id := "0123456789abcdef0123456789ABCDEF"
	for got, want := range map[string]string{
		l.Record("change_request", id):  "https://acme.service-now.com/nav_to.do?uri=change_request.do?sys_id=0123456789abcdef0123456789abcdef",
		l.Record("x.do?evil=1", id):     "https://acme.service-now.com/nav_to.do?uri=task.do?sys_id=0123456789abcdef0123456789abcdef",
		l.Record("incident", "../x"):    "",
		l.Article("kb0010002"):          "https://acme.service-now.com/kb_view.do?sysparm_article=KB0010002",
		l.Ref(RecordRef{Number: "KB1"}): "https://acme.service-now.com/kb_view.do?sysparm_article=KB1",
		l.Ref(RecordRef{Table: "kb_knowledge", SysID: "0123456789abcdef0123456789abcdef"}): "https://acme.service-now.com/kb_view.do?sys_kb_id=0123456789abcdef0123456789abcdef",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
