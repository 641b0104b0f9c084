package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
)

func TestStaffsEventsReadAsSentences(t *testing.T) {
	for want, ev := range map[string]campbus.Event{
		`announcement from 김코치 (staff), "점심은 12시 30분"`:                                                         {Type: campbus.EventAnnouncement, From: "김코치", Text: "점심은 12시 30분"},
		"Mina (staff) muted you until 2026-12-08T12:40:00Z: your messages and directs reach nobody until then": {Type: campbus.EventMuted, By: "Mina", Until: "2026-12-08T12:40:00Z"},
		"Mina (staff) lifted your mute":                             {Type: campbus.EventMuted, By: "Mina"},
		`Mina (staff) checked you out: "flooding"`:                  {Type: campbus.EventKicked, By: "Mina", Reason: "flooding"},
		"Mina (staff) redacted the message at offset 12 of group#1": {Type: campbus.EventRedacted, Group: 1, Offset: 12, By: "Mina"},
		"message from J005 (redacted by Mina, staff)":               {Type: campbus.EventMessage, From: "J005", Redacted: true, RedactedBy: "Mina"},
		"J003 left group#1 (kicked by staff)":                       {Type: campbus.EventCheckout, CampID: "J003", Group: 1, Reason: campbus.ReasonKicked},
	} {
		assert.Equal(t, want, describeEvent(client.Event{Event: ev}, false))
	}
}
