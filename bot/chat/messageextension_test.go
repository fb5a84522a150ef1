package chat

// The message extension, in-process: searches, sign-in from the compose box,
// pasted links, and @mentions in group chats.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/servicenow/instance"
)

// composeAnswer is the answer to a message extension invoke.
type composeAnswer struct {
	ComposeExtension struct {
		Type             string `json:"type"`
		AttachmentLayout string `json:"attachmentLayout"`
		Text             string `json:"text"`
		Attachments      []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
			Preview     struct {
				ContentType string            `json:"contentType"`
				Content     map[string]string `json:"content"`
			} `json:"preview"`
		} `json:"attachments"`
		SuggestedActions struct {
			Actions []struct{ Type, Value, Title string } `json:"actions"`
		} `json:"suggestedActions"`
	} `json:"composeExtension"`
}

// search sends what Teams sends when u types into the message extension.
func (w *world) search(u user, command, text string, skip, count int, state string) composeAnswer {
	w.t.Helper()
	v := map[string]any{"commandId": command, "parameters": []map[string]any{{"name": "query", "value": text}},
		"queryOptions": map[string]any{"skip": skip, "count": count}}
	if state != "" {
		v["state"] = state
	}
	return w.compose(u, "composeExtension/query", v)
}

// unfurl sends what Teams sends when u pastes link into a message.
func (w *world) unfurl(u user, link, state string) composeAnswer {
	w.t.Helper()
	v := map[string]any{"url": link}
	if state != "" {
		v["state"] = state
	}
	return w.compose(u, "composeExtension/queryLink", v)
}

// numbers are the numbers of the results, in order.
func (a composeAnswer) numbers() []string {
	var out []string
	for _, at := range a.ComposeExtension.Attachments {
		out = append(out, strings.SplitN(at.Preview.Content["title"], " ", 2)[0])
	}
	return out
}

func (a composeAnswer) json() string { b, _ := json.Marshal(a); return string(b) }

// composeUser is a person of the same tenant with a 1:1 chat of their own.
func composeUser(name, id string) user {
	return user{ID: "29:1" + id, Name: name, ObjectID: "c0c0c0c0-0000-4000-8000-0000000000" + id[:2], Tenant: ada.Tenant, Conversation: "a:1" + id + "-personal"}
}

func TestSearchingIncidentsFromTheComposeBox(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")

	// Ada, an agent: her own first, then others', up to 10, each a card with a preview.
	first := w.search(ada, "searchIncidents", "", 0, 25, "")
	ce := first.ComposeExtension
	if ce.Type != "result" || ce.AttachmentLayout != "list" || len(ce.Attachments) != 10 {
		t.Fatalf("first page: %s", first.json())
	}
	own := map[string]bool{}
	for _, inc := range w.sn.Incidents() {
		if inc.Caller == w.sn.User("ada.lovelace").SysID {
			own[inc.Number] = true
		}
	}
	for i, n := range first.numbers() {
		if own[n] != (i < len(own)) {
			t.Errorf("result %d is %s: Ada's own incidents come first", i, n)
		}
	}
	a := ce.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content["type"] != "AdaptiveCard" || a.Content["version"] != "1.3" ||
		a.Preview.ContentType != "application/vnd.microsoft.card.thumbnail" || a.Preview.Content["text"] == "" {
		t.Errorf("result shape: %s", jsonOf(a))
	}
	mustContain(t, "an inserted card", jsonOf(a.Content), "Open in ServiceNow", "nav_to.do?uri=incident.do?sys_id=", `"title":"State"`)
	// The next page has the rest, none twice.
	second := w.search(ada, "searchIncidents", "", 10, 25, "")
	all := append(first.numbers(), second.numbers()...)
	seen := map[string]bool{}
	for _, n := range all {
		if seen[n] {
			t.Errorf("%s on two pages", n)
		}
		seen[n] = true
	}
	if len(all) != len(w.sn.Incidents()) {
		t.Errorf("%d results over two pages for %d incidents", len(all), len(w.sn.Incidents()))
	}
	// By number prefix, and by words.
	if got := w.search(ada, "searchIncidents", "inc001000", 0, 25, "").numbers(); len(got) != 9 {
		t.Errorf("INC001000…: %v", got)
	}
	if got := w.search(ada, "searchIncidents", "printer JAMS", 0, 25, "").numbers(); len(got) != 1 || got[0] != "INC0010002" {
		t.Errorf("printer jams: %v", got)
	}
	// Bob sees only what ServiceNow lets him read: his own.
	for _, n := range w.search(bob, "searchIncidents", "INC", 0, 25, "").numbers() {
		if inc, _ := w.sn.Incident(n); inc.Caller != w.sn.User("bob.smith").SysID {
			t.Errorf("Bob found %s, which is not his", n)
		}
	}
}

