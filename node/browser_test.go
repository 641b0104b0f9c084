package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// chromium returns the path of a Chromium to drive. CI installs one
// (.ci/run); elsewhere a machine without it skips these tests and says how
// to get it, but CI never skips them.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: CI must install it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji to run the browser tests")
	return ""
}

// page is one browser tab on the node's web address.
type page struct {
	t   *testing.T
	ctx context.Context
}

// openBrowser starts a headless Chromium, with the flags given besides its
// own; each newPage is a tab of it.
func openBrowser(t *testing.T, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(1200, 860),
		chromedp.Flag("lang", "en-US"),
	)
	opts = append(opts, flags...)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(browser)) // start it
	return browser
}

func newPage(t *testing.T, browser context.Context, n *Node) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The first run makes the tab, which lives as long as that run's
	// context: it gets the page's own, with no timeout.
	require.NoError(t, chromedp.Do(ctx))
	p := &page{t: t, ctx: ctx}
	if dir := os.Getenv("CAMPBUS_TEST_SHOTS"); dir != "" {
		// For a failure: how each page looked at the end.
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%p.png", strings.ReplaceAll(t.Name(), "/", "_"), p)), png, 0o644)
			}
		})
	}
	scheme := "http://"
	if n.opts.TLSCert != "" {
		scheme = "https://"
	}
	p.run(chromedp.Navigate(scheme+n.WebAddr().String()+"/"), chromedp.WaitVisible(chromedp.ID("camp-id")))
	// Connected (in whichever language), the page has also filled in the
	// campId it remembers.
	p.run(chromedp.WaitVisible(chromedp.CSS(`#status[data-state="up"]`)))
	return p
}

// run runs actions within the test's wait bound.
func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 2*waitFor)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...))
}

func (p *page) checkin(id string) {
	p.t.Helper()
	p.run(
		clearField("#camp-id"),
		chromedp.SendKeys(chromedp.ID("camp-id"), id),
		chromedp.Click(chromedp.ID("checkin-button")),
		chromedp.WaitVisible(chromedp.ID("camp-view")),
	)
	p.waitText("#me-id", id)
}

// waitText waits until the element sel shows want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	require.Eventually(p.t, func() bool {
		ctx, cancel := context.WithTimeout(p.ctx, time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		return err == nil && strings.Contains(s, want)
	}, waitFor, 50*time.Millisecond, "%s shows %q; it shows %q", sel, want, p.textNow(sel))
}

func (p *page) textNow(sel string) string {
	ctx, cancel := context.WithTimeout(p.ctx, time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	return s
}

// clearField empties the input sel as a person would, so that the page
// hears of it.
func clearField(sel string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, sel)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}

// submit types text into the field sel and presses Enter.
func (p *page) submit(sel, text string) {
	p.t.Helper()
	p.run(
		clearField(sel),
		chromedp.SendKeys(chromedp.CSS(sel), text+"\r"),
	)
}

func TestBrowsersAndATCPCamperChatInOneGroup(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{})
	a := newPage(t, browser, n)
	a.checkin("J001")
	b := newPage(t, browser, n)
	b.checkin("J002")
	a.waitText("#members", "J002")
	tcp := dial(t, n)
	tcp.checkin("J003")
	a.waitText("#members", "J003")
	b.waitText("#members", "J003")

	// A hosts a session; B writes in Korean with an emoji; the TCP camper
	// and A read it; the TCP camper answers and both pages show it.
	a.submit("#max-count", "5")
	b.waitText("#session-state", "J001")
	tcp.expect(campbus.EventPeerSession)
	b.submit("#message-text", "안녕하세요 🚀")
	assert.Equal(t, "안녕하세요 🚀", tcp.expect(campbus.EventMessage).Text)
	a.waitText("#feed", "안녕하세요 🚀")
	tcp.ok(campbus.CmdMessage, map[string]string{"text": "반갑습니다 ✅"}, nil)
	a.waitText("#feed", "반갑습니다 ✅")
	b.waitText("#feed", "반갑습니다 ✅")
	a.waitText("#remaining", "3")
	tcp.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J002", Text: "psst ☕"}, nil)
	b.waitText("#feed", "psst ☕")

	if path := os.Getenv("CAMPBUS_SCREENSHOT"); path != "" {
		ctx, cancel := context.WithTimeout(a.ctx, waitFor)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot of J001's page written to %s", path)
	}

	// B reloads: its socket goes (checked out), the page checks in again.
	b.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("camp-id")))
	left := tcp.expect(campbus.EventCheckout)
	assert.Equal(t, "J002", left.CampID)
	assert.Equal(t, campbus.ReasonDisconnect, left.Reason)
	b.checkin("J002")
	assert.Equal(t, "J002", tcp.expect(campbus.EventJoin).CampID)
	b.waitText("#feed", "안녕하세요 🚀") // history on opening
}

