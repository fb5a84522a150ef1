package bot

import (
	"context"
	"net/http"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Handler answers activities, one method per activity type and invoke name,
// so "what happens on X" is found in one place.
type Handler interface {
	// OnMessage answers a message: typed text, or the value of a submitted card.
	OnMessage(ctx context.Context, t *Turn) error
	// OnBotAdded runs when the bot joins a conversation (it is installed).
	OnBotAdded(ctx context.Context, t *Turn) error
	// OnInstallationUpdate runs when the app is installed, upgraded or removed.
	OnInstallationUpdate(ctx context.Context, t *Turn) error
	// OnSigninVerifyState answers Teams' signin/verifyState invoke.
	OnSigninVerifyState(ctx context.Context, t *Turn) InvokeResponse
	// OnAdaptiveCardAction answers an Action.Execute of a card (and a card's
	// automatic refresh): the adaptiveCard/action invoke.
	OnAdaptiveCardAction(ctx context.Context, t *Turn) InvokeResponse
	// OnComposeQuery answers a search of the message extension: the
	// composeExtension/query invoke.
	OnComposeQuery(ctx context.Context, t *Turn) InvokeResponse
	// OnComposeQueryLink answers a link pasted into a message (link
	// unfurling): the composeExtension/queryLink invoke.
	OnComposeQueryLink(ctx context.Context, t *Turn) InvokeResponse
}

// Invoke names the bot answers.
const (
	invokeSigninVerifyState  = "signin/verifyState"
	invokeAdaptiveCardAction = "adaptiveCard/action"
	invokeComposeQuery       = "composeExtension/query"
	invokeComposeQueryLink   = "composeExtension/queryLink"
)

// route maps a non-invoke activity to its handler; other types are acknowledged and ignored.
func (b *Bot) route(ctx context.Context, t *Turn) error {
	h := b.opts.Handler
	switch t.Activity.Type {
	case schema.Message:
		return h.OnMessage(ctx, t)
	case schema.ConversationUpdate:
		for _, m := range t.Activity.MembersAdded {
			if m.ID != "" && m.ID == t.Activity.Recipient.ID {
				return h.OnBotAdded(ctx, t)
			}
		}
		return nil
	case schema.InstallationUpdate:
		return h.OnInstallationUpdate(ctx, t)
	default:
		return nil
	}
}

// routeInvoke maps an invoke name to its handler; an unknown name is 501.
func (b *Bot) routeInvoke(ctx context.Context, t *Turn) InvokeResponse {
	switch t.Activity.Name {
	case invokeSigninVerifyState:
		return b.opts.Handler.OnSigninVerifyState(ctx, t)
	case invokeAdaptiveCardAction:
		return b.opts.Handler.OnAdaptiveCardAction(ctx, t)
	case invokeComposeQuery:
		return b.opts.Handler.OnComposeQuery(ctx, t)
	case invokeComposeQueryLink:
		return b.opts.Handler.OnComposeQueryLink(ctx, t)
	default:
		return InvokeResponse{Status: http.StatusNotImplemented}
	}
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

// ComposeMessage answers with a line of text in place of results.
func ComposeMessage(text string) InvokeResponse {
	return InvokeResponse{Status: http.StatusOK, Body: composeAnswer{composeResult{Type: "message", Text: text}}}
}