func TestSearchingKnowledge(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")

	// Published, current, and readable by the person: retired, expired and draft articles never.
	if got := strings.Join(w.search(bob, "searchKnowledge", "vpn", 0, 25, "").numbers(), " "); got != "KB0010002" {
		t.Errorf("Bob's vpn articles: %s", got)
	}
	if got := strings.Join(w.search(ada, "searchKnowledge", "vpn", 0, 25, "").numbers(), " "); !strings.Contains(got, "KB0010002") || !strings.Contains(got, "KB0010004") || strings.Count(got, "KB") != 2 {
		t.Errorf("Ada's vpn articles: %s", got)
	}
	// The keyword search goes first; the snippet is the text without its markup,
	// and the article's Markdown cannot make a link.
	before := len(w.sn.Requests("/api/now/table/kb_knowledge"))
	res := w.search(bob, "searchKnowledge", "wifi settings", 0, 25, "")
	calls := w.sn.Requests("/api/now/table/kb_knowledge")[before:]
	if len(calls) == 0 || !strings.Contains(calls[0].Query.Get("sysparm_query"), "123TEXTQUERY321=wifi settings") ||
		!strings.Contains(calls[0].Query.Get("sysparm_query"), "workflow_state=published^valid_to>=javascript:gs.beginningOfToday()") {
		t.Fatalf("knowledge read as %v", calls)
	}
	_ = res
	wifi := w.search(bob, "searchKnowledge", "office wi-fi", 0, 25, "")
	if got := wifi.numbers(); len(got) != 1 || got[0] != "KB0010001" {
		t.Fatalf("wi-fi: %v", got)
	}
	snippet := wifi.ComposeExtension.Attachments[0].Preview.Content["text"]
	mustContain(t, "snippet", snippet, "Open Settings", "Wi-Fi and choose Corp. Sign in")
	mustNotContain(t, "snippet", snippet, "<b>", "](https://evil.example)")
	mustNotContain(t, "inserted card", jsonOf(wifi.ComposeExtension.Attachments[0].Content), "](https://evil.example)", "<p>")

	// An instance without the keyword search: the title still finds it.
	w.sn.Configure(func(s *instance.Instance) { s.NoTextSearch = true })
	if got := w.search(bob, "searchKnowledge", "vpn password", 0, 25, "").numbers(); len(got) != 1 || got[0] != "KB0010002" {
		t.Errorf("without keyword search: %v", got)
	}

	// kb in the 1:1 chat: up to 5, with links.
	w.say(bob, "kb reset vpn")
	mustContain(t, "kb", w.next(bob).JSON(), "KB0010002", "Reset your VPN password", "kb_view.do?sysparm_article=KB0010002")
	w.say(bob, "kb")
	mustContain(t, "kb alone", w.next(bob).Text(), "kb vpn password")
	w.say(bob, "kb nothing-matches-this")
	mustContain(t, "kb without results", w.next(bob).Text(), "No published article matches")
}

