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
	OnSigninVerifyState(ctx context.Context, t *Turn, s SigninState) InvokeResponse
	// OnAdaptiveCardAction answers an Action.Execute of a card (and a card's
	// automatic refresh): the adaptiveCard/action invoke.
	OnAdaptiveCardAction(ctx context.Context, t *Turn, a CardAction) InvokeResponse
	// OnComposeQuery answers a search of the message extension: the
	// composeExtension/query invoke.
	OnComposeQuery(ctx context.Context, t *Turn, q ComposeQuery) InvokeResponse
	// OnComposeQueryLink answers a link pasted into a message (link
	// unfurling): the composeExtension/queryLink invoke.
	OnComposeQueryLink(ctx context.Context, t *Turn, l ComposeLink) InvokeResponse
	// OnComposeFetchTask answers a message action chosen on a message (or in
	// the compose box) with its form: the composeExtension/fetchTask invoke.
	OnComposeFetchTask(ctx context.Context, t *Turn, a ComposeAction) InvokeResponse
	// OnComposeSubmitAction answers the form of a message action when it is
	// sent: the composeExtension/submitAction invoke.
	OnComposeSubmitAction(ctx context.Context, t *Turn, a ComposeAction) InvokeResponse
	// OnSearch answers the typeahead of a card's filtered choice set as the
	// person types: the application/search invoke.
	OnSearch(ctx context.Context, t *Turn, q SearchQuery) InvokeResponse
}

// Invoke names the bot answers.
const (
	invokeSigninVerifyState  = "signin/verifyState"
	invokeAdaptiveCardAction = "adaptiveCard/action"
	invokeComposeQuery       = "composeExtension/query"
	invokeComposeQueryLink   = "composeExtension/queryLink"
	invokeComposeFetchTask   = "composeExtension/fetchTask"
	invokeComposeSubmit      = "composeExtension/submitAction"
	invokeSearch             = "application/search"
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

// routeInvoke answers an invoke with the bot's handler.
func (b *Bot) routeInvoke(ctx context.Context, t *Turn) InvokeResponse {
	return Invoke(ctx, b.opts.Handler, t)
}

// Invoke reads an invoke's value into its type and hands it to h; an unknown
// name is 501, a value that is not what the name says 400. (The bot answers
// every invoke with it; a test of the conversation does too.)
func Invoke(ctx context.Context, h Handler, t *Turn) InvokeResponse {
	v := t.Activity.Value
	switch t.Activity.Name {
	case invokeSigninVerifyState:
		var s SigninState
		if err := decodeValue(v, &s); err != nil {
			return badInvoke(err)
		}
		return h.OnSigninVerifyState(ctx, t, s)
	case invokeAdaptiveCardAction:
		a, err := readCardAction(v)
		if err != nil {
			return badInvoke(err)
		}
		return h.OnAdaptiveCardAction(ctx, t, a)
	case invokeComposeQuery:
		q, err := readComposeQuery(v)
		if err != nil {
			return badInvoke(err)
		}
		return h.OnComposeQuery(ctx, t, q)
	case invokeComposeQueryLink:
		var l ComposeLink
		if err := decodeValue(v, &l); err != nil {
			return badInvoke(err)
		}
		return h.OnComposeQueryLink(ctx, t, l)
	case invokeComposeFetchTask, invokeComposeSubmit:
		a, err := readComposeAction(v)
		if err != nil {
			return badInvoke(err)
		}
		if t.Activity.Name == invokeComposeFetchTask {
			return h.OnComposeFetchTask(ctx, t, a)
		}
		return h.OnComposeSubmitAction(ctx, t, a)
	case invokeSearch:
		q, err := readSearchQuery(v)
		if err != nil {
			return badInvoke(err)
		}
		return h.OnSearch(ctx, t, q)
	default:
		return InvokeResponse{Status: http.StatusNotImplemented}
	}
}
