package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"snowbot/servicenow/events"
	"snowbot/servicenow/instance"
)

// The Agents Playground version the demo's instructions name.
const playgroundPackage = "@microsoft/m365agentsplayground@0.2.28"

// demoCommand runs the bot in development mode together with a demo ServiceNow
// instance, both on loopback, with a throw-away key and store.
func demoCommand(ctx context.Context, stdout, stderr io.Writer) int {
	port, err := listenPort(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	public := fmt.Sprintf("http://localhost:%d", port)
	dir, err := os.MkdirTemp("", "snowbot-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "snowbot demo:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	sn, stopInstance, err := startDemoInstance(public)
	if err != nil {
		fmt.Fprintln(stderr, "snowbot demo:", err)
		return 1
	}
	defer stopInstance()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	webhookSecret := hex.EncodeToString(secret)
	onEvent := demoEvents(sn, public+"/api/servicenow/events", webhookSecret, stderr)
	sn.Configure(func(s *instance.Instance) { s.OnEvent = onEvent })
	env := map[string]string{
		"PORT":                      strconv.Itoa(port),
		"PUBLIC_BASE_URL":           public,
		"SERVICENOW_INSTANCE_URL":   sn.BaseURL,
		"SERVICENOW_CLIENT_ID":      sn.ClientID,
		"SERVICENOW_CLIENT_SECRET":  sn.ClientSecret,
		"TOKEN_ENCRYPTION_KEY":      base64.StdEncoding.EncodeToString(key),
		"SERVICENOW_WEBHOOK_SECRET": webhookSecret,
		"STORE_URL":                 "bolt://" + filepath.Join(dir, "snowbot.db"),
		"LOG_LEVEL":                 os.Getenv("LOG_LEVEL"),
	}
	cfg, err := LoadConfig(func(name string) (string, bool) { v, ok := env[name]; return v, ok })
	if err != nil {
		fmt.Fprintln(stderr, "snowbot demo:", err)
		return 1
	}
	// The port first, so that a busy one is one line, not a banner that lies.
	listeners, err := listen(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "snowbot demo:", err)
		return 1
	}
	demoUser := sn.User(instance.DemoUser)
	fmt.Fprintf(stderr, `
snowbot demo
  bot:                 %s/api/messages (development mode, loopback only)
  demo ServiceNow:     %s (the sign-in page signs you in as %s, %s)

Chat with it in Microsoft 365 Agents Playground, in another terminal:
  npx --yes %s -e %s/api/messages -c msteams

Then type: help, incidents (sign in, then send the code), incident INC0010001, create Printer jams
(a few seconds later %s takes it on and comments: a notification arrives), approvals (and press Approve),
catalog (press Order, fill in the form, Order), requests,
watch %s (%s works on it and comments every %s). In the Playground's General channel:
@snowbot subscribe change_request priority<=2 (a post, then replies in its thread).
Ctrl-C stops everything.

`, public, sn.BaseURL, demoUser.Name, demoUser.UserName, playgroundPackage, public, sn.User(demoAgent).Name,
		demoChange, sn.User(demoAgent).Name, demoChangeEvery)
	log, flush := newLogger(stdout, cfg)
	defer flush()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go stopWithParent(ctx, stop)
	go workOnTheChange(ctx, sn, stderr)
	if err := serve(ctx, cfg, log, listeners); err != nil {
		fmt.Fprintln(stderr, "snowbot demo:", err)
		return 1
	}
	return 0
}

// The demo's change: the agent works on it and comments every
// demoChangeEvery, so that watching it (or a channel subscribed to changes)
// shows something within seconds.
const (
	demoChange      = "CHG0030003"
	demoChangeEvery = 15 * time.Second
)

// workOnTheChange has the agent comment on the demo's change until ctx ends.
func workOnTheChange(ctx context.Context, sn *instance.Instance, stderr io.Writer) {
	steps := []string{"Patched the first mail gateway; traffic looks normal.", "Second gateway patched. Moving on to the third.",
		"Third gateway done. Two to go.", "All gateways patched; watching the queues for an hour.", "Queues are back to normal levels."}
	t := time.NewTicker(demoChangeEvery)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := sn.ChangeTask(demoChange, demoAgent, map[string]string{"comments": steps[i%len(steps)]}); err != nil {
			fmt.Fprintln(stderr, "snowbot demo:", err)
		}
	}
}

// stopWithParent stops the demo when the process that started it ends: `go
// run . demo` leaves its child running when it is itself sent SIGTERM (only
// Ctrl-C reaches both), and a demo nobody can stop keeps its port.
func stopWithParent(ctx context.Context, stop func()) {
	parent := os.Getppid()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				stop()
				return
			}
		}
	}
}

// startDemoInstance serves an in-memory ServiceNow instance on a loopback port,
// with a consent page that signs the browser in as the demo user.
func startDemoInstance(botURL string) (*instance.Instance, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	sn := instance.New()
	sn.BaseURL = "http://" + ln.Addr().String()
	sn.ConsentPage = true
	sn.BrowserUser = instance.DemoUser
	sn.RedirectURI = botURL + "/auth/callback"
	srv := &http.Server{Handler: sn.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return sn, func() { _ = srv.Close() }, nil
}

// demoAgent is the demo's other person: the agent who takes on the demo
// user's new incidents.
const demoAgent = "beth.anglin"

// demoAgentDelay is how long the agent takes to answer a new incident.
const demoAgentDelay = 5 * time.Second

// demoEvents sends the demo instance's change events to the bot, signed, as
// snowbot's business rules do in ServiceNow; and when the demo user creates
// an incident, the agent takes it on a few seconds later and comments, so
// that a notification arrives.
func demoEvents(sn *instance.Instance, url, secret string, stderr io.Writer) func(events.Event) {
	client := &http.Client{Timeout: 10 * time.Second}
	user := sn.User(instance.DemoUser)
	return func(e events.Event) {
		if _, err := events.Post(context.Background(), client, url, secret, e); err != nil {
			fmt.Fprintln(stderr, "snowbot demo: a change event was not taken:", err)
		}
		if e.Table != events.TableIncident || e.Event != events.Created || e.Actor != user.SysID {
			return
		}
		time.AfterFunc(demoAgentDelay, func() {
			for _, inc := range sn.Incidents() {
				if inc.SysID != e.SysID {
					continue
				}
				err := sn.ChangeIncident(inc.Number, demoAgent, map[string]string{
					"assigned_to": demoAgent, "state": "2",
					"comments": "Thanks for reporting this. I'm on it and will update you here.",
				})
				if err != nil {
					fmt.Fprintln(stderr, "snowbot demo:", err)
				}
			}
		})
	}
}
