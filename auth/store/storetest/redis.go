package storetest

import (
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Redis is a redis-server of a test's own on a loopback port, with its data in
// a directory of the test so that a restart keeps it (an append-only file
// synced at every write, as a persistent production cache is configured).
type Redis struct {
	t    testing.TB
	Port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts redis-server with extra arguments (an ACL, say) and stops
// it when the test ends. Without redis-server the test is skipped, or fails
// in CI, where bash test/run installs it.
func StartRedis(t testing.TB, args ...string) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: bash test/run installs it (apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not installed: run bash test/run, or apt-get install -y redis-server")
	}
	r := &Redis{t: t, Port: FreePort(t), dir: t.TempDir(), args: args}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the STORE_URL for this server.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Start runs the server (again) on its port and waits until it answers.
func (r *Redis) Start() {
	r.t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", filepath.Join(r.dir, "redis.log")}, r.args...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.Port), 100*time.Millisecond); err == nil {
			conn.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	r.t.Fatalf("redis-server did not start:\n%s", logs)
}

// Stop ends the server; its data stays in its directory.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// FreePort finds a loopback port that is free right now. It picks from
// 20000-31999, below the kernel's range for ephemeral ports, so that the
// loopback connections other tests open meanwhile cannot take it before the
// server it is meant for binds it.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + mathrand.IntN(12000)
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port")
	return 0
}
