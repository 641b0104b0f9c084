package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/session"
)

// openStaffPage opens the staff page at /staff in a tab whose console
// messages are kept from before it loads.
func openStaffPage(t *testing.T, browser context.Context, n *Node) *consolePage {
	t.Helper()
	return openStaffPageAt(t, browser, "http://"+n.WebAddr().String()+"/staff")
}

func openStaffPageAt(t *testing.T, browser context.Context, url string) *consolePage {
	t.Helper()
	p := consoleTab(t, browser, "staff")
	p.run(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("staff-token")))
	p.run(chromedp.WaitVisible(chromedp.CSS(`#status[data-state="up"]`)))
	return p
}

// signInWith pastes token into the staff page's sign-in form and signs in.
func (p *consolePage) signInWith(token string) {
	p.t.Helper()
	p.run(
		clearField("#staff-token"),
		chromedp.SendKeys(chromedp.ID("staff-token"), token),
		chromedp.Click(chromedp.ID("signin-button")),
	)
}

// The staff page, in English and Korean: a camper's token is refused in
// the page's words; a staff token shows the board live (groups, members,
// the session and its count); announce reaches every camper; mute from the
// board silences a camper; kick, after its confirm, closes a camper's
// connection; and the page logs no error.
func TestTheStaffPageShowsTheBoardAndAnnouncesMutesAndKicks(t *testing.T) {
	for _, tc := range []struct {
		lang                                    string
		flags                                   []chromedp.ExecAllocatorOption
		refused, who, session, reached, muted   string
		mutedBadge, kickAsk, kicked, groupTitle string
		other, otherGroupTitle, otherSignOut    string
		badMinutes, notIn                       string
	}{
		{lang: "en",
			refused: "That is not a staff token of this camp", who: "Signed in as 김코치 (staff)",
			session: "Session hosted by J001: 1/3 messages", reached: "it reached 5 campers in 2 groups",
			muted: "J002 is muted until", mutedBadge: "muted until", kickAsk: "Check J003 out and close its connection",
			kicked: "J003 was checked out of group#1", groupTitle: "group#2",
			other: "ko", otherGroupTitle: "2번 그룹", otherSignOut: "로그아웃",
			badMinutes: "Could not mute: A mute lasts a whole number of minutes, from 0 to 1440.",
			notIn:      "Could not kick: J099 is not checked in right now."},
		{lang: "ko", flags: []chromedp.ExecAllocatorOption{chromedp.Flag("lang", "ko-KR"), chromedp.Flag("accept-lang", "ko-KR,ko")},
			refused: "이 캠프의 스태프 토큰이 아니에요", who: "스태프 김코치 님으로 로그인했어요",
			session: "J001 님이 연 세션: 메시지 1/3", reached: "2개 그룹의 캠퍼 5명에게 갔어요",
			muted: "J002 님의 메시지를", mutedBadge: "까지 차단", kickAsk: "J003 님에게 “flooding”라고 알리고",
			kicked: "J003 님을 1번 그룹에서 체크아웃시켰어요", groupTitle: "2번 그룹",
			other: "en", otherGroupTitle: "group#2", otherSignOut: "Sign out",
			badMinutes: "차단하지 못했어요: 메시지 차단은 0분에서 1440분 사이의 정수로만 정할 수 있어요.",
			notIn:      "내보내지 못했어요: J099 님은 지금 체크인하지 않았어요."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			browser := openBrowser(t, tc.flags...)
			n := webNode(t, Options{AuthSecret: campSecret})
			cs := make([]*camper, 5)
			for i := range cs {
				cs[i] = dial(t, n)
				cs[i].checkinWith(fmt.Sprintf("J%03d", i+1))
			}
			cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 3}, nil)

			p := openStaffPage(t, browser, n)
			assert.Equal(t, tc.lang, p.htmlLang())

			// A camper's token does not sign in.
			p.signInWith(mintFor(t, "J001"))
			p.waitText("#signin-msg", tc.refused)

			p.signInWith(staffToken(t, "김코치"))
			p.run(chromedp.WaitVisible(chromedp.ID("staff-view")))
			p.waitText("#me-who", tc.who)
			p.waitText("#groups", "J005")
			p.waitText("#groups", tc.groupTitle)
			assert.Empty(t, p.unlabelled(), "every control has a label")
			for _, id := range []string{"J001", "J002", "J003", "J004"} {
				p.waitText(`#groups [data-group="1"]`, id)
			}
			// Live: a message in the session shows in its count; a member's
			// button that had the focus keeps it when the board is written anew.
			p.eval(`document.querySelector('#groups li[data-camp-id="J004"] button[data-action="kick"]').focus()`)
			cs[1].ok(campbus.CmdMessage, map[string]string{"text": "안녕"}, nil)
			p.waitText(`#groups [data-group="1"] [data-role="session"]`, tc.session)
			assert.Equal(t, "J004 kick", p.eval(`(() => { const e = document.activeElement; return e.closest('li').dataset.campId + ' ' + e.dataset.action })()`))

			// Announce reaches every camper.
			p.run(
				clearField("#announce-text"),
				chromedp.SendKeys(chromedp.ID("announce-text"), "점심은 12시 30분"),
				chromedp.Click(chromedp.ID("announce-button")),
			)
			p.waitText("#announce-msg", tc.reached)
			for _, c := range cs {
				ev := c.expectSkipping(campbus.EventAnnouncement)
				assert.Equal(t, "김코치", ev.From)
				assert.Equal(t, "점심은 12시 30분", ev.Text)
			}

			// Mute from the board: J002's messages are refused.
			p.run(chromedp.Click(chromedp.CSS(`#groups li[data-camp-id="J002"] button[data-action="mute"]`)))
			p.run(clearField("#mute-minutes"), chromedp.SendKeys(chromedp.ID("mute-minutes"), "5"),
				chromedp.Click(chromedp.ID("mute-button")))
			p.waitText("#mute-msg", tc.muted)
			assert.Equal(t, "김코치", cs[1].expectSkipping(campbus.EventMuted).By)
			cs[1].fails(campbus.CmdMessage, map[string]string{"text": "spam"}, 403, campbus.CodeMuted)
			p.waitText(`#groups li[data-camp-id="J002"]`, tc.mutedBadge)

			// The server's refusals, in the page's words.
			p.run(clearField("#mute-minutes"), chromedp.SendKeys(chromedp.ID("mute-minutes"), "-1"),
				chromedp.Click(chromedp.ID("mute-button")))
			p.waitText("#mute-msg", tc.badMinutes)
			p.run(clearField("#kick-camp-id"), chromedp.SendKeys(chromedp.ID("kick-camp-id"), "j099"),
				chromedp.Click(chromedp.ID("kick-button")), chromedp.WaitVisible(chromedp.ID("kick-confirm")),
				chromedp.Click(chromedp.ID("kick-yes")))
			p.waitText("#kick-msg", tc.notIn)

			// Kick from the board, after the confirm: J003's connection closes.
			p.run(chromedp.Click(chromedp.CSS(`#groups li[data-camp-id="J003"] button[data-action="kick"]`)))
			p.run(clearField("#kick-reason"), chromedp.SendKeys(chromedp.ID("kick-reason"), "flooding"),
				chromedp.Click(chromedp.ID("kick-button")))
			p.run(chromedp.WaitVisible(chromedp.ID("kick-confirm")))
			p.waitText("#kick-question", tc.kickAsk)
			p.run(chromedp.Click(chromedp.ID("kick-yes")))
			p.waitText("#kick-msg", tc.kicked)
			ev := cs[2].expectSkipping(campbus.EventKicked)
			assert.Equal(t, "flooding", ev.Reason)
			cs[2].closed()
			require.Eventually(t, func() bool {
				s := p.textNow(`#groups [data-group="1"]`)
				return s != "" && !strings.Contains(s, "J003")
			}, waitFor, 50*time.Millisecond, "the board drops J003")

			// The switch: the other language at once, the board written again.
			p.run(chromedp.Click(chromedp.ID("lang-" + tc.other)))
			assert.Equal(t, tc.other, p.htmlLang())
			p.waitText("#groups", tc.otherGroupTitle)
			p.waitText("#sign-out", tc.otherSignOut)
			// A reload keeps the language chosen, and forgets the token.
			p.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("staff-token")))
			assert.Equal(t, tc.other, p.htmlLang())
			assert.False(t, p.visible("#staff-view"), "signed out: the token was in memory only")

			errs, network := p.problems()
			assert.Empty(t, errs, "the page's exceptions and console errors")
			assert.Empty(t, network, "the page's network errors")
		})
	}
}

