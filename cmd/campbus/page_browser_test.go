package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus/node"
)

// The page (webfront/static) against a scripted camp of web nodes that
// speak PROTOCOL §8, to see it move to a live node, wait for its campId and
// ask again while the camp elects: what a real camp does only when a node
// is lost. The page's files are served from the source tree.

// pageWait bounds each wait on the page.
const pageWait = 15 * time.Second

// chromiumForTest returns a Chromium to drive, or skips without one
// (outside CI, which installs it).
func chromiumForTest(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: CI must install it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: apt-get install chromium to run the page's browser tests")
	return ""
}

// wsRequest and wsReply are PROTOCOL §8's request and response.
type wsRequest struct {
	ID      json.RawMessage `json:"id"`
	Command string          `json:"command"`
	Body    json.RawMessage `json:"body"`
}

type wsReply struct {
	ID     json.RawMessage `json:"id"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// fakeWebNode serves the page and a scripted /ws.
type fakeWebNode struct {
	srv    *httptest.Server
	handle func(command string, body json.RawMessage) (int, string)

	mu       sync.Mutex
	sockets  []*websocket.Conn
	requests []string
	wg       sync.WaitGroup
}

func startFakeWebNode(t *testing.T, handle func(command string, body json.RawMessage) (int, string)) *fakeWebNode {
	t.Helper()
	n := &fakeWebNode{handle: handle}
	static, err := filepath.Abs(filepath.Join("..", "..", "webfront", "static"))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(static)))
	mux.HandleFunc("/ws", n.serveWS)
	n.srv = httptest.NewServer(mux)
	t.Cleanup(n.kill)
	return n
}

func (n *fakeWebNode) url() string   { return n.srv.URL }
func (n *fakeWebNode) wsURL() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/ws" }

func (n *fakeWebNode) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // the camp's nodes accept each other's pages
	if err != nil {
		return
	}
	n.mu.Lock()
	n.sockets = append(n.sockets, ws)
	n.wg.Add(1)
	n.mu.Unlock()
	defer n.wg.Done()
	defer ws.CloseNow()
	ctx := context.Background()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var req wsRequest
		if json.Unmarshal(data, &req) != nil {
			return
		}
		n.mu.Lock()
		n.requests = append(n.requests, strings.TrimSpace(req.Command+" "+sortedJSON(req.Body)))
		n.mu.Unlock()
		status, body := n.handle(req.Command, req.Body)
		out, _ := json.Marshal(wsReply{ID: req.ID, Status: status, Body: json.RawMessage(body)})
		if ws.Write(ctx, websocket.MessageText, out) != nil {
			return
		}
	}
}

// sortedJSON writes a JSON object with its keys in order, as Go does.
func sortedJSON(body json.RawMessage) string {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return string(body)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// kill stops the node as a crash does: the sockets cut, nothing listening.
func (n *fakeWebNode) kill() {
	n.mu.Lock()
	for _, ws := range n.sockets {
		_ = ws.CloseNow()
	}
	n.sockets = nil
	n.mu.Unlock()
	n.wg.Wait()
	n.srv.Close()
}

func (n *fakeWebNode) requestsSeen() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.requests...)
}

// browserPage is one headless tab; its console messages are kept.
type browserPage struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func openPage(t *testing.T, url string) *browserPage {
	t.Helper()
	return openPageAs(t, url, "en-US", 1200, 860)
}

// openPageAs opens the page in a Chromium whose language is lang (its
// navigator.languages and Accept-Language) and whose window is width by
// height, and waits until it is connected.
func openPageAs(t *testing.T, url, lang string, width, height int) *browserPage {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumForTest(t)),
		chromedp.NoSandbox,
		chromedp.WindowSize(width, height),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx))
	p := &browserPage{t: t, ctx: ctx}
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
		// For a failure, or a look: how the page looked at the end.
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png"), png, 0o644)
			}
		})
	}
	p.run(chromedp.EmulateViewport(int64(width), int64(height)))
	p.run(chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.ID("camp-id")))
	p.run(chromedp.WaitVisible(chromedp.CSS(`#status[data-state="up"]`)))
	return p
}

// eval runs the JavaScript expression js on the page and returns its value.
func eval[T any](p *browserPage, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(p.t, err, "evaluating %s", js)
	return v
}

func (p *browserPage) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...))
}

func (p *browserPage) textNow(sel string) string {
	ctx, cancel := context.WithTimeout(p.ctx, time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	return s
}

func (p *browserPage) waitText(sel, want string) {
	p.t.Helper()
	require.Eventually(p.t, func() bool { return strings.Contains(p.textNow(sel), want) },
		pageWait, 20*time.Millisecond, "%s shows %q; it shows %q", sel, want, p.textNow(sel))
}

// emptyField empties the input sel as a person would, so that the page
// hears of it.
func emptyField(sel string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, sel)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}

