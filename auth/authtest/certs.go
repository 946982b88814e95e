// Package authtest makes what tests of TLS need: a throwaway certificate
// authority and certificates signed by it, written as PEM files.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Certs are the PEM files of one test's public key infrastructure.
type Certs struct {
	CA                    string // the authority's certificate
	ServerCert, ServerKey string // for 127.0.0.1 and localhost; also a client certificate, as routes need
	ClientCert, ClientKey string // a client's
	OtherCA               string // an unrelated authority, which trusts none of the above
	OtherCert, OtherKey   string // a client certificate from the unrelated authority
}

// NewCerts writes a fresh CA, a server and a client certificate (and an
// unrelated CA with a client certificate of its own) to a temporary
// directory of t.
func NewCerts(t testing.TB) Certs {
	t.Helper()
	dir := t.TempDir()
	var c Certs
	caCert, caKey := authority(t, "liaison test CA")
	c.CA = writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw)
	c.ServerCert, c.ServerKey = leaf(t, dir, "server", caCert, caKey, true)
	c.ClientCert, c.ClientKey = leaf(t, dir, "client", caCert, caKey, false)
	otherCert, otherKey := authority(t, "unrelated CA")
	c.OtherCA = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", otherCert.Raw)
	c.OtherCert, c.OtherKey = leaf(t, dir, "other-client", otherCert, otherKey, false)
	return c
}

func template(name string) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Liaison tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
}

func authority(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := template(name)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func leaf(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := template(name)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", kb)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t testing.TB, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