// The staff page, in English and Korean: a TCP camper's message shows
// under its group; Redact, after its confirm, takes its text out (the
// campers hear of it, history keeps it without its text), a redact of what
// is no message is refused in the page's words; Revoke from the board,
// after its confirm, closes the camper's connection and its old token is
// refused at checkin.
func TestTheStaffPageRedactsAMessageAndRevokesACamper(t *testing.T) {
	for _, tc := range []struct {
		lang                                  string
		flags                                 []chromedp.ExecAllocatorOption
		redactAsk, redacted, redactDone       string
		noMessage, revokeAsk, revoked, awayTo string
	}{
		{lang: "en",
			redactAsk: "Take the text out of the message of J001 at offset", redacted: "(redacted by 김코치, staff)",
			redactDone: "was redacted", noMessage: "Could not redact: There is no message or announcement of that group at that offset to redact.",
			revokeAsk: "Refuse every token of J002 issued so far", revoked: "it was checked out of group#1",
			awayTo: "it was not checked in"},
		{lang: "ko", flags: []chromedp.ExecAllocatorOption{chromedp.Flag("lang", "ko-KR"), chromedp.Flag("accept-lang", "ko-KR,ko")},
			redactAsk: "J001 님의 메시지", redacted: "(스태프 김코치 님이 가린 메시지예요)",
			redactDone: "를 가렸어요", noMessage: "가리지 못했어요: 그 그룹의 그 자리에는 가릴 메시지나 공지가 없어요.",
			revokeAsk: "J002 님에게 지금까지 발급된 토큰을 모두 거절하고", revoked: "1번 그룹에서 체크아웃시켰어요",
			awayTo: "체크인하지 않은 캠퍼였어요"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			browser := openBrowser(t, tc.flags...)
			n := webNode(t, Options{AuthSecret: campSecret})
			j1, j2 := dial(t, n), dial(t, n)
			j1.checkinWith("J001")
			old := mintFor(t, "J002")
			j2.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002", Token: old}, nil)
			j1.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)

			p := openStaffPage(t, browser, n)
			p.signInWith(staffToken(t, "김코치"))
			p.waitText(`#groups [data-group="1"]`, "J002")

			// A camper's message shows under its group, as it is heard.
			j1.ok(campbus.CmdMessage, map[string]string{"text": "my password is hunter2"}, nil)
			leaked := j2.expectSkipping(campbus.EventMessage)
			recent := `#groups [data-group="1"] [data-role="recent"]`
			p.waitText(recent, "hunter2")
			assert.Empty(t, p.unlabelled(), "every control has a label")

			// Redact, after the confirm.
			msg := fmt.Sprintf(`%s li[data-offset="%d"]`, recent, leaked.Offset)
			p.clickNow(msg + ` button[data-action="redact"]`)
			p.run(chromedp.WaitVisible(chromedp.ID("redact-confirm")))
			p.waitText("#redact-question", tc.redactAsk)
			p.waitText("#redact-question", "hunter2")
			p.clickNow("#redact-yes")
			p.waitText("#redact-msg", tc.redactDone)
			p.waitText(msg, tc.redacted)
			require.Eventually(t, func() bool { return !strings.Contains(p.textNow(recent), "hunter2") }, waitFor,
				50*time.Millisecond, "the text is gone from the page")
			for _, c := range []*camper{j1, j2} {
				ev := c.expectSkipping(campbus.EventRedacted)
				assert.Equal(t, leaked.Offset, ev.Offset)
				assert.Equal(t, "김코치", ev.By)
			}
			var h campbus.HistoryResponse
			j2.ok(campbus.CmdHistory, nil, &h)
			seen := false
			for _, raw := range h.Events {
				var ev campbus.Event
				require.NoError(t, json.Unmarshal(raw, &ev))
				if ev.Type == campbus.EventMessage && ev.Offset == leaked.Offset {
					seen = true
					assert.True(t, ev.Redacted)
					assert.Empty(t, ev.Text)
					assert.NotContains(t, string(raw), "hunter2")
				}
			}
			assert.True(t, seen, "history keeps the message, without its text")

			// A redact the server finds no message for (here J001's join, at
			// offset 1, as the button of "oops" is made to name it) is
			// refused in the page's words.
			j1.ok(campbus.CmdMessage, map[string]string{"text": "oops"}, nil)
			p.waitText(recent, "oops")
			p.eval(fmt.Sprintf(`(() => { const li = [...document.querySelectorAll('%s li')].find((e) => e.textContent.includes('oops'));
				li.dataset.offset = '1'; li.querySelector('button[data-action="redact"]').click(); return '' })()`, recent))
			p.run(chromedp.WaitVisible(chromedp.ID("redact-confirm")))
			p.clickNow("#redact-yes")
			p.waitText("#redact-msg", tc.noMessage)

			// Revoke from the board, after the confirm.
			p.clickNow(`#groups li[data-camp-id="J002"] button[data-action="revoke"]`)
			assert.Equal(t, "J002", p.eval(`document.getElementById('revoke-camp-id').value`))
			p.run(chromedp.Click(chromedp.ID("revoke-button")), chromedp.WaitVisible(chromedp.ID("revoke-confirm")))
			p.waitText("#revoke-question", tc.revokeAsk)
			p.run(chromedp.Click(chromedp.ID("revoke-yes")))
			p.waitText("#revoke-msg", tc.revoked)
			j2.expectSkipping(campbus.EventKicked)
			j2.closed()
			e := dial(t, n).fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002", Token: old}, 401, campbus.CodeBadToken)
			assert.Contains(t, e.Message, "revoked")

			// A camper not checked in may be revoked too.
			p.run(clearField("#revoke-camp-id"), chromedp.SendKeys(chromedp.ID("revoke-camp-id"), "j009"),
				chromedp.Click(chromedp.ID("revoke-button")), chromedp.WaitVisible(chromedp.ID("revoke-confirm")),
				chromedp.Click(chromedp.ID("revoke-yes")))
			p.waitText("#revoke-msg", tc.awayTo)

			errs, network := p.problems()
			assert.Empty(t, errs, "the page's exceptions and console errors")
			assert.Empty(t, network, "the page's network errors")
		})
	}
}

