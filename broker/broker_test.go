package broker

import (
	"net"
	"strings"
	"testing"
)

// TestStartServerPortInUse: a port another process holds is reported at
// once as in use, for the client and the cluster listener, instead of a
// wait for a server that cannot become ready.
func TestStartServerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().String()
	for _, o := range []ServerOptions{
		{Listen: taken},
		{ClusterListen: taken},
	} {
		s, err := StartServer(o)
		if err == nil {
			s.Shutdown()
			t.Fatalf("%+v: started on a port in use", o)
		}
		if !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), taken) {
			t.Errorf("%+v: %v; want the address and \"address already in use\"", o, err)
		}
	}
	// A free port still works, and so does none at all.
	for _, o := range []ServerOptions{{Listen: "127.0.0.1:0"}, {}} {
		s, err := StartServer(o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		s.Shutdown()
		s.WaitForShutdown()
	}
}
