package servicenow

import (
	"net/url"
	"strings"
)

// Links builds the addresses of the instance's UI that snowbot's cards link
// to: every link to a record is made here, beside the parsing of the links
// people paste.
type Links struct{ base string }

// Links are the links of the client's instance.
func (c *Client) Links() Links { return Links{base: c.base} }

// NewLinks are the links of the instance at instanceURL (no trailing slash).
func NewLinks(instanceURL string) Links { return Links{base: strings.TrimRight(instanceURL, "/")} }

// Record opens a record of any table: /nav_to.do?uri=<table>.do?sys_id=<id>,
// which works in the classic UI and the Next Experience alike. A table name
// that is not one (it comes from ServiceNow) links through task instead; an
// id that is not a sys_id gives "" (no link rather than a made-up one).
func (l Links) Record(table, sysID string) string {
	if !ValidSysID(sysID) {
		return ""
	}
	if table == "" || strings.Trim(table, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		table = "task"
	}
	return l.base + "/nav_to.do?uri=" + table + ".do?sys_id=" + strings.ToLower(sysID)
}

// Article opens a knowledge article by its number.
func (l Links) Article(number string) string {
	n, ok := ParseArticleNumber(number)
	if !ok {
		return ""
	}
	return l.base + "/kb_view.do?sysparm_article=" + n
}

// Ref is the link snowbot builds for a record a pasted link named.
func (l Links) Ref(ref RecordRef) string {
	switch {
	case ref.Number != "":
		return l.Article(ref.Number)
	case ref.Table == "kb_knowledge" && ValidSysID(ref.SysID):
		return l.base + "/kb_view.do?sys_kb_id=" + ref.SysID
	}
	return l.Record(ref.Table, ref.SysID)
}

// CatalogItem is the Service Portal's page to order an item, for items the
// bot cannot ask for in a card.
func (l Links) CatalogItem(sysID string) string {
	if !ValidSysID(sysID) {
		return ""
	}
	return l.base + "/sp?id=sc_cat_item&sys_id=" + strings.ToLower(sysID)
}

// MyOpenRequests is the list of the signed-in person's open requested items.
func (l Links) MyOpenRequests() string {
	return l.base + "/sc_req_item_list.do?sysparm_query=active%3Dtrue%5Erequested_for%3Djavascript:gs.getUserID()%5EORopened_by%3Djavascript:gs.getUserID()"
}

// MyOpenIncidents is the list of the signed-in person's open incidents.
func (l Links) MyOpenIncidents() string {
	return l.base + "/incident_list.do?sysparm_query=caller_id%3Djavascript:gs.getUserID()%5Eactive%3Dtrue"
}

// RecordRef names a record that a link of the instance's UI points to: a
// table and a sys_id, or for a knowledge article its number.
type RecordRef struct {
	Table  string // any table: incident, change_request, kb_knowledge, …
	SysID  string
	Number string // kb_knowledge only, when the link names the article by number
}

// ParseRecordURL reads a link to a record of the instance at instanceURL, of
// any table, in the shapes ServiceNow's interfaces produce:
//
//	/<table>.do?sys_id=…
//	/nav_to.do?uri=<table>.do?sys_id=… (the uri encoded or not)
//	/now/nav/ui/classic/params/target/<table>.do%3Fsys_id%3D…
//	/now/sow/record/<table>/<sys_id>             (Service Operations Workspace)
//	/sp?id=ticket&table=<table>&sys_id=…          (Service Portal; also /esc)
//	/kb_view.do?sysparm_article=KB… or ?sys_kb_id=…
//
// Anything else, another host, or an id that is not one is not a record: ok
// is false rather than a guess.
func ParseRecordURL(instanceURL, raw string) (ref RecordRef, ok bool) {
	instance, err := url.Parse(instanceURL)
	if err != nil {
		return RecordRef{}, false
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !strings.EqualFold(u.Hostname(), instance.Hostname()) || u.Port() != instance.Port() ||
		(u.Scheme != "https" && u.Scheme != instance.Scheme) {
		return RecordRef{}, false
	}
	return recordAt(u.Path, u.Query(), 0)
}

// recordAt reads a path and query of the UI; a wrapper (nav_to.do, the Next
// Experience's classic target) holds another one, read in turn.
func recordAt(path string, query url.Values, depth int) (RecordRef, bool) {
	if depth > 2 {
		return RecordRef{}, false
	}
	path = "/" + strings.TrimLeft(path, "/")
	switch {
	case path == "/kb_view.do":
		if n, ok := ParseArticleNumber(query.Get("sysparm_article")); ok {
			return RecordRef{Table: "kb_knowledge", Number: n}, true
		}
		return byID("kb_knowledge", query.Get("sys_kb_id"))
	case path == "/nav_to.do":
		return inner(query.Get("uri"), depth)
	case strings.HasPrefix(path, "/now/nav/ui/classic/params/target/"):
		return inner(strings.TrimPrefix(path, "/now/nav/ui/classic/params/target/"), depth)
	case strings.HasPrefix(path, "/now/sow/record/"):
		table, rest, _ := strings.Cut(strings.TrimPrefix(path, "/now/sow/record/"), "/")
		id, _, _ := strings.Cut(rest, "/")
		return byID(table, id)
	case path == "/sp" || path == "/esc" || path == "/sp/" || path == "/esc/":
		if query.Get("id") != "ticket" && query.Get("id") != "form" {
			return RecordRef{}, false
		}
		return byID(query.Get("table"), query.Get("sys_id"))
	case strings.HasSuffix(path, ".do") && strings.Count(path, "/") == 1:
		return byID(strings.TrimSuffix(strings.TrimPrefix(path, "/"), ".do"), query.Get("sys_id"))
	}
	return RecordRef{}, false
}

// inner reads a wrapped UI address such as "incident.do?sys_id=…", decoding
// it once more when it arrives encoded ("incident.do%3Fsys_id%3D…").
func inner(s string, depth int) (RecordRef, bool) {
	if !strings.Contains(s, "?") {
		if d, err := url.QueryUnescape(s); err == nil {
			s = d
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return RecordRef{}, false
	}
	return recordAt(u.Path, u.Query(), depth+1)
}

// byID is a record of table with id, when both are what they must be: a table
// name (not a list, not a page of the UI) and a sys_id.
func byID(table, id string) (RecordRef, bool) {
	if !tablePattern.MatchString(table) || strings.HasSuffix(table, "_list") || !ValidSysID(id) {
		return RecordRef{}, false
	}
	return RecordRef{Table: table, SysID: strings.ToLower(id)}, true
}
