package system

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientHangups sends 300 requests to pages that query the database
// (budget 4) and hangs up on each after a few milliseconds, by cancelling
// the request or by closing the socket right after the request line. Within
// a few seconds the pool must hold no connection (none acquired, none
// waiting, no shoebox query active on the server) and a normal page must
// answer 200.
func TestClientHangups(t *testing.T) {
	const budget = 4
	cluster, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 20, 0)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: budget})
	s.waitIndexed(t, 2*time.Minute)
	mon := monitorConns(t, pgConnect(t, cluster.URL("postgres")))
	checkConn := pgConnect(t, cluster.URL("postgres")) // a pgx.Conn is one goroutine's

	// Half the requests are unique, so they reach the database rather than
	// the server's short page cache.
	paths := []string{"/", "/search?q=x", "/api/stats", "/?limit=%d", "/search?q=x%d", "/api/photos?limit=%d"}
	rng := rand.New(rand.NewSource(1))
	var (
		wg                          sync.WaitGroup
		cancelled, completed, socks atomic.Int64
		otherErrs                   atomic.Int64
		firstErr                    atomic.Value
	)
	start := make(chan struct{})
	for i := 0; i < 300; i++ {
		p := paths[i%len(paths)]
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, 1+i%499)
		}
		after := time.Duration(1+rng.Intn(15)) * time.Millisecond
		raw := i%3 == 2
		spread := time.Duration(i%20) * 10 * time.Millisecond // over ~200 ms
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(spread)
			if raw {
				// Send the request, then close the connection at once.
				c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.base, "http://"), 5*time.Second)
				if err != nil {
					otherErrs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					return
				}
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
				time.Sleep(after)
				c.Close()
				socks.Add(1)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), after)
			defer cancel()
			_, _, _, err := s.getCtx(ctx, p)
			switch {
			case err == nil:
				completed.Add(1)
			case ctx.Err() != nil:
				cancelled.Add(1)
			default:
				otherErrs.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	s.client.CloseIdleConnections()
	hungUp := time.Now()
	t.Logf("hang-ups: %d cancelled by context, %d sockets closed early, %d completed before the cancel, %d other errors",
		cancelled.Load(), socks.Load(), completed.Load(), otherErrs.Load())
	if otherErrs.Load() > 0 {
		t.Errorf("%d requests failed other than by our hang-up, e.g. %v", otherErrs.Load(), firstErr.Load())
	}
	if !s.running() {
		t.Fatalf("shoebox serve died: %v", s.err)
	}

	// The pool drains: nothing acquired or waiting, no shoebox query still
	// running on the server.
	deadline := hungUp.Add(5 * time.Second)
	var last string
	for {
		st := s.stats(t)
		active := queryInt(t, checkConn, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'shoebox' AND state <> 'idle'`)
		last = fmt.Sprintf("acquired %d, waiting %d, open %d; shoebox backends not idle: %d",
			st.DB.AcquiredConns, st.DB.Waiting, st.DB.TotalConns, active)
		if st.DB.AcquiredConns == 0 && st.DB.Waiting == 0 && active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5s after the hang-ups the pool has not drained: %s", last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	drained := time.Since(hungUp)
	mon.halt()
	max, samples, _, _ := mon.result()

	t0 := time.Now()
	_, page := s.mustGet(t, "/", 200)
	if n := len(imgTags(page)); n == 0 {
		t.Errorf("gallery after the hang-ups shows no photos")
	}
	tGallery := time.Since(t0)
	for _, p := range paths {
		s.mustGet(t, strings.ReplaceAll(p, "%d", "7"), 200)
	}
	_, metrics := s.mustGet(t, "/metrics", 200)
	hangups := regexp.MustCompile(`(?m)^shoebox_http_client_hangups_total (\d+)`).FindSubmatch(metrics)
	var codes []string
	sc := bufio.NewScanner(strings.NewReader(string(metrics)))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "shoebox_http_requests_total{") {
			codes = append(codes, strings.TrimPrefix(sc.Text(), "shoebox_http_requests_total"))
		}
	}
	for _, c := range codes {
		if strings.Contains(c, `code="500"`) {
			t.Errorf("the server answered 500 during the hang-ups: %s", c)
		}
	}
	var nHang string
	if hangups != nil {
		nHang = string(hangups[1])
	}
	if max > budget {
		t.Errorf("shoebox held %d connections at once during the hang-ups, over its budget of %d", max, budget)
	}
	t.Logf("drained %s after the last hang-up (%s); gallery then answered 200 in %s; server counted %s client hang-ups; max shoebox connections during the hang-ups %d (budget %d, %d samples); requests: %s",
		drained.Round(time.Millisecond), last, tGallery.Round(time.Millisecond), nHang, max, budget, samples, strings.Join(codes, " "))
}
