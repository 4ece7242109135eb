package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
)

// The phases of the outage test: a call belongs to one when it began and ended in it;
// calls that straddle a stop or a start are checked for what holds at any time.
const (
	phaseUp = iota
	phaseStopping
	phaseDown
	phaseStarting
	phaseBack
	phaseStraddles = -1
)

// phaseNames name the phases in messages.
var phaseNames = map[int]string{phaseUp: "before", phaseStopping: "stopping", phaseDown: "outage", phaseStarting: "starting", phaseBack: "after", phaseStraddles: "straddling"}

// outageCall is one request of the outage test's load and what it got.
type outageCall struct {
	phase  int    // the phase the call began and ended in, or phaseStraddles
	kind   string // "search", "territory", "service write", "case write"
	status int
	stale  string // Ponte-Index-Stale
	retry  string // Retry-After
	cache  string // Cache-Control
	id     string // the record a write created, when acknowledged
	err    error  // the request did not get an answer
}

// TestADatabaseOutageIsA503AndPublicReadsKeepWorking is the outage acceptance test of issue
// 10: a node on a PostgreSQL cluster of its own serves searches, territory reads, and
// directory and case writes from several goroutines; the cluster is stopped under that load
// and started again. While it is down, searches and territory reads answer 200 from the
// search index, marked Ponte-Index-Stale; writes answer 503 with Retry-After; nothing
// answers another 5xx. After the restart every acknowledged write is there, and searches
// find what was written after the restart (the index caught up by itself).
func TestADatabaseOutageIsA503AndPublicReadsKeepWorking(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fast", "immediate"} {
		t.Run("pg_ctl stop -m "+mode, func(t *testing.T) {
			t.Parallel()
			outageUnderLoad(t, mode)
		})
	}
}