// clickNow clicks the element sel names as the page holds it now, in one
// step: the board is written anew as events come, and a button found a
// moment before may have been replaced, or moved, by the time a click
// lands where it was.
func (p *consolePage) clickNow(sel string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(chromedp.CSS(sel)))
	assert.Equal(p.t, "clicked", p.eval(`(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); if (!e) return 'gone'; e.click(); return 'clicked' })()`), sel)
}

// htmlLang is the page's <html lang>.
func (p *consolePage) htmlLang() string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	l, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	require.NoError(p.t, err)
	return l
}

// unlabelled lists the page's visible controls that have no name: an input
// without a <label> or aria-label, a button without text or aria-label.
func (p *consolePage) unlabelled() []string {
	p.t.Helper()
	const js = `JSON.stringify([...document.querySelectorAll('input, button, select, textarea')]
  .filter((e) => e.getClientRects().length > 0)
  .filter((e) => !((e.labels && e.labels.length > 0) || (e.getAttribute('aria-label') || '').trim() !== '' ||
    (e.tagName === 'BUTTON' && e.textContent.trim() !== '')))
  .map((e) => e.id || e.outerHTML))`
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	require.NoError(p.t, err)
	var ids []string
	require.NoError(p.t, json.Unmarshal([]byte(out), &ids))
	return ids
}

