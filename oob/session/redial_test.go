package session

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// After a redial the tunnel, kept open and suspended, is resumed on the
// new link (its dial function, address and rebind); the session then
// announces the ports that answered the redial's self-check (a port 0
// forward may have been given another) in its record, its status and to
// an up that joined during the redial, and sends no second up notice.
func TestRedialResumesTheTunnel(t *testing.T) {
	other := netip.MustParseAddr("10.64.0.9")
	tests := []struct {
		name     string
		ips      []netip.Addr
		ports    []int
		wantIP   string
		wantPort int
	}{
		{name: "same address, same port", wantIP: "10.64.0.2", wantPort: 40022},
		{name: "another address, another port", ips: []netip.Addr{linkIP, other}, ports: []int{40022, 40023},
			wantIP: "10.64.0.9", wantPort: 40023},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, baseConfig)
			r.link.set(func(l *fakeLink) { l.ips = tt.ips })
			r.tun.set(func(tun *fakeTunnel) { tun.ports = tt.ports })
			first := r.up(0)
			if len(first.Forwards) != 1 || first.Forwards[0].BoundPort != 40022 {
				t.Fatalf("first up: %+v", first)
			}
			gate := make(chan struct{})
			r.link.set(func(l *fakeLink) { l.gate = gate })
			r.ev.skip()
			r.rec.skip()
			r.link.path(0).drop(linkDropped{})
			r.waitEvent("link dialing 2")
			late := r.c.Up("+46709876543", false, 0)
			close(gate)

			rep := r.waitRecord(func(rep Report) bool { return rep.State == StateUp && rep.Redials == 1 })
			if rep.LocalIP != tt.wantIP || len(rep.Forwards) != 1 || rep.Forwards[0].BoundPort != tt.wantPort ||
				!rep.Until.Equal(first.Until) {
				t.Fatalf("after the redial: %+v\nwant local IP %s, port %d, until %v", rep, tt.wantIP, tt.wantPort, first.Until)
			}
			if o := r.outcome(late); !o.Already || len(o.Forwards) != 1 || o.Forwards[0].BoundPort != tt.wantPort {
				t.Fatalf("up during the redial: %+v, want port %d", o, tt.wantPort)
			}
			if st, _ := r.c.Status(); len(st.Forwards) != 1 || st.Forwards[0].BoundPort != tt.wantPort {
				t.Fatalf("status after the redial: %+v", st)
			}
			r.holding()
			want := []string{"tunnel suspended", "link down 1", "link dialing 2", "link up 2",
				"tunnel resumed on link 2 at " + tt.wantIP, "rebound to link 2", "self-check passed"}
			if got := r.ev.all()[len(r.ev.all())-len(want):]; !slices.Equal(got, want) {
				t.Fatalf("events after the drop:\n got %q\nwant %q", r.ev.all(), want)
			}
			r.c.Down("down by +46701234567")
			r.wait()
			r.notices.mu.Lock()
			ups := r.notices.ups
			r.notices.mu.Unlock()
			if len(ups) != 1 || ups[0].Forwards[0].BoundPort != 40022 {
				t.Fatalf("up notices %+v, want the first one only", ups)
			}
		})
	}
}

