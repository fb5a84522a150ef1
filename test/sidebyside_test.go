package test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

var (
	sideBySide = flag.Bool("sidebyside", false, "run the side-by-side benchmark of snowbot and the reference bot (several seconds per figure)")
	withOTLP   = flag.Bool("otlp", false, "with -sidebyside: snowbot sends its traces and metrics to an OTLP/HTTP receiver on loopback (which drops them)")
)

// TestSideBySide runs snowbot's real binary and test/reference, the smallest
// bot that does the unavoidable work of an "incidents" turn (verify the RS256
// channel token, one Table API GET, one connector POST), answering like for
// like with a card of the same purpose (and, as a second yardstick, with
// plain text), against the same fakes, with 1, 8 and 32 people at once, and
// prints turns/s, p50/p99 latency, CPU per turn of the bot and of the whole
// machine (the bot, the fakes and the driver), the bytes per turn of the
// Table API's answer and of the connector request, and the ratios; then, with 20 ms added to every
// answer of ServiceNow and of the connector, the time from a person's message
// to the reply. Without -sidebyside it checks, briefly, that both answer every
// turn (CI runs that); with it (and no -race):
//
//	go test ./test -run TestSideBySide -sidebyside -v
//
// With -otlp too, a second snowbot joins the rounds, sending its telemetry
// (every span, its metrics) to a receiver on loopback; "telemetry on / off"
// is its cost.
func TestSideBySide(t *testing.T) {
	measure, warmup := 300*time.Millisecond, 20
	if !*sideBySide {
		t.Parallel() // a check, not a measurement: it may share the machine
	}
	if *sideBySide {
		if raceEnabled {
			t.Fatal("measure without -race: the race detector slows snowbot and the fakes alike, but not by the same factor")
		}
		measure, warmup = 3*time.Second, 300
	}
	bf := fakebotframework.New()
	t.Cleanup(bf.Close)
	sn := fakeservicenow.New()
	t.Cleanup(sn.Close)
	port := freePort(t)
	env := envFor(t, bf, sn, port)
	env["LOG_LEVEL"] = "info" // every product feature on, as in production
	w := &world{t: t, bf: bf, sn: sn, env: env, seen: map[string]int{}}
	w.bot = startBot(t, env)

	const most = 32
	people := make([]user, most)
	for i := range people {
		people[i] = user{ID: fmt.Sprintf("29:side%d", i), Name: "Side", ObjectID: fmt.Sprintf("00000000-0000-4000-a000-%012d", i),
			Tenant: ada.Tenant, Conversation: fmt.Sprintf("a:side-%d", i)}
		w.signIn(people[i], "ada.lovelace", "incidents")
	}
	var traced *world // with -otlp: a second snowbot, its telemetry on, in the same rounds
	if *withOTLP {
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
		t.Cleanup(sink.Close)
		envOn := envFor(t, bf, sn, freePort(t))
		envOn["LOG_LEVEL"] = "info"
		envOn["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.URL // the SDK's defaults otherwise: every span, metrics each minute
		traced = &world{t: t, bf: bf, sn: sn, env: envOn, seen: map[string]int{}}
		for conv, n := range w.seen { // the fake connector holds the first bot's replies too
			traced.seen[conv] = n
		}
		traced.bot = startBot(t, envOn)
		for _, p := range people {
			traced.signIn(p, "ada.lovelace", "incidents")
		}
		sn.Configure(func(s *fakeservicenow.Server) { s.RedirectURI = env["PUBLIC_BASE_URL"] + "/auth/callback" })
	}
	ref := startReference(t, bf, sn, env, "card")
	refText := startReference(t, bf, sn, env, "text")

	// From here on the fakes keep no records: they only tell the driver of replies.
	replies := map[string]chan struct{}{}
	for _, p := range people {
		replies[p.Conversation] = make(chan struct{}, 64)
	}
	var typing atomic.Int64
	bf.Configure(func(s *fakebotframework.Server) {
		s.Lean = true
		s.OnDelivery = func(conv string, isTyping bool) {
			if isTyping {
				typing.Add(1)
				return
			}
			if ch, ok := replies[conv]; ok {
				ch <- struct{}{}
			}
		}
	})
	sn.Configure(func(s *fakeservicenow.Server) { s.Quiet = true })

	bots := []struct {
		name string
		p    *botProcess
	}{{"snowbot", w.bot}, {"reference (card)", ref}, {"reference (text)", refText}}
	if traced != nil {
		bots = append(bots, struct {
			name string
			p    *botProcess
		}{"snowbot, telemetry on", traced.bot})
	}
	type figures struct {
		turnsPerSec, cpuPerTurnMs, harnessCPUMs float64
		bytesIn, bytesOut                       float64 // per turn: the Table API's answer, the connector request
		p50, p99                                time.Duration
	}
	run := func(b *botProcess, users int) figures {
		tokens := make([]string, users)
		for i := range tokens {
			tokens[i] = bf.Sign(bf.ChannelClaims(bf.ServiceURL()))
		}
		// turn runs one turn; false when it failed (said with t.Errorf, as
		// the drivers' goroutines may not end the test themselves).
		turn := func(i int) (time.Duration, bool) {
			start := time.Now()
			if status, body := b.post(t, tokens[i], message(bf, people[i], "incidents")); status != http.StatusOK {
				t.Errorf("turn refused: %d %s", status, body)
				return 0, false
			}
			select {
			case <-replies[people[i].Conversation]:
			case <-time.After(20 * time.Second):
				t.Errorf("no reply for %s", people[i].Conversation)
				return 0, false
			}
			return time.Since(start), true
		}
		for i := range warmup {
			if _, ok := turn(i % users); !ok {
				t.FailNow()
			}
		}
		var (
			mu        sync.Mutex
			latencies []time.Duration
			wg        sync.WaitGroup
		)
		cpu0, self0 := processCPU(t, b), selfCPU(t)
		in0, out0 := sn.TableBytes(), bf.ReceivedBytes()
		deadline := time.Now().Add(measure)
		start := time.Now()
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for time.Now().Before(deadline) {
					d, ok := turn(i)
					if !ok {
						break
					}
					mine = append(mine, d)
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu, self := processCPU(t, b)-cpu0, selfCPU(t)-self0
		in, out := sn.TableBytes()-in0, bf.ReceivedBytes()-out0
		slices.Sort(latencies)
		n := len(latencies)
		if t.Failed() || n == 0 {
			t.FailNow()
		}
		return figures{
			turnsPerSec:  float64(n) / elapsed.Seconds(),
			cpuPerTurnMs: float64(cpu.Microseconds()) / 1000 / float64(n),
			harnessCPUMs: float64(self.Microseconds()) / 1000 / float64(n),
			bytesIn:      float64(in) / float64(n),
			bytesOut:     float64(out) / float64(n),
			p50:          latencies[n/2],
			p99:          latencies[n*99/100],
		}
	}

	// Each figure is measured in rounds that alternate between the bots, so
	// that a change in the machine's load over time favours none.
	const rounds = 3
	var out strings.Builder
	fmt.Fprintf(&out, "\n| users | bot | turns/s | p50 | p99 | CPU/turn (bot) | CPU/turn (bot + fakes + driver) | bytes in/turn | bytes out/turn |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, users := range []int{1, 8, 32} {
		f := make([]figures, len(bots))
		for range rounds {
			for k, b := range bots {
				r := run(b.p, users)
				f[k].turnsPerSec += r.turnsPerSec / rounds
				f[k].cpuPerTurnMs += r.cpuPerTurnMs / rounds
				f[k].harnessCPUMs += r.harnessCPUMs / rounds
				f[k].bytesIn += r.bytesIn / rounds
				f[k].bytesOut += r.bytesOut / rounds
				f[k].p50 += r.p50 / rounds
				f[k].p99 += r.p99 / rounds
			}
		}
		for k, b := range bots {
			fmt.Fprintf(&out, "| %d | %s | %.0f | %s | %s | %.3f ms | %.3f ms | %.0f | %.0f |\n", users, b.name, f[k].turnsPerSec, ms(f[k].p50), ms(f[k].p99),
				f[k].cpuPerTurnMs, f[k].cpuPerTurnMs+f[k].harnessCPUMs, f[k].bytesIn, f[k].bytesOut)
		}
		for k := 1; k < len(bots); k++ {
			if bots[k].p == tracedBot(traced) {
				fmt.Fprintf(&out, "| %d | telemetry on / off | %.0f%% | %.2f× | %.2f× | %.2f× | %.2f× | | |\n", users,
					100*f[k].turnsPerSec/f[0].turnsPerSec, float64(f[k].p50)/float64(f[0].p50), float64(f[k].p99)/float64(f[0].p99),
					f[k].cpuPerTurnMs/f[0].cpuPerTurnMs, (f[k].cpuPerTurnMs+f[k].harnessCPUMs)/(f[0].cpuPerTurnMs+f[0].harnessCPUMs))
				continue
			}
			fmt.Fprintf(&out, "| %d | snowbot / %s | %.0f%% | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× |\n", users, bots[k].name,
				100*f[0].turnsPerSec/f[k].turnsPerSec, float64(f[0].p50)/float64(f[k].p50), float64(f[0].p99)/float64(f[k].p99), f[0].cpuPerTurnMs/f[k].cpuPerTurnMs,
				(f[0].cpuPerTurnMs+f[0].harnessCPUMs)/(f[k].cpuPerTurnMs+f[k].harnessCPUMs), f[0].bytesIn/f[k].bytesIn, f[0].bytesOut/f[k].bytesOut)
		}
	}

	// 20 ms more on every answer of ServiceNow and of the connector.
	bf.Configure(func(s *fakebotframework.Server) { s.Latency = 20 * time.Millisecond })
	sn.Configure(func(s *fakeservicenow.Server) { s.Latency = 20 * time.Millisecond })
	fmt.Fprintf(&out, "\nwith 20 ms added to every answer of ServiceNow and of the connector, 1 person:\n")
	for _, b := range bots {
		f := run(b.p, 1)
		fmt.Fprintf(&out, "- %s: message to reply p50 %s, p99 %s\n", b.name, ms(f.p50), ms(f.p99))
	}
	fmt.Fprintf(&out, "typing indicators sent: %d\n", typing.Load())
	for _, b := range bots {
		fmt.Fprintf(&out, "%s resident memory after the run: %d MB\n", b.name, processRSS(t, b.p)>>20)
	}
	t.Log(out.String())
}

// tracedBot is the process of the telemetry-on snowbot, or nil.
func tracedBot(w *world) *botProcess {
	if w == nil {
		return nil
	}
	return w.bot
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// processCPU is the CPU time a process has used so far (user and system, all threads).
func processCPU(t testing.TB, p *botProcess) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// processRSS is a process's resident memory.
func processRSS(t testing.TB, p *botProcess) int64 {
	rss, _ := processMemory(t, p)
	return rss
}

// processMemory is a process's resident memory, now and at its peak.
func processMemory(t testing.TB, p *botProcess) (rss, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}

// selfCPU is the CPU time this test process (the fakes and the driver) has used so far.
func selfCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startReference builds and starts test/reference against the fakes, with a
// ServiceNow token for Ada and a bot token from the fake Entra endpoint.
func startReference(t *testing.T, bf *fakebotframework.Server, sn *fakeservicenow.Server, env map[string]string, reply string) *botProcess {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reference")
	if out, err := exec.Command("go", "build", "-o", bin, "./reference").CombinedOutput(); err != nil {
		t.Fatalf("building the reference bot: %v\n%s", err, out)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "-port", strconv.Itoa(port), "-keys", bf.URL+"/v1/.well-known/keys", "-issuer", bf.Issuer,
		"-audience", bf.AppID, "-instance", sn.URL, "-sn-token", serviceNowToken(t, sn, env["PUBLIC_BASE_URL"]+"/auth/callback"),
		"-bot-token", botToken(t, bf), "-reply", reply)
	p := &botProcess{t: t, cmd: cmd, URL: "http://127.0.0.1:" + strconv.Itoa(port), stdout: newOutput(t), stderr: newOutput(t), done: make(chan struct{}), channel: newChannel()}
	cmd.Stdout, cmd.Stderr = p.stdout.f, p.stderr.f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	waitFor(t, 10*time.Second, "the reference bot to listen", func() bool {
		resp, err := http.Get(p.URL + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return p
}

// serviceNowToken signs Ada in at the fake instance as a browser would and
// returns her access token.
func serviceNowToken(t *testing.T, sn *fakeservicenow.Server, redirect string) string {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(sn.URL + "/oauth_auth.do?" + url.Values{"response_type": {"code"}, "client_id": {sn.ClientID}, "redirect_uri": {redirect}, "state": {"x"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	resp, err = http.PostForm(sn.URL+"/oauth_token.do", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {redirect}, "client_id": {sn.ClientID}, "client_secret": {sn.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	return jsonField(t, resp, "access_token")
}

// botToken gets a bot token from the fake Entra endpoint.
func botToken(t *testing.T, bf *fakebotframework.Server) string {
	t.Helper()
	resp, err := http.PostForm(bf.LoginURL()+"/"+bf.AppTenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {bf.AppID}, "client_secret": {bf.AppPassword}, "scope": {"https://api.botframework.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return jsonField(t, resp, "access_token")
}

func jsonField(t *testing.T, resp *http.Response, name string) string {
	t.Helper()
	body := readAll(resp)
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	v, _ := m[name].(string)
	if v == "" {
		t.Fatalf("no %s in %s", name, body)
	}
	return v
}
