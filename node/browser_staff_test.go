package node

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// A page hears what staff do, in its own words (English and Korean): an
// announcement, a mute and its lifting, a kick; a kicked page goes back to
// its checkin form rather than coming back by itself.
func TestAPageShowsStaffsActionsAndStaysOutWhenKicked(t *testing.T) {
	for _, tc := range []struct {
		lang                             string
		flags                            []chromedp.ExecAllocatorOption
		announced, muted, lifted, kicked string
		redacted                         string
	}{
		{lang: "en",
			announced: `announcement from Mina (staff), "점심은 12시 30분"`, muted: "Mina (staff) muted you until",
			lifted: "Mina (staff) lifted your mute", kicked: `Mina (staff) checked you out: "flooding"`,
			redacted: "Mina (staff) redacted the message at offset"},
		{lang: "ko", flags: []chromedp.ExecAllocatorOption{chromedp.Flag("lang", "ko-KR"), chromedp.Flag("accept-lang", "ko-KR,ko")},
			announced: `스태프 Mina 님의 공지: "점심은 12시 30분"`, muted: "스태프 Mina 님이",
			lifted: "스태프 Mina 님이 메시지 차단을 풀었어요", kicked: `스태프 Mina 님이 체크아웃시켰어요: "flooding"`,
			redacted: "스태프 Mina 님이 1번 그룹의 메시지"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			browser := openBrowser(t, tc.flags...)
			n := webNode(t, Options{AuthSecret: campSecret})
			staff := dial(t, n)
			staff.signIn("Mina")
			p := newPage(t, browser, n)
			p.run(
				clearField("#camp-id"),
				chromedp.SendKeys(chromedp.ID("camp-id"), "J004"),
				chromedp.Click(chromedp.ID("checkin-button")),
			)
			p.run(chromedp.WaitVisible(chromedp.ID("token"))) // it asks for the token
			p.run(
				chromedp.SendKeys(chromedp.ID("token"), mintFor(t, "J004")),
				chromedp.Click(chromedp.ID("checkin-button")),
				chromedp.WaitVisible(chromedp.ID("camp-view")),
			)
			p.waitText("#me-id", "J004")

			staff.ok(campbus.CmdAnnounce, campbus.AnnounceRequest{Text: "점심은 12시 30분"}, nil)
			p.waitText("#feed", tc.announced)
			staff.ok(campbus.CmdMute, campbus.MuteRequest{CampID: "J004", Minutes: 5}, nil)
			p.waitText("#feed", tc.muted)
			staff.ok(campbus.CmdMute, campbus.MuteRequest{CampID: "J004", Minutes: 0}, nil)
			p.waitText("#feed", tc.lifted)
			other := dial(t, n)
			other.checkinWith("J005")
			other.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
			other.ok(campbus.CmdMessage, map[string]string{"text": "my password is hunter2"}, nil)
			p.waitText("#feed", "hunter2")
			leaked := staff.expectSkipping(campbus.EventMessage)
			staff.ok(campbus.CmdRedact, campbus.RedactRequest{Group: 1, Offset: leaked.Offset}, nil)
			p.waitText("#feed", tc.redacted)

			staff.ok(campbus.CmdKick, campbus.KickRequest{CampID: "J004", Reason: "flooding"}, nil)
			p.waitText("#checkin-msg", tc.kicked)
			p.run(chromedp.WaitVisible(chromedp.ID("checkin-button")))
			// It does not come back: for longer than its reconnect wait
			// (0.5 s, then more), nobody holds J004; then another checks in.
			for until := time.Now().Add(2 * time.Second); time.Now().Before(until); time.Sleep(100 * time.Millisecond) {
				held, err := readSeatedCampers(n)
				require.NoError(t, err)
				require.NotContains(t, held, "J004", "the kicked page checked in again")
			}
			dial(t, n).checkinWith("J004")
		})
	}
}
