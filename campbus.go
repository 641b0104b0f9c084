// Package campbus holds the domain of the campbus server: camp ids and their
// range, the command table, the mission keywords, the JSON bodies of requests,
// responses and events, and the protocol's error type.
//
// The packages below it meet at these types:
//
//	wire      the frame codec (HTTP/1.1 message syntax), shared by server and client
//	bus       the embedded NATS server, subject names and JetStream streams
//	handlers  one handler per command, answering req.<command> on the bus
//	auth      campers' tokens, for a camp that runs with a secret
//	tcpfront  TCP listeners: per-connection frame reader and writer, the echo server
//	monitor   /metrics, /healthz and NATS's monitoring endpoints over HTTP
//	node      one campbus node: bus + handlers + tcpfront, started and stopped together
//	client    a Go client of the wire protocol (used by `campbus connect` and tests)
//	bench     the load generator behind `campbus bench`
//	cmd/campbus  the binary: serve, echo, connect, bench, token, version
package campbus
