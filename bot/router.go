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
}

// Invoke names the bot answers.
const (
	invokeSigninVerifyState  = "signin/verifyState"
	invokeAdaptiveCardAction = "adaptiveCard/action"
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