// cutter passes TCP connections to a node's web address and cuts them all
// at once when told, as a network that drops would.
type cutter struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
}

func newCutter(t *testing.T, to string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &cutter{ln: ln, to: to}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

// cut closes every connection passed so far.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// After a drop the staff page connects again and signs in again with the
// token it holds in memory (never in localStorage), and the board goes on
// live.
func TestTheStaffPageSignsInAgainAfterADrop(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{AuthSecret: campSecret})
	dial(t, n).checkinWith("J001")
	link := newCutter(t, n.WebAddr().String())
	p := openStaffPageAt(t, browser, "http://"+link.addr()+"/staff")
	token := staffToken(t, "Mina")
	p.signInWith(token)
	p.waitText("#me-who", "Signed in as Mina")
	p.waitText("#groups", "J001")

	link.cut()
	p.waitText("#status", "Trying again")
	p.waitText("#status", "Connected")
	dial(t, n).checkinWith("J002")
	p.waitText("#groups", "J002")
	p.waitText("#me-who", "Signed in as Mina")
	assert.True(t, p.visible("#staff-view"), "still signed in")

	stored, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify(Object.entries(localStorage))`))
	require.NoError(t, err)
	assert.NotContains(t, stored, token[:20], "the token is not stored")
	errs, _ := p.problems()
	assert.Empty(t, errs, "the page's exceptions and console errors")
}

func (p *consolePage) visible(sel string) bool {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); return !!e && e.getClientRects().length > 0 })()`))
	require.NoError(p.t, err)
	return v
}