// Someone without a token gets the sign-in link; Teams repeats the query with
// the code from the sign-in page, which binds like a typed code: for the same
// person only.
func TestSigningInFromTheComposeBox(t *testing.T) {
	w := newWorld(t, nil)
	auth := w.search(ada, "searchIncidents", "printer", 0, 25, "")
	ce := auth.ComposeExtension
	if ce.Type != "auth" || len(ce.SuggestedActions.Actions) != 1 || ce.SuggestedActions.Actions[0].Type != "openUrl" ||
		ce.SuggestedActions.Actions[0].Title != "Sign in to ServiceNow" || !strings.Contains(ce.SuggestedActions.Actions[0].Value, "/oauth_auth.do?") {
		t.Fatalf("not an auth answer: %s", auth.json())
	}
	code := w.codeFor(ce.SuggestedActions.Actions[0].Value, "ada.lovelace")

	// Bob's Teams cannot use Ada's code: he gets a sign-in of his own.
	if got := w.search(bob, "searchIncidents", "printer", 0, 25, code); got.ComposeExtension.Type != "auth" {
		t.Fatalf("Bob with Ada's code: %s", got.json())
	}
	// Ada's Teams repeats her query with the code: signed in, and the results follow.
	res := w.search(ada, "searchIncidents", "printer", 0, 25, code)
	if got := res.numbers(); res.ComposeExtension.Type != "result" || len(got) != 1 || got[0] != "INC0010002" {
		t.Fatalf("after sign-in: %s", res.json())
	}
	// Used once: a replay of the code binds nothing, and Ada, signed in
	// already, is not sent to sign in again: her results come.
	if got := w.search(ada, "searchIncidents", "printer", 0, 25, code); got.ComposeExtension.Type != "result" || len(got.numbers()) != 1 {
		t.Errorf("a replayed code of someone signed in: %s", got.json())
	}
	w.say(ada, "incidents")
	if signInURL(w.next(ada)) != "" {
		t.Error("not signed in after the compose sign-in")
	}
	// Wrong codes count as typed ones do.
	w2 := w.search(bob, "searchIncidents", "printer", 0, 25, "")
	bobs := w.codeFor(w2.ComposeExtension.SuggestedActions.Actions[0].Value, "bob.smith")
	wrong := "000000"
	if wrong == bobs {
		wrong = "111111"
	}
	if got := w.search(bob, "searchIncidents", "printer", 0, 25, wrong); !strings.Contains(got.ComposeExtension.Text, "4 tries left") {
		t.Errorf("a wrong code: %s", got.json())
	}
}

