package cards

import (
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"
	"golang.org/x/net/html"

	"snowbot/servicenow"
)

// ShareVersion is the Adaptive Card version of the cards people put into
// conversations (search results, unfurled links): Teams renders link
// unfurling cards up to 1.3.
const ShareVersion = "1.3"

// maxSnippet bounds the text shown of an article.
const maxSnippet = 240

// ThumbnailType is the attachment type of a thumbnail card, which Teams shows
// as a search result's preview.
const ThumbnailType = "application/vnd.microsoft.card.thumbnail"

// Thumbnail is a search result's preview: a title, a subtitle and a line.
func Thumbnail(title, subtitle, text string) schema.Attachment {
	return schema.Attachment{ContentType: ThumbnailType, Content: map[string]string{"title": title, "subtitle": subtitle, "text": text}}
}

// IncidentShare is an incident as shared into a conversation: its number,
// title, state and priority, and the link.
func IncidentShare(v View, inc servicenow.Incident) Card {
	link := v.Links.Record("incident", inc.SysID)
	short := Plain(Clip(inc.ShortDescription, maxShort))
	return Card{
		Version: ShareVersion,
		Body: []Element{
			Title(Plain(inc.Number)),
			Heading(short),
			Facts(Fact{"State", label(inc.State)}, Fact{"Priority", label(inc.Priority)}),
		},
		Actions:  []Element{OpenURL("Open in ServiceNow", link)},
		Fallback: Plain(inc.Number) + ": " + short + " (" + label(inc.State) + ") " + link,
	}
}

// IncidentPreview is an incident as a search result shows it.
func IncidentPreview(inc servicenow.Incident) schema.Attachment {
	return Thumbnail(Plain(inc.Number)+" · "+label(inc.State), label(inc.Priority), Plain(Clip(inc.ShortDescription, maxShort)))
}

// ArticleShare is a knowledge article as shared into a conversation.
func ArticleShare(v View, a servicenow.Article) Card {
	link := v.Links.Article(a.Number)
	title, snippet := Plain(Clip(a.Title, maxShort)), Snippet(a.Text)
	return Card{
		Version:  ShareVersion,
		Body:     []Element{Title(Plain(a.Number)), Heading(title), Para(snippet)},
		Actions:  []Element{OpenURL("Open in ServiceNow", link)},
		Fallback: Plain(a.Number) + ": " + title + " " + link,
	}
}

// ArticlePreview is an article as a search result shows it.
func ArticlePreview(a servicenow.Article) schema.Attachment {
	return Thumbnail(Plain(a.Number), Plain(Clip(a.Title, maxShort)), Snippet(a.Text))
}

// Articles lists knowledge articles, each with its link and a snippet.
func Articles(v View, list []servicenow.Article) Card {
	body := []Element{Title("Knowledge articles")}
	var fb strings.Builder
	fb.WriteString("Knowledge articles:\n")
	for _, a := range list {
		link := v.Links.Article(a.Number)
		number, title, snippet := Plain(a.Number), Plain(Clip(a.Title, maxShort)), Snippet(a.Text)
		body = append(body, Element{Type: "Container", Separator: true, Items: []Element{
			{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: "[" + number + "](" + link + ") · " + title},
			Subtle(snippet),
		}})
		fb.WriteString("- " + number + ": " + title + " " + link + "\n")
	}
	return Card{Body: body, Fallback: fb.String()}
}

// LinkOnly is what an unfurled link shows to someone who may not read the
// record (or a record snowbot cannot show): the link, and nothing of the record.
func LinkOnly(url string) Card {
	return Card{
		Version:  ShareVersion,
		Body:     []Element{Subtle("A ServiceNow record. Open it to see what your account may see.")},
		Actions:  []Element{OpenURL("Open in ServiceNow", url)},
		Fallback: url,
	}
}

// blocks are the HTML elements that separate words.
var blocks = map[string]bool{"p": true, "br": true, "div": true, "li": true, "ul": true, "ol": true, "tr": true, "td": true, "th": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "table": true, "blockquote": true, "pre": true, "hr": true}

// Snippet is the start of an HTML text (a knowledge article's body) as plain
// text: markup dropped, entities decoded, white space collapsed, Markdown
// neutralised.
func Snippet(htmlText string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(htmlText))
	skip := 0 // inside <script> or <style>
	for b.Len() < 4*maxSnippet {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			return Plain(Clip(strings.Join(strings.Fields(b.String()), " "), maxSnippet))
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "script" || tag == "style":
				if tt == html.EndTagToken {
					skip = max(skip-1, 0)
				} else {
					skip++
				}
			case blocks[tag]:
				b.WriteByte(' ') // a paragraph or item ends a word; <b> or <a> does not
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
	return Plain(Clip(strings.Join(strings.Fields(b.String()), " "), maxSnippet))
}
