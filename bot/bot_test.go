package bot

import (
	"net/http"
	"testing"
)

func TestFromLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "10.0.0.4:5000": false, "garbage": false} {
		r := &http.Request{RemoteAddr: addr}
		if got := fromLoopback(r); got != want {
			t.Errorf("fromLoopback(%s) = %v", addr, got)
		}
	}
}
