package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCommand(t *testing.T) {
	cases := []struct{ in, name, rest string }{
		{"help", "help", ""},
		{"  HELP  ", "help", ""},
		{"<at>snowbot</at> incidents", "incidents", ""},
		{"<at>snow bot</at>&nbsp;Incident INC0010001", "incident", "INC0010001"},
		{"<at>a</at> <at>b</at> create Printer \"3rd floor\"\nis broken", "create", "Printer \"3rd floor\"\nis broken"},
		{"comment INC1 ünïcødé ^OR =x", "comment", "INC1 ünïcødé ^OR =x"},
		{"", "", ""},
	}
	for _, c := range cases {
		name, rest := ParseCommand(c.in)
		if name != c.name || rest != c.rest {
			t.Errorf("ParseCommand(%q) = %q, %q; want %q, %q", c.in, name, rest, c.name, c.rest)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"help", "<at>bot</at> create x\ny", "resolve INC0010001 done ^NQactive=true", " \u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, rest := ParseCommand(s)
		if strings.ContainsFunc(name, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }) {
			t.Fatalf("command name %q contains white space", name)
		}
		if name != strings.ToLower(name) && utf8.ValidString(name) {
			t.Fatalf("command name %q is not lower case", name)
		}
		if name == "" && rest != "" {
			t.Fatalf("arguments %q without a command", rest)
		}
		if rest != "" && !strings.Contains(s, rest) {
			t.Fatalf("arguments %q are not the user's text", rest)
		}
	})
}