// A redial whose tunnel does not come back on the new link ends the
// session with why, and the tunnel is closed in the teardown.
func TestRedialTunnelFailures(t *testing.T) {
	tests := []struct {
		name string
		// setup readies the tunnel for the redial; then lets it go on.
		setup      func(r *rig)
		then       func(r *rig)
		wantReason string
		wantEnded  time.Duration // after the start
		wantEvents []string      // after the drop
	}{
		{
			name: "the tunnel cannot resume",
			setup: func(r *rig) {
				r.tun.set(func(tun *fakeTunnel) { tun.resume = func(context.Context) error { return keyChanged{} } })
			},
			wantReason: "pppd exited; redial failed: HOST KEY CHANGED",
			wantEnded:  10 * time.Minute,
			wantEvents: []string{"tunnel suspended", "link down 1", "link up 2", "tunnel resumed on link 2 at 10.64.0.2",
				"rebound to link 2", "tunnel not resumed: " + keyChanged{}.Error(), "tunnel closed", "link down 2",
				"notice down: pppd exited; redial failed: HOST KEY CHANGED"},
		},
		{
			// A forward the jump host refuses (its port held by the old,
			// dead session) is asked for until the session's end.
			name: "the session's time runs out while the tunnel resumes",
			setup: func(r *rig) {
				r.tun.set(func(tun *fakeTunnel) {
					tun.resume = func(ctx context.Context) error {
						<-ctx.Done()
						return context.Cause(ctx)
					}
				})
			},
			then: func(r *rig) {
				r.waitEvent("tunnel resumed on link 2")
				ctx := r.tun.resumeCtx(1)
				r.clk.Advance(20*time.Minute - 1)
				if ctx.Err() != nil {
					r.t.Fatalf("resume cut short before the session's end: %v", context.Cause(ctx))
				}
				r.clk.Advance(1)
				if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
					r.t.Fatalf("resume not ended at the session's end: %v", context.Cause(ctx))
				}
			},
			wantReason: "pppd exited; time ran out while redialing",
			wantEnded:  30 * time.Minute,
			wantEvents: []string{"tunnel suspended", "link down 1", "link up 2", "tunnel resumed on link 2 at 10.64.0.2",
				"rebound to link 2", "tunnel not resumed: context deadline exceeded", "tunnel closed", "link down 2",
				"notice down: pppd exited; time ran out while redialing"},
		},
		{
			name:       "the self-check fails on the new link",
			setup:      func(r *rig) { r.tun.checkFail = true },
			wantReason: "pppd exited; redial failed: no SSH banner through the forward",
			wantEnded:  10 * time.Minute,
			wantEvents: []string{"tunnel suspended", "link down 1", "link up 2", "tunnel resumed on link 2 at 10.64.0.2",
				"rebound to link 2", "self-check failed", "tunnel closed", "link down 2",
				"notice down: pppd exited; redial failed: no SSH banner through the forward"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, baseConfig)
			r.up(0)
			r.clk.Advance(10 * time.Minute)
			tt.setup(r)
			r.ev.skip()
			r.link.path(0).drop(linkDropped{})
			if tt.then != nil {
				tt.then(r)
			}
			rep := r.wait()
			if rep.Step != "redial" || rep.Reason != tt.wantReason || rep.Redials != 1 || !rep.Ended.Equal(epoch.Add(tt.wantEnded)) {
				t.Fatalf("last session = %+v\nwant reason %q, ended at +%v", rep, tt.wantReason, tt.wantEnded)
			}
			all := r.ev.all()
			if got := all[len(all)-len(tt.wantEvents):]; !slices.Equal(got, tt.wantEvents) {
				t.Fatalf("events:\n got %q\nwant %q", all, tt.wantEvents)
			}
		})
	}
}

// tunnelPath hands the tunnel the new path's dial function and address,
// and its rebind when it has one.
func TestTunnelPath(t *testing.T) {
	ev := &events{}
	p := &fakePath{ev: ev, n: 7, ip: linkIP}
	tp := tunnelPath(p)
	if _, err := tp.Dial(context.Background(), "tcp", "x:22"); err == nil || err.Error() != "link 7" {
		t.Fatalf("dial: %v, want the path's own", err)
	}
	if tp.LocalIP != linkIP || tp.Rebind == nil {
		t.Fatalf("tunnel path %+v", tp)
	}
	tp.Rebind(nil)
	if got := ev.all(); !slices.Equal(got, []string{"rebound to link 7"}) {
		t.Fatalf("rebind: %q", got)
	}
	lp, _ := Loopback{}.Up(context.Background())
	if tp := tunnelPath(lp); tp.Rebind != nil || tp.LocalIP != netip.MustParseAddr("127.0.0.1") || tp.Dial == nil {
		t.Fatalf("loopback's tunnel path %+v: want no rebind", tp)
	}
}