func TestPastedLinksUnfoldWithThePastersRights(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")
	base := w.sn.URL
	bobs := w.incidentID("INC0010007") // Bob's own
	adas := w.incidentID("INC0010001") // Ada's: Bob may not read it
	shapes := []string{
		base + "/incident.do?sys_id=%s",
		base + "/nav_to.do?uri=incident.do?sys_id=%s",
		base + "/nav_to.do?uri=" + url.QueryEscape("/incident.do?sys_id=") + "%s",
		base + "/now/nav/ui/classic/params/target/incident.do%%3Fsys_id%%3D%s",
		base + "/now/sow/record/incident/%s",
	}
	for _, shape := range shapes {
		link := strings.ReplaceAll(strings.ReplaceAll(shape, "%%", "\x00"), "%s", bobs)
		link = strings.ReplaceAll(link, "\x00", "%")
		got := w.unfurl(bob, link, "")
		ce := got.ComposeExtension
		if ce.Type != "result" || len(ce.Attachments) != 1 || !strings.Contains(jsonOf(ce.Attachments[0].Content), "INC0010007") ||
			ce.Attachments[0].Preview.ContentType == "" {
			t.Errorf("%s: %s", link, got.json())
		}
		if len(ce.SuggestedActions.Actions) != 1 || ce.SuggestedActions.Actions[0].Type != "setCachePolicy" {
			t.Errorf("%s: Teams may keep the card for others: %s", link, got.json())
		}
		// The same link to Ada's incident, pasted by Bob: the link and nothing else.
		forbidden := strings.ReplaceAll(link, bobs, adas)
		card := jsonOf(w.unfurl(bob, forbidden, "").ComposeExtension.Attachments)
		mustContain(t, "a forbidden link", card, "Open in ServiceNow", adas)
		mustNotContain(t, "a forbidden link", card, "INC0010001", "Laptop does not connect")
		// Pasted by Ada, who may read it: the card.
		mustContain(t, "Ada's link", jsonOf(w.unfurl(ada, forbidden, "").ComposeExtension.Attachments), "INC0010001", "Laptop does not connect")
	}
	// Knowledge articles, by number: readable, and for agents only.
	mustContain(t, "an article link", jsonOf(w.unfurl(bob, base+"/kb_view.do?sysparm_article=KB0010002", "").ComposeExtension.Attachments), "Reset your VPN password")
	agents := jsonOf(w.unfurl(bob, base+"/kb_view.do?sysparm_article=KB0010004", "").ComposeExtension.Attachments)
	mustNotContain(t, "an agents-only article", agents, "escalation", "runbook")
	mustContain(t, "an agents-only article", agents, "kb_view.do?sysparm_article=KB0010004")
	// Retired, expired and draft articles show as links only, as kb and search leave them out.
	for number, title := range map[string]string{"KB0010005": "old VPN client", "KB0010006": "known issues", "KB0010007": "new VPN gateway"} {
		for _, link := range []string{base + "/kb_view.do?sysparm_article=" + number, base + "/kb_view.do?sys_kb_id=" + articleID(number)} {
			card := jsonOf(w.unfurl(ada, link, "").ComposeExtension.Attachments)
			mustContain(t, "a link to "+number, card, "Open in ServiceNow")
			mustNotContain(t, "a link to "+number, card, title)
		}
	}
	// Unknown shapes and other hosts: no card, and nothing asked of ServiceNow.
	calls := len(w.sn.Requests("/api/now/table/"))
	for _, link := range []string{
		base + "/incident.do?sys_id=" + bobs + "^ORactive=true",
		base + "/kb_view.do?sysparm_article=KB0010002^ORnumberISNOTEMPTY",
		"https://evil.example/incident.do?sys_id=" + bobs,
		base + "/incident_list.do",
	} {
		if got := w.unfurl(bob, link, ""); len(got.ComposeExtension.Attachments) != 0 || got.ComposeExtension.Type != "result" {
			t.Errorf("%s: %s", link, got.json())
		}
	}
	if n := len(w.sn.Requests("/api/now/table/")) - calls; n != 0 {
		t.Errorf("%d Table API calls for links that are not records", n)
	}
	// Not signed in: the sign-in link, as for a search.
	if got := w.unfurl(composeUser("Chloé Zhang", "c1oe"), base+"/incident.do?sys_id="+bobs, ""); got.ComposeExtension.Type != "auth" {
		t.Errorf("not signed in: %s", got.json())
	}
}

// What is typed into the search never reaches ServiceNow as query syntax.
func TestSearchTextCannotChangeTheQuery(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(bob, "bob.smith", "incidents")
	calls := len(w.sn.Requests("/api/now/table/"))
	for _, text := range []string{"x^NQactive=true", "INC^ORcaller_idISNOTEMPTY", "javascript:gs.getUserID()"} {
		got := w.search(bob, "searchIncidents", text, 0, 25, "")
		if got.ComposeExtension.Type != "message" || len(got.ComposeExtension.Attachments) != 0 {
			t.Errorf("%q: %s", text, got.json())
		}
		w.search(bob, "searchKnowledge", text, 0, 25, "")
	}
	if n := len(w.sn.Requests("/api/now/table/")) - calls; n != 0 {
		t.Fatalf("%d Table API calls for unsafe search text", n)
	}
	w.say(bob, "kb vpn^NQworkflow_state=draft")
	mustContain(t, "kb with ^", w.next(bob).Text(), "leave out ^")
}

