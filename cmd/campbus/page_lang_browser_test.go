package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The page in Korean and English, and on a phone, against a scripted node:
// J004 is taken, J005 checks in; a message without a session is refused.

func scriptedCamp(t *testing.T) *fakeWebNode {
	t.Helper()
	var session bool
	return startFakeWebNode(t, func(command string, body json.RawMessage) (int, string) {
		switch command {
		case "checkin":
			if strings.Contains(string(body), "J004") {
				return 409, `{"error":"camp id J004 is checked in on another connection","code":"camp-id-in-use"}`
			}
			return 200, `{"campId":"J005","group":1,"members":["J003","J005"],"offset":2,"epoch":"e1"}`
		case "history":
			return 200, `{"events":[],"epoch":"e1"}`
		case "message":
			if !session {
				return 409, `{"error":"no peer session is active in group 1","code":"no-session"}`
			}
			return 200, `{"group":1,"seq":1,"remaining":1,"delivered":1}`
		case "peersession":
			session = true
			return 200, `{"group":1,"host":"J005","maxCount":2}`
		case "complete":
			session = false
			return 200, `{"group":1,"messages":0}`
		case "brand-new":
			return 400, `{"error":"a sentence of the server's own","code":"brand-new"}`
		}
		return 404, `{"error":"no such command","code":"unknown-command"}`
	})
}

// unlabelled lists the page's visible controls that have no name: an input
// without a <label> or aria-label, a button without text or aria-label.
const unlabelled = `(() => [...document.querySelectorAll('input, button, select, textarea')]
  .filter((e) => e.getClientRects().length > 0)
  .filter((e) => !((e.labels && e.labels.length > 0) || (e.getAttribute('aria-label') || '').trim() !== '' ||
    (e.tagName === 'BUTTON' && e.textContent.trim() !== '')))
  .map((e) => e.id || e.outerHTML))()`

