// Command reference is the smallest Teams bot that does the unavoidable
// network work of snowbot's "incidents" turn, and nothing else: it verifies
// the channel's RS256 token on every turn, reads the person's incidents with
// one Table API GET (the same fields snowbot asks for), and posts one reply to
// the connector: with -reply card (the default) an Adaptive Card of the same
// purpose as snowbot's list (each incident's number linked, state, priority,
// short description and age, and a link to the list), with -reply text plain
// text. The side-by-side benchmark in package test runs it next to snowbot
// against the same fakes, as the yardstick of what the wire allows.
//
// usage: reference -port P -keys JWKS_URL -issuer ISS -audience APP_ID
//
//	-instance SERVICENOW_URL -sn-token TOKEN -bot-token TOKEN [-reply card|text]
package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	port := flag.Int("port", 0, "listen port")
	keysURL := flag.String("keys", "", "JWKS of the channel's signing keys")
	issuer := flag.String("issuer", "", "issuer of channel tokens")
	audience := flag.String("audience", "", "the bot's app id")
	instance := flag.String("instance", "", "ServiceNow instance URL")
	snToken := flag.String("sn-token", "", "a ServiceNow access token")
	botToken := flag.String("bot-token", "", "a bot token for the connector")
	replyAs := flag.String("reply", "card", "answer with a card, or with text")
	flag.Parse()

	keys, err := fetchKeys(*keysURL)
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, ForceAttemptHTTP2: true}}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(*issuer), jwt.WithAudience(*audience), jwt.WithLeeway(5*time.Minute))
	list := *instance + "/api/now/table/incident?" + url.Values{
		"sysparm_query":                  {"caller_id=javascript:gs.getUserID()^active=true^ORDERBYDESCsys_created_on"},
		"sysparm_fields":                 {"sys_id,number,short_description,state,priority,sys_updated_on"},
		"sysparm_limit":                  {"10"},
		"sysparm_display_value":          {"all"},
		"sysparm_exclude_reference_link": {"true"},
	}.Encode()

	http.HandleFunc("POST /api/messages", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok, err := parser.Parse(raw, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			if k, ok := keys[kid]; ok {
				return k, nil
			}
			return nil, fmt.Errorf("unknown kid %q", kid)
		})
		var a struct {
			ID           string `json:"id"`
			ServiceURL   string `json:"serviceUrl"`
			Conversation struct {
				ID string `json:"id"`
			} `json:"conversation"`
			From      json.RawMessage `json:"from"`
			Recipient json.RawMessage `json:"recipient"`
		}
		if err != nil || json.NewDecoder(r.Body).Decode(&a) != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if su, _ := tok.Claims.(jwt.MapClaims)["serviceurl"].(string); su != a.ServiceURL {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, list, nil)
			req.Header.Set("Authorization", "Bearer "+*snToken)
			req.Header.Set("Accept", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				log.Print(err)
				return
			}
			var out struct {
				Result []map[string]struct {
					Value        string `json:"value"`
					DisplayValue string `json:"display_value"`
				} `json:"result"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			reply := map[string]any{
				"type": "message", "replyToId": a.ID,
				"conversation": map[string]string{"id": a.Conversation.ID},
				"from":         a.Recipient, "recipient": a.From,
			}
			if *replyAs == "text" {
				var text strings.Builder
				for _, rec := range out.Result {
					fmt.Fprintf(&text, "%s %s (%s, %s)\n", rec["number"].DisplayValue, rec["short_description"].DisplayValue, rec["state"].DisplayValue, rec["priority"].DisplayValue)
				}
				reply["text"] = text.String()
			} else {
				body := []element{{Type: "TextBlock", Text: "Your open incidents", Size: "Large", Weight: "Bolder", Wrap: true}}
				for _, rec := range out.Result {
					link := *instance + "/nav_to.do?uri=incident.do?sys_id=" + rec["sys_id"].Value
					body = append(body, element{Type: "Container", Separator: true, Items: []element{
						{Type: "TextBlock", Wrap: true, Weight: "Bolder",
							Text: "[" + rec["number"].DisplayValue + "](" + link + ") · " + rec["state"].DisplayValue + " · " + rec["priority"].DisplayValue},
						{Type: "TextBlock", Wrap: true, Text: rec["short_description"].DisplayValue},
						{Type: "TextBlock", Wrap: true, IsSubtle: true, Size: "Small", Text: "updated " + rec["sys_updated_on"].DisplayValue},
					}})
				}
				reply["attachments"] = []attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card{
					Type: "AdaptiveCard", Version: "1.5", Body: body,
					Actions: []element{{Type: "Action.OpenUrl", Title: "All my incidents in ServiceNow", URL: *instance + "/incident_list.do"}},
				}}}
			}
			payload, _ := json.Marshal(reply)
			target := strings.TrimRight(a.ServiceURL, "/") + "/v3/conversations/" + url.PathEscape(a.Conversation.ID) + "/activities/" + url.PathEscape(a.ID)
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
			req.Header.Set("Authorization", "Bearer "+*botToken)
			req.Header.Set("Content-Type", "application/json")
			if resp, err = client.Do(req); err != nil {
				log.Print(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	})
	log.Fatal(http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", *port), nil))
}

// The card is written from structs, as a bot that cares for its CPU would.
type (
	attachment struct {
		ContentType string `json:"contentType"`
		Content     card   `json:"content"`
	}
	card struct {
		Type    string    `json:"type"`
		Version string    `json:"version"`
		Body    []element `json:"body"`
		Actions []element `json:"actions,omitempty"`
	}
	element struct {
		Type      string    `json:"type"`
		Text      string    `json:"text,omitempty"`
		Size      string    `json:"size,omitempty"`
		Weight    string    `json:"weight,omitempty"`
		IsSubtle  bool      `json:"isSubtle,omitempty"`
		Wrap      bool      `json:"wrap,omitempty"`
		Separator bool      `json:"separator,omitempty"`
		Items     []element `json:"items,omitempty"`
		Title     string    `json:"title,omitempty"`
		URL       string    `json:"url,omitempty"`
	}
)

// fetchKeys reads the RSA keys of a JWKS once.
func fetchKeys(u string) (map[string]*rsa.PublicKey, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}
