package cards

import (
	"strings"
	"testing"
)

func TestPlainNeutralisesMarkdown(t *testing.T) {
	cases := map[string]string{
		"[Your password expires - click here](https://evil.example/login)": `\[Your password expires - click here\]` + zwsp + `(https:` + zwsp + `//evil.example/login)`,
		"![pixel](https://evil.example/p.png)":                             `!` + zwsp + `\[pixel\]` + zwsp + `(https:` + zwsp + `//evil.example/p.png)`,
		"**URGENT** _now_ `code` ~~gone~~":                                 `\*\*URGENT\*\* \_now\_ \` + "`" + `code\` + "`" + ` \~\~gone\~\~`,
		"# Heading\n- item\n1. first\n> quote":                             "\\# Heading\n\\- item\n1\\. first\n\\> quote",
		"see www.evil.example or <https://x>":                              "see www" + zwsp + ".evil.example or \\<https:" + zwsp + "//x\\>",
		"Printer «3rd floor» says \"PC LOAD LETTER\" 🙂":                    "Printer «3rd floor» says \"PC LOAD LETTER\" 🙂",
	}
	for in, want := range cases {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q)\n got %q\nwant %q", in, got, want)
		}
	}
	if strings.Contains(Plain("a](b"), "](") {
		t.Error("link syntax survived")
	}
}

func TestPlainLeavesPlainTextAlone(t *testing.T) {
	for _, s := range []string{"Printer on 3rd floor jams.", "VPN disconnects every hour (since Monday).", "Ünïcødé, 🙂, «quotes»", "2 monitors, please."} {
		if needsEscaping(s) || Plain(s) != s {
			t.Errorf("Plain(%q) = %q", s, Plain(s))
		}
	}
	for _, s := range []string{"1. first", "  42) answer", "see WWW.example.com", "a*b"} {
		if !needsEscaping(s) {
			t.Errorf("needsEscaping(%q) = false", s)
		}
	}
}

func FuzzPlainIsNeededWheneverItChangesText(f *testing.F) {
	for _, s := range []string{"plain", "[a](b)", "1. x", "www.x", "a://b", "*x*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !needsEscaping(s) && escape(s) != s {
			t.Fatalf("needsEscaping(%q) is false, but escaping changes it to %q", s, escape(s))
		}
	})
}

func TestSnippetIsTheTextOfTheHTML(t *testing.T) {
	got := Snippet(`<h1>Title</h1><p>Open <b>Settings</b> &amp; choose <code>Corp</code>.</p><script>alert(1)</script><style>p{}</style><ul><li>one</li><li>two</li></ul>`)
	want := `Title Open Settings & choose Corp. one two`
	if got != want {
		t.Errorf("Snippet = %q, want %q", got, want)
	}
}
