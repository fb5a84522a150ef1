package bot

// This file is the invokes: what each one the bot answers carries, read once
// here into a typed value, and the answers it may get, written to the HTTP
// response.

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// SigninState is the value of signin/verifyState: what Teams' sign-in
// pop-up was handed by the page it opened (snowbot's page hands it the code).
type SigninState struct {
	State string `json:"state"`
}

// CardAction is an Action.Execute of a card (adaptiveCard/action): its verb,
// and its data merged with the card's inputs (the string values of it).
type CardAction struct {
	Verb string
	Data map[string]string
}

// ComposeQuery is a search of the message extension (composeExtension/query).
type ComposeQuery struct {
	CommandID  string
	Parameters map[string]string // by name; "" for Teams' initial run
	Skip       int               // the page Teams asks for
	Count      int
	State      string // what a sign-in page handed Teams, on a repeated query
}

// ComposeLink is a link pasted into a message (composeExtension/queryLink).
type ComposeLink struct {
	URL   string `json:"url"`
	State string `json:"state"`
}

// ComposeAction is a message action's invoke: composeExtension/fetchTask
// (the person chose the action: its form is asked for) or
// composeExtension/submitAction (the form was sent).
type ComposeAction struct {
	CommandID string
	Context   string            // where it was started: message, compose or commandbox
	Message   ActionMessage     // the message it was started on (Context message)
	Data      map[string]string // what the form sent (submitAction), its strings
	State     string            // what a sign-in page handed Teams, on a repeated fetchTask
}

// ActionMessage is the message a message action was started on.
type ActionMessage struct {
	ID          string
	HTML        string // its body, as Teams holds it: HTML, unless ContentType is "text"
	ContentType string
	Author      string // the display name of who wrote it
	Created     time.Time
	Link        string // linkToMessage: where the message is in Teams
}

func readComposeAction(value map[string]any) (ComposeAction, error) {
	var wire struct {
		CommandID      string         `json:"commandId"`
		CommandContext string         `json:"commandContext"`
		Data           map[string]any `json:"data"`
		State          string         `json:"state"`
		Payload        struct {
			ID      string    `json:"id"`
			Created time.Time `json:"createdDateTime"`
			Body    struct {
				Content     string `json:"content"`
				ContentType string `json:"contentType"`
			} `json:"body"`
			From struct {
				User struct {
					DisplayName string `json:"displayName"`
				} `json:"user"`
			} `json:"from"`
			Link string `json:"linkToMessage"`
		} `json:"messagePayload"`
	}
	if err := decodeValue(value, &wire); err != nil {
		return ComposeAction{}, err
	}
	p := wire.Payload
	a := ComposeAction{CommandID: wire.CommandID, Context: wire.CommandContext, State: wire.State, Data: map[string]string{},
		Message: ActionMessage{ID: p.ID, HTML: p.Body.Content, ContentType: p.Body.ContentType, Author: p.From.User.DisplayName, Created: p.Created, Link: p.Link}}
	for k, v := range wire.Data {
		if s, ok := v.(string); ok {
			a.Data[k] = s
		}
	}
	return a, nil
}

// SearchQuery is what a person typed into a card's filtered choice set whose
// choices come from the bot (application/search).
type SearchQuery struct {
	Text    string // what was typed
	Dataset string // the choice set's choices.data dataset: which list
	Skip    int
	Top     int // how many choices are wanted
}

func readSearchQuery(value map[string]any) (SearchQuery, error) {
	var wire struct {
		QueryText    string `json:"queryText"`
		Dataset      string `json:"dataset"`
		QueryOptions struct {
			Skip int `json:"skip"`
			Top  int `json:"top"`
		} `json:"queryOptions"`
	}
	if err := decodeValue(value, &wire); err != nil {
		return SearchQuery{}, err
	}
	return SearchQuery{Text: wire.QueryText, Dataset: wire.Dataset, Skip: wire.QueryOptions.Skip, Top: wire.QueryOptions.Top}, nil
}

// SearchResult is one choice of a typeahead: what is shown, and its value.
type SearchResult struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// searchResponseType is the content type of a typeahead's answer.
const searchResponseType = "application/vnd.microsoft.search.searchResponse"

// SearchResults answers a typeahead with its choices (possibly none).
func SearchResults(list []SearchResult) InvokeResponse {
	if list == nil {
		list = []SearchResult{}
	}
	return InvokeResponse{Status: http.StatusOK, Body: map[string]any{"statusCode": http.StatusOK, "type": searchResponseType,
		"value": map[string]any{"results": list}}}
}

// SearchError answers a typeahead that found nothing to show because
// something went wrong: Teams shows the message under the input.
func SearchError(message string) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: map[string]any{"statusCode": http.StatusInternalServerError, "type": errorContentType,
		"value": map[string]string{"code": "ServiceNowUnavailable", "message": message}}}
}