func (p *browserPage) visible(sel string) bool {
	p.t.Helper()
	return eval[bool](p, `(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && e.getClientRects().length > 0 })()`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPageSpeaksKoreanToAKoreanBrowserAndTheSwitchToEnglishStays(t *testing.T) {
	n := scriptedCamp(t)
	p := openPageAs(t, n.url(), "ko-KR", 1200, 860)
	require.True(t, strings.HasPrefix(eval[string](p, `navigator.languages[0]`), "ko"), "the browser speaks Korean")

	assert.Equal(t, "ko", eval[string](p, `document.documentElement.lang`))
	p.waitText("#status", "연결됨")
	assert.Equal(t, "내 campId", p.textNow(`label[for="camp-id"]`))
	assert.Equal(t, "체크인", p.textNow("#checkin-button"))
	assert.Equal(t, "토큰을 받았어요", p.textNow("#token-box summary"))
	assert.Equal(t, "true", eval[string](p, `document.getElementById('lang-ko').getAttribute('aria-pressed')`))
	assert.Empty(t, eval[[]string](p, unlabelled), "every control has a label")

	// A taken campId: the page's own Korean sentence, and no other id offered.
	p.run(emptyField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J004"), chromedp.Click(chromedp.ID("checkin-button")))
	p.waitText("#checkin-msg", "체크인하지 못했어요: 다른 사람이 이미 J004 아이디로 체크인해 있어요.")
	msg := p.textNow("#checkin-msg")
	assert.Contains(t, msg, "도움말:")
	assert.NotContains(t, msg, "J005", "no campId is suggested: the page does not know which are free")
	assert.NotContains(t, msg, "another connection", "not the server's English sentence")

	p.run(emptyField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J005"), chromedp.Click(chromedp.ID("checkin-button")), chromedp.WaitVisible(chromedp.ID("camp-view")))
	p.waitText("#feed", "1번 그룹에 체크인했어요 (멤버: J003, J005)")
	assert.Equal(t, "1번 그룹", p.textNow("#group-title"))
	assert.Empty(t, eval[[]string](p, unlabelled), "every control has a label")

	// Only the controls that apply: no session, so "Start session" and no
	// "Complete session"; a message then is refused with a hint that takes
	// the camper to "Start session".
	assert.True(t, p.visible("#start-session"))
	assert.False(t, p.visible("#complete"))
	p.run(chromedp.SendKeys(chromedp.ID("message-text"), "안녕하세요\r"))
	p.waitText("#message-msg", "메시지를 보내지 못했어요: 그룹에 진행 중인 세션이 없어요.")
	p.waitText("#message-msg", "‘세션 시작’")
	assert.NotContains(t, p.textNow("#message-msg"), "peersession 2", "the hint points at the page, not the terminal")
	p.run(chromedp.Click(chromedp.CSS("#message-msg .hint-action")))
	assert.Equal(t, "max-count", eval[string](p, `document.activeElement.id`))
	p.run(chromedp.Click(chromedp.ID("start-session")))
	p.waitText("#feed", "세션을 시작했어요 (메시지 2개)")
	assert.False(t, p.visible("#start-session"), "no second session while one runs")
	assert.True(t, p.visible("#complete"), "its host completes it")
	p.waitText("#session-state", "내가 세션을 진행하고 있어요")

	// The switch: English at once, the feed written again, and it holds
	// over a reload though the browser speaks Korean.
	p.run(chromedp.Click(chromedp.ID("lang-en")))
	assert.Equal(t, "en", eval[string](p, `document.documentElement.lang`))
	p.waitText("#feed", "checkin success to group#1 (members: J003, J005)")
	p.waitText("#feed", "peersession started (maxCount=2)")
	assert.Equal(t, "Message to the group", p.textNow(`label[for="message-text"] [data-i18n]`))
	p.waitText("#message-msg", "Message not sent: No session is running in your group.")
	p.run(chromedp.Click(chromedp.ID("complete")))
	p.waitText("#feed", "peersession completed (0 messages)")
	assert.True(t, p.visible("#start-session"))
	assert.False(t, p.visible("#complete"))

	p.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("camp-id")))
	p.waitText("#status", "Connected")
	assert.Equal(t, "en", eval[string](p, `document.documentElement.lang`))
	assert.Equal(t, "Your campId", p.textNow(`label[for="camp-id"]`))
	assert.Equal(t, "true", eval[string](p, `document.getElementById('lang-en').getAttribute('aria-pressed')`))
	p.run(emptyField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J004"), chromedp.Click(chromedp.ID("checkin-button")))
	p.waitText("#checkin-msg", "Could not check in: Someone is checked in as J004 already.")
	assert.Empty(t, p.jsErrors(), "no script errors and no console errors (CSP) on the page")
}

func TestPageOnAPhoneShowsTheConversationFirstAndKeepsGroupAndSessionOneTapAway(t *testing.T) {
	n := scriptedCamp(t)
	p := openPageAs(t, n.url(), "en-US", 390, 844)
	assert.Equal(t, 390, eval[int](p, `window.innerWidth`))
	p.run(emptyField("#camp-id"), chromedp.SendKeys(chromedp.ID("camp-id"), "J005"), chromedp.Click(chromedp.ID("checkin-button")), chromedp.WaitVisible(chromedp.ID("camp-view")))
	p.waitText("#feed", "checkin success to group#1")

	// The cards are folded; the conversation and the message box are on the
	// first screen, below the bar; the bar names the group and the session.
	for _, card := range []string{"#group-card", "#session-card", "#mission-card"} {
		assert.False(t, p.visible(card), "%s is folded", card)
	}
	inView := func(sel string) bool {
		return eval[bool](p, `(() => { const r = document.querySelector(`+jsString(sel)+`).getBoundingClientRect();
			return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight })()`)
	}
	top := func(sel string) float64 {
		return eval[float64](p, `document.querySelector(`+jsString(sel)+`).getBoundingClientRect().top`)
	}
	assert.True(t, inView("#feed-title"), "the conversation is on the first screen")
	assert.True(t, inView("#message-text"), "so is the message box")
	assert.Less(t, top("#fold-bar"), top("#feed"))
	assert.Less(t, top("#feed"), top("#message-text"))
	assert.Equal(t, "Group #1 · 2", p.textNow("#fold-group"))
	assert.Equal(t, "No session", p.textNow("#fold-session"))

	// On a shorter screen, scrolled down to the direct box, the bar is
	// still there: one tap to the group, one to the session.
	p.run(chromedp.EmulateViewport(390, 520))
	eval[bool](p, `(() => { document.getElementById('direct-text').scrollIntoView(); window.scrollTo(0, document.body.scrollHeight); return true })()`)
	assert.Greater(t, eval[float64](p, `window.scrollY`), 0.0, "the page scrolled")
	assert.True(t, inView("#fold-group"), "the bar stays on screen")
	assert.True(t, inView("#fold-session"), "the bar stays on screen")
	p.run(chromedp.Click(chromedp.ID("fold-group")))
	assert.True(t, p.visible("#group-card"))
	assert.True(t, inView("#members"), "the group opens in sight")
	p.waitText("#members", "J003")
	p.run(chromedp.Click(chromedp.ID("fold-session")))
	assert.False(t, p.visible("#group-card"), "one card at a time")
	assert.True(t, inView("#start-session"), "the session opens in sight")
	p.run(chromedp.Click(chromedp.ID("start-session")))
	p.waitText("#fold-session", "Session · 2 left")
	assert.False(t, p.visible("#session-card"), "started, the session folds back: the message box is what comes next")
	assert.True(t, inView("#message-text"))
	assert.Equal(t, "message-text", eval[string](p, `document.activeElement.id`))
	p.run(chromedp.Click(chromedp.ID("fold-session")))
	assert.Equal(t, "true", eval[string](p, `document.getElementById('fold-session').getAttribute('aria-expanded')`))
	assert.True(t, inView("#complete"), "its host completes it from the bar")
	assert.False(t, p.visible("#start-session"))
	p.run(chromedp.Click(chromedp.ID("fold-session")))
	assert.False(t, p.visible("#session-card"), "a second tap folds it")

	// A member picked for a direct folds the group back to the direct box.
	p.run(chromedp.Click(chromedp.ID("fold-group")), chromedp.Click(chromedp.CSS("#members button.member-id")))
	assert.False(t, p.visible("#group-card"))
	assert.Equal(t, "direct-text", eval[string](p, `document.activeElement.id`))
	assert.True(t, inView("#direct-text"))
	assert.Empty(t, eval[[]string](p, unlabelled), "every control has a label")
	assert.Empty(t, p.jsErrors(), "no script errors on the page")
}
