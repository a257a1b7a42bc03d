// Package modem talks to a GSM/3G/4G modem over its AT port: the conversation
// (timeouts, resynchronisation, unsolicited lines), SMS storage in PDU mode,
// SIM and PIN, signal and registration, and recovery when the modem stops
// answering. It knows nothing of the agent that uses it.
package modem

import "time"

// Encoding is the alphabet a stored message was written in.
type Encoding string

const (
	EncodingGSM7   Encoding = "gsm7"
	EncodingUCS2   Encoding = "ucs2"
	EncodingBinary Encoding = "8bit" // data, never decoded as text
)

// TON is the type of number of an SMS address (3GPP TS 23.040 §9.1.2.5).
type TON int

const (
	TONUnknown       TON = 0
	TONInternational TON = 1
	TONNational      TON = 2
	TONAlphanumeric  TON = 5
)

// Message is one stored SMS, reassembled when it was sent in parts.
type Message struct {
	// Indexes are the storage slots holding the message's parts, in part
	// order as far as they are known. Delete all of them once processed.
	Indexes []int `json:"indexes"`
	// Sender is the originating address: "+" and the digits for an
	// international number, the digits as sent for any other numeric type,
	// the decoded text for an alphanumeric sender.
	Sender    string `json:"sender"`
	SenderTON TON    `json:"sender_ton"`
	// SCTS is the service-centre timestamp, with the zone the network gave.
	SCTS     time.Time `json:"scts"`
	Text     string    `json:"text"` // empty when Encoding is EncodingBinary
	Encoding Encoding  `json:"encoding"`
	// Data holds the raw user data of a binary message.
	Data []byte `json:"data,omitempty"`
	// Parts is how many parts the message has; Have how many are stored.
	// A message is Complete when Have == Parts.
	Parts    int  `json:"parts"`
	Have     int  `json:"have"`
	Complete bool `json:"complete"`
	// Problem says why a slot could not be read as a text message (a
	// broken PDU, a stored outgoing message, an unknown coding); such a
	// message is reported as binary so the caller can log and delete it.
	Problem string `json:"problem,omitempty"`
}

// Registration is the network registration state (+CREG/+CGREG <stat>).
type Registration string

const (
	RegNotRegistered Registration = "not-registered"
	RegHome          Registration = "home"
	RegSearching     Registration = "searching"
	RegDenied        Registration = "denied"
	RegUnknown       Registration = "unknown"
	RegRoaming       Registration = "roaming"
)

// SIMState is what +CPIN? reports, simplified.
type SIMState string

const (
	SIMReady   SIMState = "ready"
	SIMPIN     SIMState = "pin-required"
	SIMPUK     SIMState = "puk-required"
	SIMAbsent  SIMState = "absent"
	SIMError   SIMState = "error"
	SIMUnknown SIMState = "unknown"
)

// Info is a snapshot of the modem, its SIM and its network.
type Info struct {
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
	Revision     string   `json:"revision"`
	IMEI         string   `json:"imei"`
	IMSI         string   `json:"imsi,omitempty"`
	ICCID        string   `json:"iccid,omitempty"`
	SIM          SIMState `json:"sim"`
	// PINAttempts is the number of PIN tries left, -1 when the modem does
	// not say.
	PINAttempts int `json:"pin_attempts"`
	// SIMReason says why the SIM is not ready (empty when it is).
	SIMReason    string       `json:"sim_reason,omitempty"`
	Operator     string       `json:"operator,omitempty"`
	Registration Registration `json:"registration"`
	// SignalDBm is the received signal strength; SignalKnown is false when
	// +CSQ reported 99 (not known or not detectable).
	SignalDBm    int  `json:"signal_dbm"`
	SignalBars   int  `json:"signal_bars"` // 0–5
	SignalKnown  bool `json:"signal_known"`
	StorageUsed  int  `json:"storage_used"`
	StorageTotal int  `json:"storage_total"`
}
