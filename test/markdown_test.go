package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTextFromServiceNowIsShownAsText puts Markdown into what ServiceNow
// returns (a short description that is a link, a comment with an image and
// emphasis, a bare URL) and renders every card snowbot shows of it with a
// Markdown renderer that turns bare URLs into links, as Teams does. The only
// links left must be the ones snowbot builds, to the instance.
func TestTextFromServiceNowIsShownAsText(t *testing.T) {
	t.Parallel()
	w := signedIn(t, nil)
	phishing := "[Your password expires - click here](https://evil.example/login)"
	number := w.sn.AddIncident("ada.lovelace", phishing)
	if err := w.sn.ChangeIncident(number, "beth.anglin", map[string]string{"comments": "**URGENT** ![pixel](https://evil.example/p.png) see www.evil.example or https://evil.example/x\n# Heading\n1. one"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var files []string
	keep := func(name string, js string) {
		t.Helper()
		var body map[string]any
		_ = json.Unmarshal([]byte(js), &body)
		atts, _ := body["attachments"].([]any)
		if len(atts) == 0 {
			t.Fatalf("%s: no card in %s", name, js)
		}
		b, _ := json.Marshal(atts[0].(map[string]any)["content"])
		f := filepath.Join(dir, name+".json")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		mustContain(t, name, js, "Your password expires - click here")
	}
	w.say(ada, "incidents")
	keep("list", w.next(ada).JSON())
	w.say(ada, "incident "+number)
	detail := w.next(ada).JSON()
	keep("detail", detail)
	mustContain(t, "detail", detail, "URGENT", "evil.example/x")
	w.say(ada, "create "+phishing)
	keep("created", w.next(ada).JSON())

	out, err := nodeTool(t, "markdown-links.mjs", files...).Output()
	if err != nil {
		t.Fatalf("markdown-links.mjs: %v\n%s", err, out)
	}
	var results []struct {
		File     string
		Links    []string
		Images   []string
		Emphasis []string
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(files) {
		t.Fatalf("renderer output (%v): %s", err, out)
	}
	sawSnowbotLink := false
	for _, r := range results {
		for _, l := range r.Links {
			if !strings.HasPrefix(l, w.sn.URL+"/") {
				t.Errorf("%s: a link that snowbot did not build: %s", r.File, l)
			} else {
				sawSnowbotLink = true
			}
		}
		if len(r.Images) > 0 {
			t.Errorf("%s: images from ServiceNow's text: %v", r.File, r.Images)
		}
		for _, e := range r.Emphasis {
			if strings.Contains(e, "URGENT") {
				t.Errorf("%s: ServiceNow's text became bold: %q", r.File, e)
			}
		}
	}
	if !sawSnowbotLink {
		t.Error("no link at all: the check would pass for a renderer that makes no links")
	}
}
