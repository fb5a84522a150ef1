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