// decodeValue reads an invoke's value (the activity's JSON object) into v.
func decodeValue(value map[string]any, v any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func readCardAction(value map[string]any) (CardAction, error) {
	var wire struct {
		Action struct {
			Verb string         `json:"verb"`
			Data map[string]any `json:"data"`
		} `json:"action"`
	}
	if err := decodeValue(value, &wire); err != nil {
		return CardAction{}, err
	}
	a := CardAction{Verb: wire.Action.Verb, Data: map[string]string{}}
	for k, v := range wire.Action.Data {
		if s, ok := v.(string); ok {
			a.Data[k] = s
		}
	}
	return a, nil
}

func readComposeQuery(value map[string]any) (ComposeQuery, error) {
	var wire struct {
		CommandID  string `json:"commandId"`
		Parameters []struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"parameters"`
		QueryOptions struct {
			Skip  int `json:"skip"`
			Count int `json:"count"`
		} `json:"queryOptions"`
		State string `json:"state"`
	}
	if err := decodeValue(value, &wire); err != nil {
		return ComposeQuery{}, err
	}
	q := ComposeQuery{CommandID: wire.CommandID, Parameters: map[string]string{}, Skip: wire.QueryOptions.Skip, Count: wire.QueryOptions.Count, State: wire.State}
	for _, p := range wire.Parameters {
		if s, ok := p.Value.(string); ok {
			q.Parameters[p.Name] = s
		}
	}
	return q, nil
}

// badInvoke answers an invoke whose value is not what its name says.
func badInvoke(err error) InvokeResponse {
	return InvokeResponse{Status: http.StatusBadRequest, Body: map[string]string{"message": "the invoke's value cannot be read: " + err.Error()}}
}

// InvokeResponse is the answer to an invoke activity, written to the HTTP response.
type InvokeResponse struct {
	Status int
	Body   any
}

func writeInvokeResponse(w http.ResponseWriter, r InvokeResponse) int {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(r.Status)
	if r.Body != nil {
		_ = json.NewEncoder(w).Encode(r.Body)
	}
	return r.Status
}

// Content types of the answers to an adaptiveCard/action invoke.
const (
	cardContentType  = "application/vnd.microsoft.card.adaptive"
	errorContentType = "application/vnd.microsoft.error"
)

// CardResponse answers an adaptiveCard/action invoke with the card that
// replaces the one whose button was pressed.
func CardResponse(card any) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: map[string]any{"statusCode": http.StatusOK, "type": cardContentType, "value": card}}
}

// ErrorResponse answers an adaptiveCard/action invoke with an error: Teams
// keeps the card as it is.
func ErrorResponse(status int, message string) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: map[string]any{"statusCode": status, "type": errorContentType,
		"value": map[string]string{"code": http.StatusText(status), "message": message}}}
}

// ComposeAttachment is one result of the message extension: the card that
// goes into the message, and the preview the result list shows.
type ComposeAttachment struct {
	ContentType string            `json:"contentType"`
	Content     any               `json:"content"`
	Preview     schema.Attachment `json:"preview"`
}

// composeAnswer is the body of every answer to a message extension invoke.
type composeAnswer struct {
	ComposeExtension composeResult `json:"composeExtension"`
}

// composeResult is a message extension's answer. A "result" always carries
// its attachments, an empty array when nothing matched: without the array
// Teams takes the answer for a broken app ("Unable to reach app").
type composeResult struct {
	Type             string               `json:"type"`
	AttachmentLayout string               `json:"attachmentLayout,omitempty"`
	Attachments      *[]ComposeAttachment `json:"attachments,omitempty"`
	SuggestedActions *suggestedActions    `json:"suggestedActions,omitempty"`
	Text             string               `json:"text,omitempty"`
}

type suggestedActions struct {
	Actions []suggestedAction `json:"actions"`
}

type suggestedAction struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	Title string `json:"title,omitempty"`
}

// ComposeResults answers a search with its results (possibly none).
func ComposeResults(list []ComposeAttachment) InvokeResponse {
	if list == nil {
		list = []ComposeAttachment{}
	}
	return InvokeResponse{Status: http.StatusOK, Body: composeAnswer{composeResult{Type: "result", AttachmentLayout: "list", Attachments: &list}}}
}

// ComposeUnfurl answers a pasted link with its card, or with none (a link
// that is not a record snowbot knows). Teams is asked not to keep the card
// for others: each person who pastes the link sees what they may read.
func ComposeUnfurl(card *ComposeAttachment) InvokeResponse {
	list := []ComposeAttachment{}
	r := composeResult{Type: "result", AttachmentLayout: "list", Attachments: &list}
	if card != nil {
		list = append(list, *card)
		r.SuggestedActions = &suggestedActions{Actions: []suggestedAction{{Type: "setCachePolicy", Value: `{"type":"no-cache"}`}}}
	}
	return InvokeResponse{Status: http.StatusOK, Body: composeAnswer{r}}
}

// ComposeAuth asks the person to sign in first: Teams shows a sign-in link
// that opens url in its pop-up, and repeats the query with the code the page
// hands back as its state.
func ComposeAuth(url, title string) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: composeAnswer{composeResult{Type: "auth",
		SuggestedActions: &suggestedActions{Actions: []suggestedAction{{Type: "openUrl", Value: url, Title: title}}}}}}
}

// TaskForm answers a message action's fetchTask (or a submitAction that
// must be put right) with a form in Teams' task module; card is the Adaptive
// Card JSON object.
func TaskForm(title string, card any) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: map[string]any{"task": map[string]any{"type": "continue", "value": map[string]any{
		"title": title, "card": map[string]any{"contentType": cardContentType, "content": card}}}}}
}

// TaskMessage answers a message action with a line of text in its dialog,
// when there is no form to show.
func TaskMessage(text string) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: map[string]any{"task": map[string]any{"type": "message", "value": text}}}
}

// ComposeMessage answers with a line of text in place of results.
func ComposeMessage(text string) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: composeAnswer{composeResult{Type: "message", Text: text}}}
}