// jsErrors are the exceptions and console errors of the page's scripts
// (a socket the browser could not open is logged by the network, not them).
func (p *browserPage) jsErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []string
	for _, m := range p.console {
		if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
			errs = append(errs, m.String())
		}
	}
	return errs
}

// moveWords are the page's lines that TestPageMovesToALiveNode... waits
// for, in one language.
type moveWords struct {
	lang, checkedIn, lost, held, reconnectedTo, moved, electing, mission, connected string
}

func TestPageMovesToALiveNodeWaitsForItsCampIdAndRetriesWhileTheCampElects(t *testing.T) {
	for _, w := range []moveWords{
		{
			lang: "en-US", checkedIn: "checkin success to group#1 (members: J004)", lost: "connection lost",
			held:          "J004 is still held for the lost connection; waiting for the camp to let it go, then checking in again",
			reconnectedTo: "reconnected to n2 (%s) after", moved: "while you moved",
			electing:  "The camp is electing a leader after losing a node; trying again in 2.0 s",
			mission:   `Day 4: keywords are "Heap, Stack"`,
			connected: "Connected",
		},
		{
			lang: "ko-KR", checkedIn: "1번 그룹에 체크인했어요 (멤버: J004)", lost: "연결이 끊겼어요",
			held:          "캠프가 끊긴 연결의 J004를 아직 붙잡고 있어요. 풀리면 다시 체크인할게요",
			reconnectedTo: "만에 다른 노드 n2 (%s)에 다시 연결됐어요", moved: "while you moved",
			electing:  "노드 하나가 끊겨서 캠프가 새 리더를 뽑고 있어요. 2.0초 뒤에 다시 시도해요",
			mission:   `4일차 키워드: "Heap, Stack"`,
			connected: "연결됨",
		},
	} {
		t.Run(w.lang, func(t *testing.T) { testPageMovesToALiveNode(t, w) })
	}
}

func testPageMovesToALiveNode(t *testing.T, w moveWords) {
	// The handlers read the camp's nodes under a lock: they are known once
	// both serve.
	var nodesMu sync.Mutex
	var nodesJSON string
	nodes := func() string {
		nodesMu.Lock()
		defer nodesMu.Unlock()
		return nodesJSON
	}
	n1 := startFakeWebNode(t, func(command string, _ json.RawMessage) (int, string) {
		switch command {
		case "checkin":
			return 200, `{"campId":"J004","group":1,"members":["J004"],"offset":3,"epoch":"e1","nodes":` + nodes() + `}`
		case "history":
			return 200, `{"events":[]}`
		}
		return 404, `{"error":"no such command","code":"unknown-command"}`
	})
	var mu sync.Mutex
	seen := map[string]int{}
	count := func(command string) int {
		mu.Lock()
		defer mu.Unlock()
		seen[command]++
		return seen[command]
	}
	n2 := startFakeWebNode(t, func(command string, _ json.RawMessage) (int, string) {
		switch command {
		case "checkin":
			if count(command) <= 2 {
				return 409, `{"error":"camp id J004 is checked in on another connection","code":"camp-id-in-use"}`
			}
			return 200, `{"campId":"J004","group":1,"members":["J005","J004"],"offset":5,"epoch":"e1","nodes":` + nodes() + `}`
		case "history":
			return 200, `{"events":[{"type":"message","group":1,"from":"J005","text":"while you moved","seq":1,"remaining":1,"offset":4,"epoch":"e1"}],"next":5,"epoch":"e1"}`
		case "mission":
			if count(command) == 1 {
				return 503, `{"error":"the camp is electing a new leader for its log after losing a node; try again in 2 s","code":"unavailable","retryAfter":2}`
			}
			return 200, `{"day":4,"keywords":"Heap, Stack"}`
		}
		return 404, `{"error":"no such command","code":"unknown-command"}`
	})

	nodesMu.Lock()
	nodesJSON = fmt.Sprintf(`[{"name":"n1","tcp":"127.0.0.1:1","web":%q},{"name":"n2","tcp":"127.0.0.1:2","web":%q}]`, n1.url(), n2.url())
	nodesMu.Unlock()

	p := openPageAs(t, n1.url(), w.lang, 1200, 860)
	p.run(chromedp.SendKeys(chromedp.ID("camp-id"), "J004"), chromedp.Click(chromedp.ID("checkin-button")), chromedp.WaitVisible(chromedp.ID("camp-view")))
	p.waitText("#feed", w.checkedIn)

	n1.kill()
	p.waitText("#feed", w.lost)
	p.waitText("#feed", w.held)
	p.waitText("#feed", fmt.Sprintf(w.reconnectedTo, n2.wsURL()))
	p.waitText("#feed", w.moved)
	assert.Equal(t, 1, strings.Count(p.textNow("#feed"), w.held), "the wait is told once:\n%s", p.textNow("#feed"))

	p.run(emptyField("#day"), chromedp.SendKeys(chromedp.ID("day"), "4\r"))
	p.waitText("#status", w.electing)
	p.waitText("#mission-msg", w.mission)
	p.waitText("#status", w.connected)

	assert.Equal(t, []string{
		`checkin {"campId":"J004"}`, `checkin {"campId":"J004"}`, `checkin {"campId":"J004"}`,
		`history {"after":3,"epoch":"e1","limit":1000}`, `mission {"day":4}`, `mission {"day":4}`,
	}, n2.requestsSeen())
	assert.Empty(t, p.jsErrors(), "no script errors on the page")
}

