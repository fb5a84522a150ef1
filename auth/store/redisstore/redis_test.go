package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/auth/store"
	"snowbot/auth/store/storetest"
)

// server is a redis-server of the test's own on a loopback port.
type server struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

func requireRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: bash test/run installs it (apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not installed: run bash test/run, or apt-get install -y redis-server")
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(t *testing.T, port int, dir string) *server {
	t.Helper()
	s := &server{port: port, dir: dir}
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			t.Cleanup(s.stop)
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return nil
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *server) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func TestConformance(t *testing.T) {
	requireRedis(t)
	srv := startServer(t, freePort(t), t.TempDir())
	var n atomic.Int32
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(srv.url(), Options{Prefix: fmt.Sprintf("test%d:", n.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestAnUnreachableRedisIsUnavailableNotEmptyAndRecovers(t *testing.T) {
	requireRedis(t)
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	s, err := Open(srv.url(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.PutTokens(ctx, "t/ada", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	srv.stop()

	checks := map[string]error{}
	_, checks["GetTokens"] = s.GetTokens(ctx, "t/ada")
	checks["PutTokens"] = s.PutTokens(ctx, "t/ada", []byte("x"))
	_, checks["TakePending"] = s.TakePending(ctx, "state")
	_, checks["FailHeld"] = s.FailHeld(ctx, "t/ada", 5)
	_, _, checks["GetHeld"] = s.GetHeld(ctx, "t/ada")
	_, _, checks["TryLock"] = s.TryLock(ctx, "refresh:t/ada", time.Second)
	checks["Ping"] = s.Ping(ctx)
	for op, err := range checks {
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s with Redis down: %v", op, err)
		}
	}

	// Back on the same address: the same Store works again without reopening.
	startServer(t, port, dir)
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.PutTokens(ctx, "t/ada", []byte("again")); err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
	if b, err := s.GetTokens(ctx, "t/ada"); err != nil || string(b) != "again" {
		t.Fatalf("after Redis came back: %q, %v", b, err)
	}
}

func TestOpenRefusesAMalformedURL(t *testing.T) {
	if _, err := Open("redis://:secret@host:notaport/0", Options{}); err == nil {
		t.Fatal("malformed URL accepted")
	}
}
