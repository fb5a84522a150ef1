package bot

import "testing"

func TestMessageTextReadsTeamsHTML(t *testing.T) {
	for _, c := range []struct{ name, html, want string }{
		{"bold, link, mention and two paragraphs",
			`<p>The <strong>printer</strong> on floor 3 is down, see <a href="https://status.example.com/p3">the status page</a>.</p><p>cc <at id="0">Ada Lovelace</at>&nbsp;&amp; team</p>`,
			"The printer on floor 3 is down, see the status page (https://status.example.com/p3).\n\ncc Ada Lovelace & team"},
		{"a bare link is written once", `<div>See <a href="https://x.example/a">https://x.example/a</a></div>`, "See https://x.example/a"},
		{"lines, lists and emoji", `<div>one<br>two</div><ul><li>a</li><li>b</li></ul><emoji alt="🙂"></emoji>`, "one\ntwo\n\n- a\n- b\n\n🙂"},
		{"script, style and attachments are not words", `<p>hi</p><script>alert(1)</script><style>p{}</style><attachment id="1"></attachment>`, "hi"},
		{"a link that goes nowhere keeps its text", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"plain text that looks like markup", "", ""},
	} {
		if got := (ActionMessage{HTML: c.html}).Text(); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if got := (ActionMessage{HTML: "a < b\n\n\n c", ContentType: "text"}).Text(); got != "a < b\n\nc" {
		t.Errorf("text body: got %q", got)
	}
}