func TestABadCampIDIsShownAsAnError(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{})
	p := newPage(t, browser, n)
	p.run(chromedp.SendKeys(chromedp.ID("camp-id"), "J9"))
	p.waitText("#camp-id-check", "3 digits")
	p.run(
		clearField("#camp-id"),
		chromedp.SendKeys(chromedp.ID("camp-id"), "J999"),
		chromedp.Click(chromedp.ID("checkin-button")),
	)
	p.waitText("#checkin-msg", "J001–J384")           // the range, from the server's sentence
	p.waitText("#checkin-msg", "Could not check in:") // what failed
	// A taken campId: the page's sentence names it, and suggests no other
	// (the page cannot know which are free).
	other := dial(t, n)
	other.checkin("J004")
	p.run(
		clearField("#camp-id"),
		chromedp.SendKeys(chromedp.ID("camp-id"), "J004"),
		chromedp.Click(chromedp.ID("checkin-button")),
	)
	p.waitText("#checkin-msg", "Someone is checked in as J004 already.")
	assert.NotContains(t, p.textNow("#checkin-msg"), "J005")
}

func TestAKoreanBrowserGetsThePageInKorean(t *testing.T) {
	browser := openBrowser(t, chromedp.Flag("lang", "ko-KR"), chromedp.Flag("accept-lang", "ko-KR,ko"))
	n := webNode(t, Options{})
	p := newPage(t, browser, n)
	lang, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	require.NoError(t, err)
	assert.Equal(t, "ko", lang)
	p.waitText("#status", "연결됨")
	p.waitText(`label[for="camp-id"]`, "내 campId")

	// The server's errors, in the page's Korean.
	p.run(clearField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J999"), chromedp.Click(chromedp.ID("checkin-button")))
	p.waitText("#checkin-msg", "체크인하지 못했어요: 이 캠프의 campId가 아니에요. 이 캠프의 campId는 J001–J384예요.")
	other := dial(t, n)
	other.checkin("J004")
	p.run(clearField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J004"), chromedp.Click(chromedp.ID("checkin-button")))
	p.waitText("#checkin-msg", "다른 사람이 이미 J004 아이디로 체크인해 있어요.")
	assert.NotContains(t, p.textNow("#checkin-msg"), "J005")

	// In the group: the TCP camper's join and message, in Korean around
	// the camper's own words.
	p.checkin("J002")
	p.waitText("#feed", "1번 그룹에 체크인했어요")
	other.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 3}, nil)
	p.waitText("#feed", "J004 님이 세션을 시작했어요 (메시지 3개)")
	other.ok(campbus.CmdMessage, map[string]string{"text": "hello, 안녕"}, nil)
	p.waitText("#feed", "J004 님의 메시지:")
	p.waitText("#feed", "hello, 안녕")
	p.waitText("#remaining", "(2개 남음)")
}

func TestAPageIsToldWhenTheServerShutsDown(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{})
	p := newPage(t, browser, n)
	p.checkin("J001")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	p.waitText("body", "server shutting down")
}

func TestAPageReconnectsByItselfAfterADrop(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{})
	tcp := dial(t, n)
	tcp.checkin("J001")
	p := newPage(t, browser, n)
	p.checkin("J002")
	assert.Equal(t, "J002", tcp.expect(campbus.EventJoin).CampID)
	// The server drops the page's socket, as a node healed from a cut does.
	var busID string
	for id, campID := range n.hub.CheckedIn() {
		if campID == "J002" {
			busID = id
		}
	}
	require.True(t, n.hub.Evict(busID, "J002"))
	left := tcp.expect(campbus.EventCheckout)
	assert.Equal(t, "J002", left.CampID)
	// Until the test lets it, the page cannot check in again: another
	// connection holds J002. Meanwhile the group goes on.
	holder := dial(t, n)
	holder.checkin("J002")
	assert.Equal(t, "J002", tcp.expect(campbus.EventJoin).CampID)
	tcp.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
	tcp.ok(campbus.CmdMessage, map[string]string{"text": "while you were away"}, nil)
	tcp.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J002", Text: "a direct kept for you"}, nil)
	holder.conn.Close()
	assert.Equal(t, "J002", tcp.expect(campbus.EventCheckout).CampID)

	// The page connects and checks in again as J002, with nobody's help,
	// and shows what it missed, once.
	back := tcp.expect(campbus.EventJoin)
	assert.Equal(t, "J002", back.CampID)
	p.waitText("#status", "Connected")
	p.waitText("#me-id", "J002")
	p.waitText("#feed", "reconnected after")
	p.waitText("#feed", "a direct kept for you")
	feed := p.textNow("#feed")
	assert.Contains(t, strings.ToLower(feed), "missed while away: 3 events", "its own leaving and joining are not news")
	for _, missed := range []string{"peersession started by J001", "while you were away", "a direct kept for you"} {
		assert.Equal(t, 1, strings.Count(feed, missed), "%q once in the feed:\n%s", missed, feed)
	}
	tcp.ok(campbus.CmdMessage, map[string]string{"text": "live again"}, nil)
	p.waitText("#feed", "live again")
}