// outageUnderLoad runs the outage test, stopping the cluster with pg_ctl's mode.
func outageUnderLoad(t *testing.T, mode string) {
	cluster := pgtest.StartCluster(t)
	n := startNode(t, cluster.URL(), "-target=directory,cases,gateway")
	admin := n.token(t, auth.Principal{Subject: "outage-admin", Roles: []string{auth.RoleAdmin}})
	operator := n.token(t, auth.Principal{Subject: "outage-op", Organization: "org-outage", Roles: []string{auth.RolePartnerOperator}})
	if r := n.do(t, "POST", "/v1/organizations", admin, map[string]any{"id": "org-outage", "name": map[string]string{"it": "Rete"}, "municipalityCode": "019035"}); !isCreated(r.status) {
		t.Fatalf("create the organization = %d %s", r.status, r.body)
	}
	if r := n.do(t, "GET", "/v1/services:search?q=corso", "", nil); r.status != http.StatusOK {
		t.Fatalf("a search before the load = %d %s", r.status, r.body)
	}

	var (
		phase   atomic.Int64
		mu      sync.Mutex
		calls   []outageCall
		serial  atomic.Int64
		stop    = make(chan struct{})
		workers sync.WaitGroup
	)
	// A word per phase in the names of the services written in it, to search for.
	phaseWord := map[int64]string{phaseUp: "avvio", phaseStopping: "arresto", phaseDown: "guasto", phaseStarting: "riavvio", phaseBack: "ripresa"}
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(kind, method, path, token string, body any) (c outageCall) {
		began := phase.Load()
		c.kind = kind
		defer func() {
			if c.phase = int(began); phase.Load() != began {
				c.phase = phaseStraddles
			}
		}()
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, n.base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			c.err = err
			return c
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		c.status, c.stale, c.retry = resp.StatusCode, resp.Header.Get("Ponte-Index-Stale"), resp.Header.Get("Retry-After")
		c.cache = resp.Header.Get("Cache-Control")
		if c.status == http.StatusCreated || c.status == http.StatusOK {
			var rec struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &rec)
			c.id = rec.ID
		}
		return c
	}
	loop := func(f func() outageCall) {
		workers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := f()
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	for _, q := range []string{"corso", "italiano", "sportello"} {
		loop(func() outageCall { return call("search", "GET", "/v1/services:search?q="+q, "", nil) })
	}
	loop(func() outageCall {
		return call("search", "GET", "/v1/services:search?territory=019", "", nil)
	})
	loop(func() outageCall { return call("territory", "GET", "/v1/territories/03", "", nil) })
	loop(func() outageCall { return call("territory", "GET", "/v1/territories?parent=019&q=crem", "", nil) })
	for w := range 2 {
		loop(func() outageCall {
			i := serial.Add(1)
			c := call("service write", "POST", "/v1/services", admin, map[string]any{
				"id": fmt.Sprintf("outage-%d-%d", w, i), "organizationId": "org-outage",
				"name": map[string]string{"it": fmt.Sprintf("Corso di italiano %s numero%d", phaseWord[phase.Load()], i)},
			})
			return c
		})
		loop(func() outageCall {
			return call("case write", "POST", "/v1/cases", operator, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_OTHER"})
		})
	}

	count := func(match func(outageCall) bool) int {
		mu.Lock()
		defer mu.Unlock()
		k := 0
		for _, c := range calls {
			if match(c) {
				k++
			}
		}
		return k
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(limit); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				close(stop)
				workers.Wait()
				t.Fatalf("%s: not within %v", what, limit)
			}
		}
	}
	time.Sleep(time.Second)
	phase.Store(phaseStopping)
	cluster.Stop(mode)
	phase.Store(phaseDown)
	waitFor("searches served stale while the database is down", 10*time.Second, func() bool {
		return count(func(c outageCall) bool { return c.phase == phaseDown && c.kind == "search" && c.stale != "" }) >= 20
	})
	waitFor("writes answered 503 while the database is down", 10*time.Second, func() bool {
		return count(func(c outageCall) bool { return c.phase == phaseDown && c.status == http.StatusServiceUnavailable }) >= 10
	})
	metrics := n.do(t, "GET", "/metrics", "", nil)
	staleMetric := metricValue(string(metrics.body), "directory_search_index_staleness_seconds")
	time.Sleep(time.Second)
	phase.Store(phaseStarting)
	cluster.Start()
	phase.Store(phaseBack)
	waitFor("service and case writes acknowledged after the restart", 30*time.Second, func() bool {
		return count(func(c outageCall) bool { return c.phase == phaseBack && c.kind == "service write" && c.id != "" }) >= 5 &&
			count(func(c outageCall) bool { return c.phase == phaseBack && c.kind == "case write" && c.id != "" }) >= 5
	})
	close(stop)
	workers.Wait()

	// What every call got.
	byPhase := map[string]map[string]map[int]int{}
	for _, c := range calls {
		name := phaseNames[c.phase]
		if byPhase[name] == nil {
			byPhase[name] = map[string]map[int]int{}
		}
		if byPhase[name][c.kind] == nil {
			byPhase[name][c.kind] = map[int]int{}
		}
		byPhase[name][c.kind][c.status]++
		switch {
		case c.err != nil:
			t.Errorf("%s %s: no answer: %v", name, c.kind, c.err)
		case c.kind == "search" || c.kind == "territory":
			if c.status != http.StatusOK {
				t.Errorf("%s %s = %d, want 200 whether or not the database is up", name, c.kind, c.status)
			}
			if c.phase == phaseUp && c.stale != "" {
				t.Errorf("%s %s marked stale (%s) with the database up", name, c.kind, c.stale)
			}
			if c.stale != "" && !strings.Contains(c.cache, "no-cache") {
				t.Errorf("%s %s marked stale with Cache-Control %q, want no-cache", name, c.kind, c.cache)
			}
		case c.status == http.StatusServiceUnavailable:
			if c.retry == "" {
				t.Errorf("%s %s = 503 without Retry-After", name, c.kind)
			}
		case c.status != http.StatusCreated:
			t.Errorf("%s %s = %d, want 201, or 503 while the database is down", name, c.kind, c.status)
		case c.phase == phaseDown:
			t.Errorf("%s %s = 201 with the database down", name, c.kind)
		}
	}
	t.Logf("answers by phase, kind and status: %v", byPhase)
	if k := count(func(c outageCall) bool { return c.phase == phaseDown && c.kind == "territory" && c.stale != "" }); k == 0 {
		t.Error("no territory read was marked Ponte-Index-Stale while the database was down")
	}

	if staleMetric <= 0 {
		t.Errorf("directory_search_index_staleness_seconds with the database down = %v, want the index's age (over 0)", staleMetric)
	}

	// Nothing acknowledged is lost.
	for _, c := range calls {
		if c.id == "" {
			continue
		}
		path, token := "/v1/services/"+url.PathEscape(c.id), admin
		if c.kind == "case write" {
			path, token = "/v1/cases/"+url.PathEscape(c.id), operator
		}
		if r := n.do(t, "GET", path, token, nil); r.status != http.StatusOK {
			t.Errorf("acknowledged %s %s after the restart = %d %s, want 200", c.kind, c.id, r.status, r.body)
		}
	}
	// The index caught up: searches find the services written after the restart, unmarked.
	var after []string
	for _, c := range calls {
		if c.phase == phaseBack && c.kind == "service write" && c.id != "" {
			after = append(after, c.id)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := n.do(t, "GET", "/v1/services:search?q=ripresa&pageSize=100", "", nil)
		missing := []string{}
		for _, id := range after {
			if !strings.Contains(string(r.body), `"`+id+`"`) {
				missing = append(missing, id)
			}
		}
		if r.status == http.StatusOK && len(missing) == 0 && r.header.Get("Ponte-Index-Stale") == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search after the restart = %d (stale %q), missing %v of the services written after it", r.status, r.header.Get("Ponte-Index-Stale"), missing)
		}
	}
}

// metricValue is the value of the first sample of name in a Prometheus text exposition, -1
// when there is none.
func metricValue(exposition, name string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			return v
		}
	}
	return -1
}
