package notify

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/tunnel"
)

type sentPush struct {
	title string
	link  bool // through the session's dialer
}

type fakePusher struct{ got []sentPush }

func (f *fakePusher) Send(_ context.Context, m Message, via DialFunc) error {
	f.got = append(f.got, sentPush{m.Title, via != nil})
	return nil
}

type fakeTexter struct{ to []string }

func (f *fakeTexter) Send(_ context.Context, to, _ string) { f.to = append(f.to, to) }

func TestNoticesGoWhereTheSpecSays(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	up := session.Report{RequestedBy: "+46701234567", Started: t0, Until: t0.Add(30 * time.Minute),
		Forwards: []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}, BoundPort: 31337}}}
	link := func(context.Context, string, string) (net.Conn, error) { return nil, nil }
	tests := []struct {
		name      string
		twoPort   bool
		do        func(n *Notices)
		wantPush  []sentPush
		wantTexts []string
	}{
		{"up, single port: a push through the link only", false,
			func(n *Notices) { n.Up(context.Background(), up, link) },
			[]sentPush{{"oobd: link up", true}}, nil},
		{"up, two ports: also an SMS to the requester", true,
			func(n *Notices) { n.Up(context.Background(), up, link) },
			[]sentPush{{"oobd: link up", true}}, []string{"+46701234567"}},
		{"local up: no SMS", true,
			func(n *Notices) { r := up; r.RequestedBy = ""; n.Up(context.Background(), r, link) },
			[]sentPush{{"oobd: link up", true}}, nil},
		{"failed up: SMS to the requester, push over the plain route", false,
			func(n *Notices) {
				n.Failed(context.Background(), session.Report{RequestedBy: "+46701234567", Ended: t0, Step: "link", Reason: "PPP x3: no IP"})
			},
			[]sentPush{{"oobd: up failed", false}}, []string{"+46701234567"}},
		{"down: requester and the extra numbers, each once", false,
			func(n *Notices) { r := up; r.Ended = t0.Add(time.Hour); n.Down(context.Background(), r) },
			[]sentPush{{"oobd: link down", false}}, []string{"+46701234567", "+46709999999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, sms := &fakePusher{}, &fakeTexter{}
			n := &Notices{Push: p, SMS: sms, Extra: []string{"+46701234567", "+46709999999"}, TwoPort: tt.twoPort,
				JumpHost: "jump.example.net:22", Signal: func() (int, string) { return -71, "Telia" }, Log: slog.New(slog.DiscardHandler)}
			tt.do(n)
			if !slices.Equal(p.got, tt.wantPush) {
				t.Errorf("pushes %+v, want %+v", p.got, tt.wantPush)
			}
			if !slices.Equal(sms.to, tt.wantTexts) {
				t.Errorf("texts to %v, want %v", sms.to, tt.wantTexts)
			}
		})
	}
}
