package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// consolePage is a tab whose console messages are kept from before it
// loads the page.
type consolePage struct {
	*page
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newConsolePage(t *testing.T, browser context.Context, n *Node) *consolePage {
	t.Helper()
	p := consoleTab(t, browser, "camper")
	p.run(chromedp.Navigate("http://"+n.WebAddr().String()+"/"), chromedp.WaitVisible(chromedp.ID("camp-id")))
	p.waitText("#status", "Connected")
	return p
}

// consoleTab opens a tab of browser that keeps its console messages; with
// CAMPBUS_TEST_SHOTS set, how it looked at the end is saved there as
// <name>-<test>.png.
func consoleTab(t *testing.T, browser context.Context, name string) *consolePage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx))
	p := &consolePage{page: &page{t: t, ctx: ctx}}
	messages := chromedp.Console(ctx)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-listening })
	if dir := os.Getenv("CAMPBUS_TEST_SHOTS"); dir != "" {
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(dir, name+"-"+strings.ReplaceAll(t.Name(), "/", "_")+".png"), png, 0o644)
			}
		})
	}
	return p
}

// problems are the page's exceptions and console errors, its scripts' or
// the browser's security checks' (a Content-Security-Policy refusal). The
// network's own entries (a socket to a dead node that could not open) are
// the browser's note of what the page tried, and are returned apart.
func (p *consolePage) problems() (errs, network []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.console {
		switch {
		case m.IsException():
			errs = append(errs, m.String())
		case m.Type == chromedp.ConsoleError && m.Source == "network":
			network = append(network, m.String())
		case m.Type == chromedp.ConsoleError:
			errs = append(errs, m.Source+" "+m.String())
		}
	}
	return errs, network
}

// chatEntry is a line of the feed that shows a message.
type chatEntry struct {
	Who     string `json:"who"`
	Text    string `json:"text"`
	Earlier bool   `json:"earlier"`
}

// chat returns the feed's message lines, top to bottom.
func (p *consolePage) chat() []chatEntry {
	p.t.Helper()
	const js = `JSON.stringify([...document.querySelectorAll('#feed li.entry')]
		.filter((li) => li.querySelector('.who'))
		.map((li) => ({who: li.querySelector('.who').textContent, text: li.querySelector('.text').textContent,
			earlier: li.classList.contains('entry--earlier')})))`
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	require.NoError(p.t, err)
	var entries []chatEntry
	require.NoError(p.t, json.Unmarshal([]byte(out), &entries))
	return entries
}

