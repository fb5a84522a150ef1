package bot

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Text is the message as plain text, as a person reads it in Teams: the
// words of its HTML with paragraphs and lines kept, a link's text followed by
// its address, a mention as the name mentioned, an emoji as itself.
func (m ActionMessage) Text() string {
	if m.ContentType == "text" {
		return tidyLines(m.HTML)
	}
	root, err := html.Parse(strings.NewReader(m.HTML))
	if err != nil {
		return tidyLines(m.HTML) // x/net/html reads anything; this is belt and braces
	}
	var w textWriter
	w.walk(root)
	return tidyLines(w.b.String())
}

// paragraphs are elements that stand apart with a blank line; lines are
// elements that start a line of their own.
var (
	paragraphs = map[atom.Atom]bool{atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
		atom.H6: true, atom.Blockquote: true, atom.Pre: true, atom.Ul: true, atom.Ol: true, atom.Table: true, atom.Hr: true}
	lines = map[atom.Atom]bool{atom.Div: true, atom.Li: true, atom.Tr: true, atom.Br: true}
)

// textWriter gathers the text of an HTML tree.
type textWriter struct {
	b        strings.Builder
	pre      int // inside <pre>: whitespace is kept
	newlines int // how many line breaks the text ends with
}

// breakLines ends the text with at least n line breaks (1: a new line, 2: a
// blank line), however many elements end and start there.
func (w *textWriter) breakLines(n int) {
	for ; w.newlines < n; w.newlines++ {
		w.b.WriteByte('\n')
	}
}

func (w *textWriter) write(s string) {
	if s == "" || (s == " " && w.newlines > 0) {
		return // nothing, or the space between two blocks
	}
	w.b.WriteString(s)
	w.newlines = 0
}

func (w *textWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
		switch {
		case n.DataAtom == atom.Script || n.DataAtom == atom.Style || n.DataAtom == atom.Head:
			return
		case n.Data == "attachment":
			return // a file or a quoted message Teams shows apart: not this message's words
		case n.DataAtom == atom.Img || n.Data == "emoji":
			w.text(attr(n, "alt"))
			return
		case paragraphs[n.DataAtom]:
			w.breakLines(2)
			defer w.breakLines(2)
		case lines[n.DataAtom]:
			w.breakLines(1)
			if n.DataAtom != atom.Br {
				defer w.breakLines(1)
			}
		}
		if n.DataAtom == atom.Li {
			w.write("- ")
		}
		if n.DataAtom == atom.Pre {
			w.pre++
			defer func() { w.pre-- }()
		}
		if n.DataAtom == atom.A {
			w.link(n)
			return
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
}

// link writes a link's text and then, unless the text is the address
// already, the address in parentheses.
func (w *textWriter) link(n *html.Node) {
	start := w.b.Len()
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
	href := strings.TrimSpace(attr(n, "href"))
	if !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "mailto:") {
		return // nothing a reader could follow
	}
	shown := strings.TrimSpace(w.b.String()[start:])
	if shown == href || "mailto:"+shown == href || strings.TrimSuffix(href, "/") == shown {
		return
	}
	if shown == "" {
		w.write(href)
		return
	}
	w.write(" (" + href + ")")
}

var spaces = regexp.MustCompile(`[ \t\r\n\f\x{00a0}]+`)

// text writes a text node, its whitespace collapsed as a browser shows it.
func (w *textWriter) text(s string) {
	if w.pre > 0 {
		w.write(strings.ReplaceAll(s, "\u00a0", " "))
		return
	}
	w.write(spaces.ReplaceAllString(s, " "))
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// tidyLines trims each line and keeps at most one blank line in a row.
func tidyLines(s string) string {
	var out []string
	blank := true // no blank lines at the start
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(strings.ReplaceAll(line, "\u00a0", " "))
		if line == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, line)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
