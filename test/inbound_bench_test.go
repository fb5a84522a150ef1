package test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"snowbot/bot"
	"snowbot/bot/channelauth"
	"snowbot/bot/connector"
	"snowbot/test/fakebotframework"
)

// noopHandler answers nothing, so the benchmark measures the inbound path alone.
type noopHandler struct{}

func (noopHandler) OnMessage(context.Context, *bot.Turn) error            { return nil }
func (noopHandler) OnBotAdded(context.Context, *bot.Turn) error           { return nil }
func (noopHandler) OnInstallationUpdate(context.Context, *bot.Turn) error { return nil }
func (noopHandler) OnSigninVerifyState(context.Context, *bot.Turn, bot.SigninState) bot.InvokeResponse {
	return bot.InvokeResponse{}
}
func (noopHandler) OnAdaptiveCardAction(context.Context, *bot.Turn, bot.CardAction) bot.InvokeResponse {
	return bot.InvokeResponse{}
}
func (noopHandler) OnComposeQuery(context.Context, *bot.Turn, bot.ComposeQuery) bot.InvokeResponse {
	return bot.InvokeResponse{}
}
func (noopHandler) OnComposeQueryLink(context.Context, *bot.Turn, bot.ComposeLink) bot.InvokeResponse {
	return bot.InvokeResponse{}
}
func (noopHandler) OnComposeFetchTask(context.Context, *bot.Turn, bot.ComposeAction) bot.InvokeResponse {
	return bot.InvokeResponse{}
}
func (noopHandler) OnComposeSubmitAction(context.Context, *bot.Turn, bot.ComposeAction) bot.InvokeResponse {
	return bot.InvokeResponse{}
}
func (noopHandler) OnSearch(context.Context, *bot.Turn, bot.SearchQuery) bot.InvokeResponse {
	return bot.InvokeResponse{}
}

// benchmarkInbound measures one activity through POST /api/messages: token
// verification, parsing, and routing to a handler that does nothing.
func benchmarkInbound(b *testing.B, cacheVerified bool) {
	bf := fakebotframework.New()
	defer bf.Close()
	v := channelauth.New(channelauth.Settings{AppID: bf.AppID, Issuer: bf.Issuer, MetadataURL: bf.MetadataURL(), CacheVerified: cacheVerified})
	bt, err := bot.New(bot.Options{AppID: bf.AppID, Validator: v, Connector: &connector.Client{}, Handler: noopHandler{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(message(bf, ada, "help"))
	auth := "Bearer " + bf.Sign(bf.ChannelClaims(bf.ServiceURL()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		bt.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.StopTimer()
	_ = bt.Shutdown(context.Background())
}

func BenchmarkInboundVerifiedTokenCache(b *testing.B) { benchmarkInbound(b, true) }
func BenchmarkInboundFullVerification(b *testing.B)   { benchmarkInbound(b, false) }
