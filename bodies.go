package campbus

import "encoding/json"

// Request bodies (PROTOCOL.md §2). Fields are decoded and validated by the
// handlers; these types document the shapes and serve the Go client.

// CheckinRequest is the body of POST /checkin. Token is needed when the
// server runs with a secret (PROTOCOL.md §9).
type CheckinRequest struct {
	CampID string `json:"campId"`
	Token  string `json:"token,omitempty"`
}

// MissionRequest is the body of POST /mission.
type MissionRequest struct {
	Day int `json:"day"`
}

// PeerSessionRequest is the body of POST /peersession.
type PeerSessionRequest struct {
	MaxCount int `json:"maxCount"`
}

// MessageRequest is the body of POST /message.
type MessageRequest struct {
	Text string `json:"text"`
}

// DirectRequest is the body of POST /direct.
type DirectRequest struct {
	CampID string `json:"campId"`
	Text   string `json:"text"`
}

// HistoryRequest is the body of POST /history; Limit 0 means the default.
type HistoryRequest struct {
	Limit int `json:"limit,omitempty"`
}

// StaffRequest is the body of POST /staff: a staff member's token
// (PROTOCOL.md §12).
type StaffRequest struct {
	Token string `json:"token"`
}

// AnnounceRequest is the body of POST /announce.
type AnnounceRequest struct {
	Text string `json:"text"`
}

// MuteRequest is the body of POST /mute; Minutes 0 lifts a mute.
type MuteRequest struct {
	CampID  string `json:"campId"`
	Minutes int    `json:"minutes"`
}

// KickRequest is the body of POST /kick; Reason is optional.
type KickRequest struct {
	CampID string `json:"campId"`
	Reason string `json:"reason,omitempty"`
}

// Response bodies of status 200.

// CheckinResponse answers checkin: the group and its members in join order.
type CheckinResponse struct {
	CampID  string   `json:"campId"`
	Group   int      `json:"group"`
	Members []string `json:"members"`
	// Offset is the offset of the camper's join event in its group's log
	// (PROTOCOL.md §5): the place to ask history after once reconnected.
	Offset uint64 `json:"offset,omitempty"`
	// Epoch names the group log the offset counts in (PROTOCOL.md §11).
	Epoch string `json:"epoch,omitempty"`
	// Nodes are the camp's live nodes, in name order, when the server is
	// one node of a cluster (PROTOCOL.md §11).
	Nodes []NodeInfo `json:"nodes,omitempty"`
}

// NodeInfo is one node of the camp as it advertises itself: the campers'
// TCP address (host:port) and the base URL of its web front, "" when it
// serves no page.
type NodeInfo struct {
	Name string `json:"name"`
	TCP  string `json:"tcp"`
	Web  string `json:"web,omitempty"`
}

// CheckoutResponse answers checkout; ActiveMs counts milliseconds since checkin.
type CheckoutResponse struct {
	CampID   string `json:"campId"`
	Group    int    `json:"group"`
	ActiveMs int64  `json:"activeMs"`
}

// MissionResponse answers mission.
type MissionResponse struct {
	Day      int    `json:"day"`
	Keywords string `json:"keywords"`
}

// PeerSessionResponse answers peersession.
type PeerSessionResponse struct {
	Group    int    `json:"group"`
	Host     string `json:"host"`
	MaxCount int    `json:"maxCount"`
}

// CompleteResponse answers complete with the number of messages the session had.
type CompleteResponse struct {
	Group    int    `json:"group"`
	Host     string `json:"host"`
	Messages int    `json:"messages"`
}

// MessageResponse answers message.
type MessageResponse struct {
	Group     int `json:"group"`
	Seq       int `json:"seq"`
	Remaining int `json:"remaining"`
	Delivered int `json:"delivered"`
}

// DirectResponse answers direct.
type DirectResponse struct {
	To string `json:"to"`
}

// HistoryResponse answers history: events oldest first, each as it is kept
// in the event log (an Event with its "type"; directs also carry "to").
//
// Asked with "after", it also carries Next, the offset to ask after next,
// and Trimmed when retention dropped group events the caller asked for.
type HistoryResponse struct {
	Events  []json.RawMessage `json:"events"`
	Next    *uint64           `json:"next,omitempty"`
	Trimmed bool              `json:"trimmed,omitempty"`
	// Epoch names the group log the offsets count in (PROTOCOL.md §11).
	Epoch string `json:"epoch,omitempty"`
}

// StaffResponse answers staff: who the connection is now.
type StaffResponse struct {
	Name string `json:"name"`
	// Expires is when the token stops signing its member in (RFC 3339).
	Expires string `json:"expires"`
}