// waitChat waits up to within until the feed shows every text that want
// returns (asked again each time), and returns when.
func (p *consolePage) waitChat(within time.Duration, want func() []string) time.Time {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		shown := map[string]bool{}
		for _, e := range p.chat() {
			shown[e.Text] = true
		}
		missing := 0
		for _, text := range want() {
			if !shown[text] {
				missing++
			}
		}
		if missing == 0 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d acknowledged messages not on the page within %s; the feed:\n%s", missing, within, p.textNow("#feed"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTextWithin waits up to within until sel shows want, and returns when.
func (p *page) waitTextWithin(sel, want string, within time.Duration) time.Time {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(p.textNow(sel), want) {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s did not show %q within %s; it shows %q", sel, want, within, p.textNow(sel))
	return time.Time{}
}

// cspLists reports whether n's page may open the sockets of the web
// fronts of others (its Content-Security-Policy's connect-src names them).
func cspLists(n *Node, others ...*Node) bool {
	resp, err := http.Get("http://" + n.WebAddr().String() + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, o := range others {
		if !strings.Contains(csp, "ws://"+o.WebAddr().String()) {
			return false
		}
	}
	return true
}

func TestAPageWhoseNodeIsKilledMovesToALiveNodeAndMissesNoMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of three nodes and a browser, and kills a node")
	}
	browser := openBrowser(t)
	c := startFaultyCluster(t, 3, func(o *Options) { o.WebAddr = "127.0.0.1:0" })
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	// n1 has heard the others: its checkin lists them, and its page may
	// open their sockets.
	require.Eventually(t, func() bool { return cspLists(n1, n2, n3) }, waitFor, 50*time.Millisecond,
		"n1's page may open the sockets of n2 and n3")

	p := newConsolePage(t, browser, n1)
	p.checkin("J001")
	j002 := dial(t, n2)
	j002.checkin("J002")
	p.waitText("#members", "J002")
	j002.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 10000}, nil)
	p.waitText("#session-state", "J002")

	var (
		mu       sync.Mutex
		acked    []string
		statuses = map[int]int{}
		sent     int
	)
	// send sends the next message of J002 and notes its answer; one not
	// answered 200 may or may not be stored, and is not counted.
	send := func() error {
		mu.Lock()
		text := fmt.Sprintf("msg-%03d", sent)
		sent++
		mu.Unlock()
		f, took := j002.timedRequest(campbus.CmdMessage, map[string]string{"text": text}, 5*time.Second)
		if f == nil {
			return fmt.Errorf("no answer to %s within %s", text, took)
		}
		mu.Lock()
		defer mu.Unlock()
		statuses[f.Status]++
		if f.Status == 200 {
			acked = append(acked, text)
		}
		return nil
	}
	ackedSoFar := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	}

	// Before: the page shows them live.
	for range 5 {
		require.NoError(t, send())
	}
	before := ackedSoFar()
	p.waitText("#feed", before[len(before)-1])

	// During: J002 talks every 100 ms while n1 is killed and the page moves.
	stopTalking := make(chan struct{})
	stop := sync.OnceFunc(func() { close(stopTalking) })
	defer stop()
	talked := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopTalking:
				talked <- nil
				return
			case <-tick.C:
				if err := send(); err != nil {
					talked <- err
					return
				}
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	c.hardKill(0)
	backAt := p.waitTextWithin("#feed", "reconnected to n", 60*time.Second)
	feed := p.textNow("#feed")
	var moved string
	for _, line := range strings.Split(feed, "\n") {
		if strings.Contains(line, "reconnected to n") {
			moved = strings.TrimSpace(line)
		}
	}
	t.Logf("the page was back %.2f s after the kill: %q", backAt.Sub(killed).Seconds(), moved)
	assert.Regexp(t, `reconnected to n[23] \(ws://127\.0\.0\.1:\d+/ws\) after `, moved)
	p.waitText("#status", "Connected")

	// The missed events are read (history) after the line that says it is
	// back, and go in above the live ones: wait until the feed has every
	// message acknowledged so far, while J002 goes on talking.
	caughtUpAt := p.waitChat(45*time.Second, ackedSoFar)
	t.Logf("every message acknowledged so far was on the page %.2f s after the kill", caughtUpAt.Sub(killed).Seconds())

	// After: a little more once it is back.
	time.Sleep(time.Second)
	stop()
	require.NoError(t, <-talked)
	for range 5 {
		require.NoError(t, send())
	}
	all := ackedSoFar()
	p.waitChat(waitFor, func() []string { return all })

	// Every acknowledged message once, in order, live or as missed.
	entries := p.chat()
	var seen, seenAcked []string
	earlier := 0
	ackedSet := map[string]bool{}
	for _, s := range all {
		ackedSet[s] = true
	}
	counts := map[string]int{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Who, "J002:") {
			continue
		}
		seen = append(seen, e.Text)
		counts[e.Text]++
		if ackedSet[e.Text] {
			seenAcked = append(seenAcked, e.Text)
		}
		if e.Earlier {
			earlier++
		}
	}
	for s, n := range counts {
		assert.Equal(t, 1, n, "%s shown %d times", s, n)
	}
	assert.Equal(t, all, seenAcked, "every acknowledged message, once, in order")
	errs, network := p.problems()
	assert.Empty(t, errs, "no exception, no console error")
	divider := "(none: nothing was missed)"
	for _, line := range strings.Split(p.textNow("#feed"), "\n") {
		if strings.Contains(strings.ToLower(line), "missed while away") {
			divider = strings.TrimSpace(line)
		}
	}
	mu.Lock()
	t.Logf("J002 sent %d messages, %d acknowledged; answers by status: %v; the page showed %d, %d of them caught up as missed under %q; the browser's network notes: %q",
		sent, len(all), statuses, len(seen), earlier, divider, network)
	mu.Unlock()
	if t.Failed() {
		t.Logf("the feed:\n%s", p.textNow("#feed"))
	}
}
