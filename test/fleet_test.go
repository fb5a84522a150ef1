package test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"snowbot/auth/store/storetest"
	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// fleet is several bot processes behind one public address, sharing one Redis.
type fleet struct {
	*world
	redis     *storetest.Redis
	instances []*botProcess
	envs      []map[string]string
}

// newFleet starts n bots on Redis. PUBLIC_BASE_URL is the first instance's
// address, as a front door would be; tests send each request to the instance
// they choose.
func newFleet(t *testing.T, n int, edit func(env map[string]string)) *fleet {
	t.Helper()
	r := storetest.StartRedis(t)
	bf := fakebotframework.New()
	t.Cleanup(bf.Close)
	sn := fakeservicenow.New()
	t.Cleanup(sn.Close)
	f := &fleet{redis: r}
	shared := envFor(t, bf, sn, freePort(t))
	shared["STORE_URL"] = r.URL()
	if edit != nil {
		edit(shared)
	}
	for i := range n {
		env := map[string]string{}
		for k, v := range shared {
			env[k] = v
		}
		if i > 0 {
			env["PORT"] = strconv.Itoa(freePort(t))
		}
		f.envs = append(f.envs, env)
		f.instances = append(f.instances, startBot(t, env))
	}
	f.world = &world{t: t, bf: bf, sn: sn, env: f.envs[0], bot: f.instances[0], seen: map[string]int{}}
	return f
}

// on makes the next requests of the world go to instance i.
func (f *fleet) on(i int) *world {
	f.world.bot = f.instances[i]
	return f.world
}

func TestSignInAcrossThreeInstances(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, nil)

	// Started on instance 1.
	link := f.on(0).startSignIn(ada, "incidents")

	// ServiceNow sends the browser back; the front door routes the callback to instance 2.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Path != "/auth/callback" {
		t.Fatalf("ServiceNow redirected to %q", resp.Header.Get("Location"))
	}
	status, page := browse(t, f.instances[1].URL+"/auth/callback?"+back.RawQuery)
	if status != http.StatusOK {
		t.Fatalf("callback on instance 2: %d\n%s", status, page)
	}

	// The code is typed on instance 3.
	f.on(2).say(ada, pageCode(t, page))
	mustContain(t, "confirmation on instance 3", f.next(ada).Text(), "signed in")
	mustContain(t, "resumed list on instance 3", f.next(ada).JSON(), "INC0010001")

	// Signed in everywhere.
	for i := range 3 {
		f.on(i).say(ada, "incident INC0010003")
		mustContain(t, fmt.Sprintf("instance %d", i+1), f.next(ada).JSON(), "VPN disconnects")
	}
}

func TestConcurrent401sOnThreeInstancesCauseOneRefresh(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, nil)
	f.on(0).signIn(ada, "ada.lovelace", "incidents")
	f.sn.ExpireAccessTokens()

	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := message(f.bf, ada, "incidents")
			if status, body := f.instances[i%3].post(t, f.token(), a); status != http.StatusOK {
				t.Errorf("status %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	for range 30 {
		reply := f.next(ada)
		if signInURL(reply) != "" || !strings.Contains(reply.JSON(), "INC0010001") {
			t.Fatalf("reply: %s", reply.JSON())
		}
	}
	if n := len(f.sn.TokenRequests("refresh_token")); n != 1 {
		t.Fatalf("concurrent 401s on three instances caused %d refresh requests, want 1", n)
	}
}

func TestRedisDownMeansTryAgainNotSignInAgain(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 1, nil)
	f.signIn(ada, "ada.lovelace", "incidents")

	f.redis.Stop()
	f.say(ada, "incidents")
	reply := f.next(ada)
	if signInURL(reply) != "" {
		t.Fatal("Redis down asked the user to sign in again")
	}
	mustContain(t, "reply with Redis down", reply.JSON(), "temporarily unavailable", "try again in a moment")
	resp, err := http.Get(f.bot.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = fmt.Fprint(&body, readAll(resp))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), `"store":"unavailable"`) {
		t.Fatalf("healthz with Redis down: %d %s", resp.StatusCode, body.String())
	}

	// Redis comes back (with its data): the bot recovers by itself.
	f.redis.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.say(ada, "incidents")
		reply = f.next(ada)
		if strings.Contains(reply.JSON(), "INC0010001") {
			break
		}
		if signInURL(reply) != "" || time.Now().After(deadline) {
			t.Fatalf("no recovery after Redis came back: %s", reply.JSON())
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, _ = http.Get(f.bot.URL + "/healthz")
	if b := readAll(resp); !strings.Contains(b, `"store":"ok"`) {
		t.Fatalf("healthz after recovery: %s", b)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestACrashedLockHolderBlocksOnlyUntilTheLockExpires(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 1, nil)
	f.signIn(ada, "ada.lovelace", "incidents")
	// An instance took Ada's refresh lock and died: nobody will release it.
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", f.redis.Port)})
	defer rdb.Close()
	key := "snowbot:lock:refresh:" + strings.ToLower(ada.Tenant+"/"+ada.ObjectID)
	if err := rdb.Set(t.Context(), key, "dead-holder", 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	f.sn.ExpireAccessTokens()
	start := time.Now()
	f.say(ada, "incidents")
	mustContain(t, "list after the dead lock expired", f.next(ada).JSON(), "INC0010001")
	if waited := time.Since(start); waited > 8*time.Second {
		t.Fatalf("a dead lock blocked the user for %s", waited)
	}
	if n := len(f.sn.TokenRequests("refresh_token")); n != 1 {
		t.Fatalf("%d refreshes", n)
	}
}

// createdBy creates an incident through instance i and returns its caller's sys_id.
func (f *fleet) createdBy(t *testing.T, i int, u user, short string) string {
	t.Helper()
	f.on(i).say(u, "create "+short)
	mustContain(t, "create on instance "+strconv.Itoa(i+1), f.next(u).JSON(), "Created INC")
	for _, inc := range f.sn.Incidents() {
		if inc.ShortDescription == short {
			return inc.Caller
		}
	}
	t.Fatalf("no incident %q", short)
	return ""
}

func TestTheCallerFollowsANewSignInOnEveryInstance(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, nil)
	f.on(0).signIn(ada, "ada.lovelace", "incidents")
	adaID, bobID := f.sn.User("ada.lovelace").SysID, f.sn.User("bob.smith").SysID
	if got := f.createdBy(t, 1, ada, "First, on instance 2"); got != adaID {
		t.Fatalf("caller %q, want Ada", got)
	}
	// On instance 1, the same Teams user signs out and in again as another ServiceNow account.
	f.on(0).say(ada, "signout")
	f.next(ada)
	f.on(0).signIn(ada, "bob.smith", "incidents")
	// Instance 2 creates with the account now signed in, not the one it saw before.
	if got := f.createdBy(t, 1, ada, "Second, on instance 2"); got != bobID {
		t.Fatalf("after signing in as Bob, instance 2 created an incident with caller %q (Ada is %q, Bob %q)", got, adaID, bobID)
	}
	// Neither instance looked the caller up: it came with the sign-in.
	if n := len(f.sn.Requests("/api/now/table/sys_user")); n != 2 {
		t.Errorf("%d user lookups, want 2 (one per sign-in)", n)
	}
}