// BoardResponse answers board: every group with members, in group order,
// how many campers are checked in, and who is muted.
type BoardResponse struct {
	Groups    []BoardGroup  `json:"groups"`
	CheckedIn int           `json:"checkedIn"`
	Muted     []MutedCamper `json:"muted"`
}

// BoardGroup is one group on the board; Session is nil when none runs.
type BoardGroup struct {
	Group   int           `json:"group"`
	Members []string      `json:"members"`
	Session *BoardSession `json:"session"`
}

// BoardSession is a group's running peer session.
type BoardSession struct {
	Host     string `json:"host"`
	MaxCount int    `json:"maxCount"`
	Messages int    `json:"messages"`
}

// MutedCamper is a camper muted until Until (RFC 3339), by a staff member.
type MutedCamper struct {
	CampID string `json:"campId"`
	Until  string `json:"until"`
	By     string `json:"by"`
}

// AnnounceResponse answers announce: how many campers it reached, in how
// many groups.
type AnnounceResponse struct {
	Reached int `json:"reached"`
	Groups  int `json:"groups"`
}

// MuteResponse answers mute; Until is empty when the mute was lifted.
type MuteResponse struct {
	CampID string `json:"campId"`
	Until  string `json:"until,omitempty"`
}

// RedactRequest is the body of POST /redact: the group, and the offset of
// the message to take the text out of.
type RedactRequest struct {
	Group  int    `json:"group"`
	Offset uint64 `json:"offset"`
}

// RedactResponse answers redact.
type RedactResponse struct {
	Group  int    `json:"group"`
	Offset uint64 `json:"offset"`
}

// RevokeRequest is the body of POST /revoke.
type RevokeRequest struct {
	CampID string `json:"campId"`
}

// RevokeResponse answers revoke: tokens issued up to Before (RFC 3339, to
// the second) are refused; Group is the group the camper was checked out
// of, 0 when it was not checked in.
type RevokeResponse struct {
	CampID string `json:"campId"`
	Before string `json:"before"`
	Group  int    `json:"group,omitempty"`
}

// KickResponse answers kick: the camper checked out, and the group it left.
type KickResponse struct {
	CampID string `json:"campId"`
	Group  int    `json:"group"`
}

// Event types (PROTOCOL.md §4), the path of EVENT frames and the "type" field
// of bus payloads.
const (
	EventJoin        = "join"
	EventCheckout    = "checkout"
	EventPeerSession = "peersession"
	EventMessage     = "message"
	EventComplete    = "complete"
	EventDirect      = "direct"
	EventShutdown    = "shutdown"
	// Staff's events (PROTOCOL.md §12): an announcement to every group, a
	// camper told it is muted (or no longer), a camper kicked.
	EventAnnouncement = "announcement"
	EventMuted        = "muted"
	EventKicked       = "kicked"
	EventRedacted     = "redacted"
)

// Reasons carried by checkout and complete events.
const (
	ReasonCheckout   = "checkout"
	ReasonDisconnect = "disconnect"
	ReasonComplete   = "complete"
	ReasonHostLeft   = "host-left"
	// ReasonKicked: a staff member checked the camper out.
	ReasonKicked = "kicked"
)

// Event is any event body. Type is always set; the other fields are those of
// the event's type and are omitted when empty. The same JSON travels on the
// bus (group.<n>, camper.<id>) and in EVENT frames.
type Event struct {
	Type      string   `json:"type"`
	Group     int      `json:"group,omitempty"`
	CampID    string   `json:"campId,omitempty"`
	Members   []string `json:"members,omitempty"`
	Host      string   `json:"host,omitempty"`
	MaxCount  int      `json:"maxCount,omitempty"`
	From      string   `json:"from,omitempty"`
	To        string   `json:"to,omitempty"`
	Text      string   `json:"text,omitempty"`
	Seq       int      `json:"seq,omitempty"`
	Remaining *int     `json:"remaining,omitempty"`
	Messages  *int     `json:"messages,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// By names the staff member who did it (kicked, muted; a kick's
	// checkout).
	By string `json:"by,omitempty"`
	// Until is when a mute ends (RFC 3339); empty when it was lifted.
	Until string `json:"until,omitempty"`
	// Redacted marks, in history, a message staff took the text out of,
	// and RedactedBy names who (PROTOCOL.md §12).
	Redacted   bool   `json:"redacted,omitempty"`
	RedactedBy string `json:"redactedBy,omitempty"`
	// Offset is a group event's position in its group's log: 1, 2, 3...
	// with no gaps over the group's whole life (PROTOCOL.md §5).
	Offset uint64 `json:"offset,omitempty"`
	// Epoch names a group event's log, made when the log was created:
	// offsets of logs with different epochs have nothing in common
	// (PROTOCOL.md §11).
	Epoch string `json:"epoch,omitempty"`
}
