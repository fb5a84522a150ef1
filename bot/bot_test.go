package bot

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestFromLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "10.0.0.4:5000": false, "garbage": false} {
		r := &http.Request{RemoteAddr: addr}
		if got := fromLoopback(r); got != want {
			t.Errorf("fromLoopback(%s) = %v", addr, got)
		}
	}
}

// A message extension's result always carries its attachments, an empty
// array when nothing matched or a link is not a record: Teams takes an
// answer without them for a broken app.
func TestAnEmptyComposeResultCarriesItsAttachments(t *testing.T) {
	for name, r := range map[string]InvokeResponse{"search": ComposeResults(nil), "unfurl": ComposeUnfurl(nil)} {
		b, err := json.Marshal(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"composeExtension":{"type":"result","attachmentLayout":"list","attachments":[]}}`; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	b, _ := json.Marshal(ComposeUnfurl(&ComposeAttachment{ContentType: "x"}).Body)
	if !strings.Contains(string(b), `"attachments":[{"contentType":"x"`) {
		t.Errorf("an unfurl with a card: %s", b)
	}
}
