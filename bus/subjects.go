package bus

import "strconv"

// Subjects of the bus. Requests travel on req.<command>. Group events are
// stored in the GROUPS stream under log.group.<n>, which the stream
// republishes on group.<n>: only events really appended reach group.<n>, in
// the order of the log. Directs are stored in the DIRECTS stream under
// log.direct.<to>.<from>, and the direct handler publishes them on
// camper.<to> once stored.
const (
	ReqPrefix    = "req."
	GroupPrefix  = "group."
	CamperPrefix = "camper."
	LogPrefix    = "log."

	// HandlerQueue is the queue group of the command handlers: each request is
	// answered by one handler among all nodes.
	HandlerQueue = "campbus-handlers"

	// GroupsStream and DirectsStream are the durable event log; CampersBucket
	// the KV bucket of checked-in campers (campId -> who holds it).
	GroupsStream  = "GROUPS"
	DirectsStream = "DIRECTS"
	CampersBucket = "campers"
	// NodePrefix starts the liveness subjects (core NATS only, no
	// JetStream): node.<name>.beat carries every node's heartbeat (its run
	// token), node.<name>.ping answers a direct check of a suspect with the
	// run token, node.<name>.pingfor runs that check for another node,
	// node.<name>.swept tells a run that the camp checked its
	// campers out.
	NodePrefix = "node."
)

// BeatSubject is where node name publishes its heartbeat.
func BeatSubject(name string) string { return NodePrefix + name + ".beat" }

// PingSubject is where node name answers a direct liveness check.
func PingSubject(name string) string { return NodePrefix + name + ".ping" }

// PingForSubject is where node name checks another node for a node that
// cannot reach it (the payload names the one to check).
func PingForSubject(name string) string { return NodePrefix + name + ".pingfor" }

// SweptSubject is where a node tells node name that the campers of one of
// its runs were checked out (it was taken for lost).
func SweptSubject(name string) string { return NodePrefix + name + ".swept" }

// AllBeats is the subscription that hears every node's heartbeat.
const AllBeats = NodePrefix + "*.beat"

// ReqSubject returns the request subject of a command: req.checkin.
func ReqSubject(command string) string { return ReqPrefix + command }

// GroupSubject returns the event subject of group n: group.1.
func GroupSubject(n int) string { return GroupPrefix + strconv.Itoa(n) }

// CamperSubject returns the event subject of one camper: camper.J005.
func CamperSubject(campID string) string { return CamperPrefix + campID }

// LogGroupSubject returns the stream subject that group n's events are
// appended to: log.group.1.
func LogGroupSubject(n int) string { return LogPrefix + GroupSubject(n) }

// LogStaffPrefix starts the subjects of staff actions, kept in GROUPS:
// log.staff.<action>.<target> (PROTOCOL.md §12). The last one of
// log.staff.mute.<campId> is that camper's mute.
const LogStaffPrefix = LogPrefix + "staff."

// LogStaffSubject is where an action of staff on target is kept.
func LogStaffSubject(action, target string) string { return LogStaffPrefix + action + "." + target }

// LogDirectPrefix starts the stream subjects of directs.
const LogDirectPrefix = LogPrefix + "direct."

// LogDirectSubject returns the stream subject of a direct: log.direct.<to>.<from>.
func LogDirectSubject(to, from string) string { return LogDirectPrefix + to + "." + from }

// Headers carried by requests, replies and events on the bus. They are the
// app's own metadata; observers see them but never need them. Only the
// envelope types (Request, Reply, EventMeta) set and read them.
const (
	// HdrCampID names the camper a request comes from (set by the front-end
	// once checked in) or the camper an event concerns.
	HdrCampID = "Campbus-Camp-Id"
	// HdrGroup carries the caller's group number on requests and replies.
	HdrGroup = "Campbus-Group"
	// HdrConn identifies one front-end connection (Instance.ConnID).
	HdrConn = "Campbus-Conn"
	// HdrStatus is the HTTP status of a reply, HdrCode its error code.
	HdrStatus = "Campbus-Status"
	HdrCode   = "Campbus-Code"
	// HdrReason is why a checkout happens (checkout or disconnect).
	HdrReason = "Campbus-Reason"
	// HdrType is the event type, so that dispatch needs no JSON decoding.
	HdrType = "Campbus-Type"
	// HdrState is the group's state after the event (JSON), on group events.
	HdrState = "Campbus-State"
	// HdrDeadline is when the front-end stops waiting for the answer to a
	// request, in Unix milliseconds.
	HdrDeadline = "Campbus-Deadline"
	// HdrTokenFor and HdrTokenRefused carry a checkin's TokenVerdict.
	HdrTokenFor     = "Campbus-Token-For"
	HdrTokenRefused = "Campbus-Token-Refused"
	// HdrTokenIssued is when a good token was issued, in Unix seconds.
	HdrTokenIssued = "Campbus-Token-Issued"
	// HdrStaff names the staff member a staff command comes from, as the
	// front-end that checked the staff token found it (URL-escaped).
	HdrStaff = "Campbus-Staff"
)
