package instance

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Article is a kb_knowledge record.
type Article struct {
	SysID, Number, Title string
	Text                 string // HTML, as the article editor stores it
	State                string // draft, published, retired
	ValidTo              time.Time
	AgentsOnly           bool // readable by agents (itil) only, as a "Can read" user criterion does
	Updated              time.Time
}

var articleStates = map[string]string{"draft": "Draft", "published": "Published", "retired": "Retired"}

func init() {
	tableFields["kb_knowledge"] = []string{"sys_id", "number", "short_description", "text", "workflow_state", "valid_to", "sys_updated_on"}
}

// seedKnowledge adds a few articles: published ones, one for agents only, a
// retired one, one past its valid-to date and a draft.
func (s *Instance) seedKnowledge(base time.Time) {
	year := 365 * 24 * time.Hour
	add := func(n int, title, text, state string, validTo time.Time, agents bool) {
		s.articles = append(s.articles, &Article{SysID: sysID("b0", n), Number: fmt.Sprintf("KB%07d", 10000+n), Title: title, Text: text,
			State: state, ValidTo: validTo, AgentsOnly: agents, Updated: base.Add(-time.Duration(n) * 24 * time.Hour)})
	}
	far := base.Add(10 * year)
	add(1, "Connect to the office Wi-Fi",
		"<p>Open <b>Settings</b> &gt; <i>Wi-Fi</i> and choose <code>Corp</code>. Sign in with your usual account.</p><p>If it keeps dropping, see [the portal](https://evil.example) or www.evil.example: they are not ours.</p>",
		"published", far, false)
	add(2, "Reset your VPN password",
		"<p>Go to the self-service portal and choose <b>Reset VPN password</b>. The VPN client asks for the new one at the next connection.</p>",
		"published", far, false)
	add(3, "Printer jams: clearing the paper path",
		"<ol><li>Open the front cover.</li><li>Pull the jammed paper out slowly.</li><li>Close the cover and print again.</li></ol>",
		"published", far, false)
	add(4, "Major incident escalation runbook (VPN outage)",
		"<p>Page the network on-call, open a bridge and post updates every 30 minutes.</p>",
		"published", far, true)
	add(5, "Set up the old VPN client",
		"<p>This client is no longer supported.</p>", "retired", far, false)
	add(6, "VPN client 4.2 known issues",
		"<p>Fixed in 4.3.</p>", "published", base.Add(-30*24*time.Hour), false)
	add(7, "Draft: new VPN gateway",
		"<p>Not published yet.</p>", "draft", far, false)
}

// canReadArticle: published, draft and retired articles alike are records;
// the "can read" criterion here is agents-only or everyone.
func canReadArticle(u *User, a *Article) bool { return !a.AgentsOnly || u.ITIL }

func (s *Instance) articleRecord(a *Article) record {
	return record{
		"sys_id":            plain(a.SysID),
		"number":            plain(a.Number),
		"short_description": plain(a.Title),
		"text":              plain(a.Text),
		"workflow_state":    {value: a.State, display: articleStates[a.State]},
		"valid_to":          {value: a.ValidTo.UTC().Format("2006-01-02"), display: a.ValidTo.UTC().Format("2006-01-02")},
		"sys_updated_on":    plain(a.Updated.UTC().Format(dateLayout)),
	}
}

func (s *Instance) articleRows(user *User) []record {
	var out []record
	for _, a := range s.articles {
		if canReadArticle(user, a) {
			out = append(out, s.articleRecord(a))
		}
	}
	return out
}

var tags = regexp.MustCompile(`<[^>]*>`)

// textMatches is the instance's keyword search (123TEXTQUERY321): every word
// appears in the record's text fields, markup aside.
func textMatches(get func(name string) string, words string) bool {
	text := strings.ToLower(get("number") + " " + get("short_description") + " " + tags.ReplaceAllString(get("text"), " ") + " " + get("description"))
	for _, w := range strings.Fields(strings.ToLower(words)) {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}