// @snowbot in a group chat: a short note in the group, the answer (or the
// sign-in card) in the person's 1:1 chat, created when needed.
func TestAGroupMentionIsAnsweredInTheOneToOneChat(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.run(w.inGroup(ada, "incidents"))
	conv := groupOf(ada)
	note := w.rec.messages(conv)
	if len(note) != 1 {
		t.Fatalf("%d messages in the group, want the note", len(note))
	}
	mustContain(t, "the group note", note[0].Text(), "1:1 chat")
	mustContain(t, "Ada's 1:1 answer", w.next(ada).JSON(), "Your open incidents", "INC0010001")
	// Bob is not signed in: his sign-in card goes to his 1:1 chat, never to the group.
	w.run(w.inGroup(bob, "approvals"))
	bobsGroup := groupOf(bob)
	if len(w.rec.messages(bobsGroup)) != 1 {
		t.Fatal("no note in Bob's group")
	}
	if signInURL(w.next(bob)) == "" {
		t.Fatal("no sign-in card in Bob's 1:1 chat")
	}
	for _, c := range []string{conv, bobsGroup} {
		for _, m := range w.rec.messages(c) {
			mustNotContain(t, "the group", m.JSON(), "oauth_auth.do", "INC0010001", "Waiting for your approval")
		}
	}
	// The 1:1 chat was asked for as Teams expects: the person, the bot, the tenant.
	if opened := w.rec.openedChats(); len(opened) != 2 || opened[1] != "29:1bob@"+ada.Tenant {
		t.Errorf("conversations created: %v", opened)
	}
	// help is for everyone: answered in the group.
	w.run(w.inGroup(bob, "help"))
	if got := w.rec.messages(bobsGroup); len(got) != 2 || !strings.Contains(got[1].JSON(), "incidents") {
		t.Errorf("help in the group: %v", got)
	}
}

// A card inserted from the search and sent in the 1:1 chat reaches the bot as
// a message of markup and an attachment: it is not a command.
func TestASharedCardIsNotACommand(t *testing.T) {
	w := newWorld(t, nil)
	card := schema.Attachment{ContentType: "application/vnd.microsoft.card.adaptive", Content: map[string]any{"type": "AdaptiveCard", "version": "1.3", "body": []any{}}}
	a := w.activity(ada, schema.Message)
	a.Text = `<span class="inline-compose-card" itemid="0" itemtype="http://schema.skype.com/InputExtension"><span itemprop="cardId"></span></span>`
	a.Attachments = []schema.Attachment{card}
	w.run(a)
	w.quiet(ada)
	// Words with a card are still read.
	b := w.activity(ada, schema.Message)
	b.Text, b.Attachments = "help", a.Attachments
	w.run(b)
	mustContain(t, "help with a card", w.next(ada).JSON(), "What I can do")
}

// articleID is the sys_id the demo instance gives knowledge article KB00100nn.
func articleID(number string) string {
	n, _ := strconv.Atoi(strings.TrimPrefix(number, "KB00100"))
	return fmt.Sprintf("b0%030d", n)
}

func (w *world) compose(u user, name string, v map[string]any) composeAnswer {
	w.t.Helper()
	r := w.invoke(u, name, v)
	var a composeAnswer
	if (r.Status != 0 && r.Status != 200) || json.Unmarshal([]byte(jsonOf(r.Body)), &a) != nil {
		w.t.Fatalf("%s answered %d: %s", name, r.Status, jsonOf(r.Body))
	}
	return a
}

// groupOf is the group chat where u mentions the bot.
func groupOf(u user) string { return "19:group-" + u.ID + "@thread.v2" }

// inGroup is a message from u in a group chat where the bot is mentioned.
func (w *world) inGroup(u user, text string) schema.Activity {
	a := w.activity(u, schema.Message)
	a.Text = "<at>snowbot</at> " + text
	a.Conversation = schema.ConversationAccount{ID: groupOf(u), ConversationType: "groupChat", IsGroup: true, TenantID: u.Tenant}
	return a
}
