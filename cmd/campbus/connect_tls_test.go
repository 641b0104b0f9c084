package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus/internal/camptest"
	"github.com/campbus/campbus/node"
)

// startTLSNode starts a node whose campers' port speaks TLS, and returns it
// with the file of the CA that signed its certificate.
func startTLSNode(t *testing.T) (*node.Node, string) {
	t.Helper()
	ca, dir := camptest.NewCA(t), t.TempDir()
	cert, key := ca.WriteKeyPair(t, dir, "camp")
	return startE2ENode(t, func(o *node.Options) { o.TLSCert, o.TLSKey = cert, key }), ca.WriteCA(t, dir)
}

func TestConnectE2EOverTLSChecksTheCertificateAgainstTheCA(t *testing.T) {
	verifyNoLeaks(t)
	n, caFile := startTLSNode(t)
	sc := startConnect(t, "--addr", n.Addr().String(), "--tls", "--ca", caFile, "J004")
	sc.expect("> checkin J004\n< checkin success to group#1 (members: J004)\n")
	sc.send("mission 4")
	sc.expect("> mission 4\n" + `< keywords are "Heap, Stack"` + "\n")
	sc.send("checkout")
	sc.expect("> checkout\n< checkout (disconnected)\n")
	require.NoError(t, sc.wait())
	assert.Empty(t, sc.stderr.String())
}

func TestConnectOverTLSSaysWhatIsWrong(t *testing.T) {
	n, caFile := startTLSNode(t)
	tlsAddr := n.Addr().String()
	plainAddr := startE2ENode(t).Addr().String()
	connect := func(args ...string) (string, error) {
		var out strings.Builder
		err := runConnect(context.Background(), append(args, "J004"), strings.NewReader(""), &out, io.Discard)
		return out.String(), err
	}

	t.Run("a server whose CA is not given", func(t *testing.T) {
		_, err := connect("--addr", tlsAddr, "--tls")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not signed by a CA this client trusts: name the camp's CA with --ca FILE")
	})
	t.Run("a TLS server without --tls", func(t *testing.T) {
		out, _ := connect("--addr", tlsAddr)
		assert.Contains(t, out, "checkin failed: this port speaks TLS: connect with TLS (campbus connect --tls)")
	})
	t.Run("a plain server with --tls", func(t *testing.T) {
		_, err := connect("--addr", plainAddr, "--tls", "--ca", caFile)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not speak TLS: connect without --tls")
	})
	t.Run("--ca without --tls", func(t *testing.T) {
		_, err := connect("--addr", tlsAddr, "--ca", caFile)
		assert.ErrorContains(t, err, "add --tls")
	})
	t.Run("a CA file that holds no certificate", func(t *testing.T) {
		_, err := connect("--addr", tlsAddr, "--tls", "--ca", "/dev/null")
		assert.ErrorContains(t, err, "--ca: CA /dev/null: no PEM certificate in it")
	})
}