func TestPageTellsWhenTheCampsLogWasStartedAnew(t *testing.T) {
	var nodesMu sync.Mutex
	var nodesJSON string
	nodes := func() string {
		nodesMu.Lock()
		defer nodesMu.Unlock()
		return nodesJSON
	}
	n1 := startFakeWebNode(t, func(command string, _ json.RawMessage) (int, string) {
		if command == "checkin" {
			return 200, `{"campId":"J004","group":1,"members":["J004"],"offset":7,"epoch":"old","nodes":` + nodes() + `}`
		}
		return 200, `{"events":[]}`
	})
	n2 := startFakeWebNode(t, func(command string, body json.RawMessage) (int, string) {
		switch command {
		case "checkin":
			return 200, `{"campId":"J004","group":1,"members":["J006","J004"],"offset":2,"epoch":"new","nodes":` + nodes() + `}`
		case "history":
			if strings.Contains(string(body), "after") {
				return 409, `{"error":"the camp's log was started anew; offsets of the old one mean nothing here","code":"epoch-changed","epoch":"new"}`
			}
			return 200, `{"events":[{"type":"join","group":1,"campId":"J006","members":["J006"],"offset":1,"epoch":"new"},` +
				`{"type":"join","group":1,"campId":"J004","members":["J006","J004"],"offset":2,"epoch":"new"}],"epoch":"new"}`
		}
		return 404, `{"error":"no such command","code":"unknown-command"}`
	})
	nodesMu.Lock()
	nodesJSON = fmt.Sprintf(`[{"name":"n1","tcp":"127.0.0.1:1","web":%q},{"name":"n2","tcp":"127.0.0.1:2","web":%q}]`, n1.url(), n2.url())
	nodesMu.Unlock()

	p := openPage(t, n1.url())
	p.run(emptyField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J004"), chromedp.Click(chromedp.ID("checkin-button")), chromedp.WaitVisible(chromedp.ID("camp-view")))
	p.waitText("#feed", "checkin success to group#1 (members: J004)")
	n1.kill()
	p.waitText("#feed", "reconnected to n2 ("+n2.wsURL()+") after")
	p.waitText("#feed", "the camp's log was started anew while you were away: the events before it are gone")
	p.waitText("#feed", "THE CAMP'S LOG WAS STARTED ANEW: THE LATEST 1 EVENT OF THE NEW ONE") // a mark, in capitals
	p.waitText("#feed", "J006 joined group#1")
	assert.Equal(t, []string{`checkin {"campId":"J004"}`, `history {"after":7,"epoch":"old","limit":1000}`, `history {"limit":50}`}, n2.requestsSeen())
	assert.Empty(t, p.jsErrors(), "no script errors on the page")
}

func TestPageAgainstARealNodeChecksInLooksUpAMissionAndComesBackAfterARestart(t *testing.T) {
	chromiumForTest(t)
	dir := t.TempDir()
	n := startE2ENode(t, func(o *node.Options) { o.WebAddr, o.DataDir = "127.0.0.1:0", dir })
	p := openPage(t, "http://"+n.WebAddr().String())
	p.run(emptyField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J004"), chromedp.Click(chromedp.ID("checkin-button")), chromedp.WaitVisible(chromedp.ID("camp-view")))
	p.waitText("#feed", "checkin success to group#1 (members: J004)")
	p.run(emptyField("#day"), chromedp.SendKeys(chromedp.ID("day"), "4\r"))
	p.waitText("#mission-msg", `Day 4: keywords are "Heap, Stack"`)

	// A restart on the same addresses: the page comes back to the same node.
	web := n.WebAddr().String()
	n = restartE2ENode(t, n, dir, func(o *node.Options) { o.WebAddr = web })
	p.waitText("#feed", "reconnected after")
	assert.NotContains(t, p.textNow("#feed"), "reconnected to", "it came back where it was")
	assert.Empty(t, p.jsErrors(), "no script errors on the page")
}
