package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections leave from ip (any 127.x.y.z is loopback on
// Linux), so that one test can play several clients by address.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
}

func TestRateLimitsPerClientKeepThePublicSearchServingOthers(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--rate-limit=20", "--rate-limit-burst=20")
	search := n.base + "/v1/services:search?q=italiano"

	// The abuser: 8 connections as fast as they go, for two seconds.
	abuser := clientFrom("127.0.0.2")
	var abusive, refused atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var firstRefusal sync.Once
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", search, nil)
				resp, err := abuser.Do(req)
				if err != nil {
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				abusive.Add(1)
				if resp.StatusCode == http.StatusTooManyRequests {
					refused.Add(1)
					firstRefusal.Do(func() {
						var p map[string]any
						retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
						if json.Unmarshal(body, &p) != nil || p["status"] != float64(429) || resp.Header.Get("Content-Type") != "application/problem+json" ||
							retry < 1 || resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Limit") != "20" {
							t.Errorf("a refused request = %v %s, want 429 problem+json with Retry-After and RateLimit headers", resp.Header, body)
						}
					})
				}
			}
		}()
	}
	// Meanwhile a polite client searches five times a second, and every search is answered.
	polite := clientFrom("127.0.0.3")
	var politeOK, politeAll int
	for ctx.Err() == nil {
		resp, err := polite.Get(search)
		if err == nil {
			politeAll++
			if resp.StatusCode == http.StatusOK {
				politeOK++
			}
			if resp.Header.Get("RateLimit-Limit") != "20" || resp.Header.Get("RateLimit-Reset") == "" {
				t.Errorf("an answer lacks the RateLimit headers: %v", resp.Header)
			}
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("abuser sent %d requests, %d refused; polite client %d/%d answered", abusive.Load(), refused.Load(), politeOK, politeAll)
	if politeAll < 5 || politeOK != politeAll {
		t.Errorf("the polite client got %d of %d searches answered, want all", politeOK, politeAll)
	}
	// 2 s at 20/s plus a burst of 20 is at most ~60 admitted.
	if admitted := abusive.Load() - refused.Load(); refused.Load() == 0 || admitted > 70 {
		t.Errorf("the abuser had %d of %d requests admitted, want at most ~60", admitted, abusive.Load())
	}
	// Health probes are never limited.
	for range 30 {
		if resp, err := abuser.Get(n.base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz from a limited client = %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	}
}