// GET /staff is the staff page, under the camper page's
// Content-Security-Policy, with its scripts beside it.
func TestTheStaffPageIsServed(t *testing.T) {
	n := webNode(t, Options{AuthSecret: campSecret})
	base := "http://" + n.WebAddr().String()
	resp, err := http.Get(base + "/staff")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'self'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Contains(t, string(body), `src="staff.js"`)
	for _, file := range []string{"/staff.js", "/board.js", "/style.css"} {
		r, err := http.Get(base + file)
		require.NoError(t, err)
		r.Body.Close()
		assert.Equal(t, 200, r.StatusCode, file)
	}
	home, err := http.Get(base + "/")
	require.NoError(t, err)
	page, err := io.ReadAll(home.Body)
	home.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(page), `href="/staff"`, "the camper page links to it")
}

// A sign-in form left open past the server's checkin deadline gets a new
// socket each time the server closes the idle one, and a token pasted in
// between signs in on the next.
func TestTheStaffPageSignsInPastTheCheckinDeadline(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{AuthSecret: campSecret, Sessions: session.Options{CheckinTimeout: time.Second}})
	dial(t, n).checkinWith("J001")
	p := openStaffPage(t, browser, n)
	require.Eventually(t, func() bool { return n.SessionStats().CheckinTimeouts >= 2 }, waitFor, 50*time.Millisecond,
		"the server closes the idle sockets")
	p.signInWith(staffToken(t, "Mina"))
	p.waitText("#me-who", "Signed in as Mina")
	p.waitText("#groups", "J001")
	p.waitText("#status", "Connected")
	errs, _ := p.problems()
	assert.Empty(t, errs, "the page's exceptions and console errors")
}

// eval runs js in the page and returns what it gives, as a string.
func (p *consolePage) eval(js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+js+`)`))
	require.NoError(p.t, err)
	return out
}
