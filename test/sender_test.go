package test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/bot"
	"snowbot/bot/connector"
)

func TestSenderSendsUpdatesAndTypes(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	conn := &connector.Client{
		Tokens: connector.NewCachedToken(connector.ClientCredentials(bf.LoginURL()+"/"+bf.AppTenant+"/oauth2/v2.0/token", bf.AppID, bf.AppPassword, http.DefaultClient)),
		Log:    slog.New(slog.DiscardHandler),
	}
	if _, err := bot.New(bot.Options{AppID: bf.AppID, Validator: nil, Connector: conn, Handler: noopHandler{}, Log: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("a bot with an app ID but no validator was accepted")
	}
	b, err := bot.New(bot.Options{Connector: conn, Handler: noopHandler{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ref := schema.ConversationReference{
		ActivityID:   "1700",
		User:         schema.ChannelAccount{ID: ada.ID},
		Bot:          schema.ChannelAccount{ID: "28:" + bf.AppID},
		Conversation: schema.ConversationAccount{ID: ada.Conversation},
		ChannelID:    "msteams",
		ServiceURL:   bf.ServiceURL(),
	}
	ctx := context.Background()
	s := b.Sender()
	id, err := s.Send(ctx, ref, bot.Text("working on it"))
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if err := s.Update(ctx, ref, id, bot.Text("done")); err != nil {
		t.Fatal(err)
	}
	if err := s.Typing(ctx, ref); err != nil {
		t.Fatal(err)
	}
	got := bf.Delivered()
	want := []struct{ method, path, text string }{
		{http.MethodPost, "/amer/v3/conversations/" + ada.Conversation + "/activities/1700", "working on it"},
		{http.MethodPut, "/amer/v3/conversations/" + ada.Conversation + "/activities/" + id, "done"},
		{http.MethodPost, "/amer/v3/conversations/" + ada.Conversation + "/activities", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d connector calls, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Method != w.method || got[i].Path != w.path || got[i].Text() != w.text {
			t.Errorf("call %d: %s %s %q, want %s %s %q", i, got[i].Method, got[i].Path, got[i].Text(), w.method, w.path, w.text)
		}
		if !bf.ValidBotToken(got[i].Authorization[len("Bearer "):]) {
			t.Errorf("call %d without a bot token", i)
		}
	}
	if got[2].Type() != "typing" {
		t.Errorf("typing indicator sent as %q", got[2].Type())
	}
	if n := len(bf.TokenRequests()); n != 1 {
		t.Errorf("%d token requests for three calls", n)
	}
}
