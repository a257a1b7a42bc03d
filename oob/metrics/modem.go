package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The states of the enum gauges, as the modem package names them.
func registrations() []string {
	return []string{"not-registered", "home", "searching", "denied", "unknown", "roaming"}
}

func simStates() []string {
	return []string{"ready", "pin-required", "puk-required", "absent", "error", "unknown"}
}

// modem is the modem, its SIM and its network.
type modem struct {
	up, signal, registration, sim, pinAttempts, used, capacity, recoveries, timeouts *prometheus.Desc
}

func newModem() *modem {
	return &modem{
		up: prometheus.NewDesc("oobd_modem_up",
			"1 when the modem answers AT commands; 0 from the first command without an answer (and while a single-port modem is lent to the dialer).", nil, nil),
		signal: prometheus.NewDesc("oobd_signal_dbm",
			"Received signal strength in dBm (absent when the modem does not know it).", nil, nil),
		registration: prometheus.NewDesc("oobd_modem_registration",
			"Network registration: 1 for the current state, 0 for the others.", []string{"state"}, nil),
		sim: prometheus.NewDesc("oobd_sim_state",
			"SIM state: 1 for the current state, 0 for the others.", []string{"state"}, nil),
		pinAttempts: prometheus.NewDesc("oobd_sim_pin_attempts_remaining",
			"PIN tries the SIM has left (absent when the modem does not say).", nil, nil),
		used: prometheus.NewDesc("oobd_sms_storage_used_messages",
			"Messages stored on the SIM (absent until read).", nil, nil),
		capacity: prometheus.NewDesc("oobd_sms_storage_capacity_messages",
			"Message slots on the SIM (absent until read).", nil, nil),
		recoveries: prometheus.NewDesc("oobd_modem_recoveries_total",
			"Recovery steps taken on a modem that stopped answering, by step; kept across restarts.", []string{"step"}, nil),
		timeouts: prometheus.NewDesc("oobd_modem_command_timeouts_total",
			"AT commands that got no answer in time; kept across restarts.", nil, nil),
	}
}

func (m *modem) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.up, m.signal, m.registration, m.sim, m.pinAttempts, m.used, m.capacity, m.recoveries, m.timeouts} {
		ch <- d
	}
}

func (m *modem) collect(ch chan<- prometheus.Metric, s Snapshot, _ time.Time) {
	in := s.Health
	emit(ch, m.up, prometheus.GaugeValue, b2f(in.Modem.Answering))
	if in.Network.SignalKnown {
		emit(ch, m.signal, prometheus.GaugeValue, float64(in.Network.SignalDBm))
	}
	enum(ch, m.registration, registrations(), oneOf(in.Network.Registration, registrations(), "unknown"))
	enum(ch, m.sim, simStates(), oneOf(in.SIM.State, simStates(), "unknown"))
	if in.SIM.PINAttempts >= 0 && in.SIM.State != "" {
		emit(ch, m.pinAttempts, prometheus.GaugeValue, float64(in.SIM.PINAttempts))
	}
	if in.Storage.Total > 0 {
		emit(ch, m.used, prometheus.GaugeValue, float64(in.Storage.Used))
		emit(ch, m.capacity, prometheus.GaugeValue, float64(in.Storage.Total))
	}
	c := s.Modem
	emit(ch, m.recoveries, prometheus.CounterValue, float64(c.Reopens), "reopen")
	emit(ch, m.recoveries, prometheus.CounterValue, float64(c.Resets), "reset")
	emit(ch, m.recoveries, prometheus.CounterValue, float64(c.PowerCycles), "power-cycle")
	emit(ch, m.timeouts, prometheus.CounterValue, float64(c.Timeouts))
}
