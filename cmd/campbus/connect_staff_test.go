package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/node"
)

const staffTestSecret = "a camp secret of more than sixteen bytes"

// A camper the staff kick is told so, and its client ends rather than
// coming back by itself; an announcement and a mute read as sentences.
func TestConnectShowsStaffsActionsAndAKickedClientDoesNotComeBack(t *testing.T) {
	n := startE2ENode(t, func(o *node.Options) { o.AuthSecret = staffTestSecret })
	secret, err := auth.NewSecret(staffTestSecret)
	require.NoError(t, err)
	token, err := secret.Mint("J004", time.Hour, time.Now())
	require.NoError(t, err)
	staffToken, err := secret.MintStaff("김코치", time.Hour, time.Now())
	require.NoError(t, err)

	sc := startConnect(t, "--addr", n.Addr().String(), "--token", token, "J004")
	sc.expect("< checkin success")

	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	staff, err := client.Dial(ctx, n.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = staff.Close() })
	doOK(t, staff, campbus.CmdStaff, campbus.StaffRequest{Token: staffToken})
	var a campbus.AnnounceResponse
	require.NoError(t, doOK(t, staff, campbus.CmdAnnounce, campbus.AnnounceRequest{Text: "점심은 12시 30분"}).Decode(&a))
	require.Equal(t, 1, a.Reached)
	sc.expect(`< announcement from 김코치 (staff), "점심은 12시 30분"`)
	doOK(t, staff, campbus.CmdMute, campbus.MuteRequest{CampID: "J004", Minutes: 5})
	sc.expect("< 김코치 (staff) muted you until")
	sc.send("message hello")
	sc.expect("muted by 김코치")
	doOK(t, staff, campbus.CmdKick, campbus.KickRequest{CampID: "J004", Reason: "flooding"})
	sc.expect(`< 김코치 (staff) checked you out: "flooding"`)
	assert.Error(t, sc.wait(), "the client ends, without reconnecting")
	assert.NotContains(t, sc.stdout.String(), "reconnecting")
}
