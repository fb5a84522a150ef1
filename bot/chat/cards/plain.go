package cards

import (
	"regexp"
	"strings"
)

// zwsp is a zero-width space: invisible, and no Markdown parser reads syntax
// across it.
const zwsp = "\u200b"

var (
	// inlineSyntax are the characters that start emphasis, code, links and HTML.
	inlineSyntax = strings.NewReplacer(
		`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `~`, `\~`,
		`[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`, `|`, `\|`,
	)
	// blockMarker and listNumber make a line a heading, list or rule.
	blockMarker = regexp.MustCompile(`(?m)^([ \t]*)([#=+-])`)
	listNumber  = regexp.MustCompile(`(?m)^([ \t]*)(\d+)([.)])`)
	// bareLink is what linkifiers turn into links without any Markdown.
	bareLink = regexp.MustCompile(`(?i)(://|\bwww\.)`)
)

// Plain makes text from ServiceNow (short descriptions, comments, names, error
// messages) show in a card or a Markdown message as exactly the text it is.
// Teams renders Markdown in TextBlocks, so a short description such as
// "[Reset your password](https://evil.example)" would otherwise become a link
// that seems to come from snowbot. The only links in snowbot's cards are the
// ones snowbot builds.
//
// Markdown characters are escaped with backslashes (CommonMark), and because
// not every Teams client honours escapes, link, image and bare-URL syntax is
// also broken with zero-width spaces, which every client leaves alone.
func Plain(s string) string {
	if !needsEscaping(s) {
		return s // most text: nothing that Markdown or a linkifier would read
	}
	return escape(s)
}

// escape is Plain's work on text that needs it.
func escape(s string) string {
	s = inlineSyntax.Replace(s)
	s = blockMarker.ReplaceAllString(s, `$1\$2`)
	s = listNumber.ReplaceAllString(s, `$1$2\$3`)
	s = strings.ReplaceAll(s, `\](`, `\]`+zwsp+`(`)
	s = strings.ReplaceAll(s, `!\[`, `!`+zwsp+`\[`)
	return bareLink.ReplaceAllStringFunc(s, func(m string) string {
		if m == "://" {
			return ":" + zwsp + "//"
		}
		return m[:3] + zwsp + m[3:]
	})
}

// needsEscaping reports whether Plain would change s, in one pass over it.
func needsEscaping(s string) bool {
	if strings.ContainsAny(s, "\\`*_~[]<>|") || strings.Contains(s, "://") {
		return true
	}
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == 'w' || c == 'W') && len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "www.") {
			return true
		}
		if !lineStart {
			lineStart = c == '\n'
			continue
		}
		switch {
		case c == ' ' || c == '\t':
		case c == '#' || c == '=' || c == '+' || c == '-':
			return true
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j < len(s) && (s[j] == '.' || s[j] == ')') {
				return true
			}
			lineStart = false
		default:
			lineStart = c == '\n'
		}
	}
	return false
}
