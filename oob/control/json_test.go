package control

import (
	"encoding/json"
	"testing"

	"github.com/oobd/oobd/tunnel"
)

// `oobd up` of one version may talk to a daemon of another: the reply's
// JSON names never change.
func TestResponseJSONNamesArePinned(t *testing.T) {
	r := Response{OK: true, Forwards: []tunnel.BoundForward{
		{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}, BoundPort: 31337},
	}, JumpHost: "jump.example.net:22"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ok":true,"forwards":[{"remote":"localhost:31337","local":"localhost:22","bound_port":31337}],"jump_host":"jump.example.net:22"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
