package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// applyTLS turns on TLS for client connections, and for routes when the
// server has a cluster listener, from the PEM files in o. Without a
// certificate it does nothing.
//
// With a CA the server requires and verifies client certificates (mutual
// TLS). Routes always verify both ends, as nats-server does for a cluster's
// tls block, so a clustered TLS server needs the CA.
func applyTLS(opts *server.Options, o ServerOptions) error {
	if o.TLSCert == "" && o.TLSKey == "" {
		if o.TLSCA != "" {
			return errors.New("broker: a TLS CA without a certificate: give the server's certificate and key too")
		}
		return nil
	}
	if o.TLSCert == "" || o.TLSKey == "" {
		return errors.New("broker: TLS needs both a certificate and its key")
	}
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: o.TLSCert, KeyFile: o.TLSKey, CaFile: o.TLSCA, Verify: o.TLSCA != "",
	})
	if err != nil {
		return fmt.Errorf("broker: TLS: %w", err)
	}
	if o.TLSCA != "" && cfg.ClientCAs == nil {
		// GenTLSConfig returns a nil error for an empty CA file.
		return fmt.Errorf("broker: TLS: no certificate in CA file %s", o.TLSCA)
	}
	opts.TLS, opts.TLSVerify, opts.TLSConfig = true, o.TLSCA != "", cfg
	if o.ClusterListen == "" {
		return nil
	}
	if o.TLSCA == "" {
		return errors.New("broker: routes over TLS need the CA (both servers of a route verify each other)")
	}
	rc := cfg.Clone()
	// A server dials its routes as a client: it verifies the other server
	// with the same CA, and shows its own certificate to be verified.
	rc.ClientAuth = tls.RequireAndVerifyClientCert
	rc.RootCAs = rc.ClientCAs
	opts.Cluster.TLSConfig = rc
	return nil
}

// TLSOptions are the connect options for a server started with TLS: ca
// verifies the server's certificate (empty: the system's roots); cert and
// key, both or neither, are the client's own certificate, which a server
// with a CA requires.
func TLSOptions(cert, key, ca string) ([]nats.Option, error) {
	var opts []nats.Option
	if (cert == "") != (key == "") {
		return nil, errors.New("broker: a client certificate needs its key, and a key its certificate")
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("broker: TLS CA: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("broker: TLS CA: no certificate in %s", ca)
		}
		opts = append(opts, nats.RootCAs(ca))
	}
	if cert != "" {
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			return nil, fmt.Errorf("broker: TLS client certificate: %w", err)
		}
		opts = append(opts, nats.ClientCert(cert, key))
	}
	if len(opts) == 0 {
		opts = append(opts, nats.Secure())
	}
	return opts, nil
}
