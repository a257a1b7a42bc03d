package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/oobd/oobd/internal/secretfile"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/notify"
)

// Pushover's token and user key (asked of its users/validate.json when it
// can be reached), and whether the kernel keeps the clock synchronised.

// validation is Pushover's answer to users/validate.json.
type validation struct {
	Status  int      `json:"status"`
	Errors  []string `json:"errors"`
	Devices []string `json:"devices"`
	Token   string   `json:"token"` // "invalid" when the token is
	User    string   `json:"user"`  // "invalid" when the user key is
}

func (d *Doctor) pushover(ctx context.Context, cfg *config.Config, r *Report) {
	po := cfg.Notify.Pushover
	if !po.Enabled() {
		r.skip("pushover", "not configured (notify.pushover): no pushes; the owner learns of a session by SMS only on a two-port modem")
		return
	}
	b, err := secretfile.Read(po.TokenFile)
	if err != nil {
		detail := "token file " + po.TokenFile + ": " + unwrapAll(err).Error()
		if errors.Is(err, secretfile.ErrUnsafe) {
			detail = "token file " + err.Error()
		}
		r.fail("pushover", detail,
			"put your application's API token (pushover.net/apps) in "+po.TokenFile+", mode 0600")
		return
	}
	api := po.APIURL
	if api == "" {
		api = notify.DefaultAPIURL
	}
	form := url.Values{"token": {string(bytes.TrimSpace(b))}, "user": {po.UserKey}}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(api, "/")+"/users/validate.json", strings.NewReader(form.Encode()))
	if err != nil {
		r.fail("pushover", "notify.pushover.api_url: "+err.Error(), "correct notify.pushover.api_url (or leave it empty)")
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.HTTP.Do(req)
	if err != nil {
		r.skip("pushover", "not checked: "+api+" not reachable over the LAN: "+shortNetErr(err))
		return
	}
	defer resp.Body.Close()
	var v validation
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode >= 500 || (v.Status != 1 && len(v.Errors) == 0) {
		r.skip("pushover", fmt.Sprintf("not checked: %s answered HTTP %d, not a validation", api, resp.StatusCode))
		return
	}
	if v.Status == 1 {
		detail := "token and user key valid"
		if len(v.Devices) > 0 {
			detail += "; devices: " + strings.Join(v.Devices, ", ")
		}
		r.pass("pushover", detail)
		return
	}
	var fix []string
	if v.Token == "invalid" {
		fix = append(fix, "put your application's API token (pushover.net/apps) in "+po.TokenFile)
	}
	if v.User == "invalid" {
		fix = append(fix, "put your user key (the pushover.net dashboard) in notify.pushover.user_key")
	}
	for _, e := range v.Errors {
		if strings.Contains(e, "no active devices") {
			fix = append(fix, "install the Pushover app on your phone and log in")
		}
	}
	if len(fix) == 0 {
		fix = append(fix, "check notify.pushover.token_file and user_key on pushover.net")
	}
	r.fail("pushover", "Pushover says: "+strings.Join(v.Errors, "; "), strings.Join(fix, "; "))
}

// shortNetErr drops the request a *url.Error repeats (the API's URL is
// already named).
func shortNetErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func (d *Doctor) clock(r *Report) {
	switch {
	case d.Clock == nil:
		r.skip("clock", "not known on this system (the kernel is not asked here): check NTP with 'ntpq -p'; "+
			"oobd trusts the texts' timestamps instead")
	case d.Clock.Synchronized():
		r.pass("clock", "synchronised: the kernel says NTP keeps it right")
	default:
		r.fail("clock", "not synchronised: the kernel says no NTP keeps it right",
			"enable NTP: 'timedatectl set-ntp true' (systemd-timesyncd) or install chrony; until then oobd trusts the texts' "+
				"timestamps, and schedules and logs run on a clock that may be wrong")
	}
}
