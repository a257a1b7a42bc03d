# sed script: configs/oobd.service (the hand install, /usr/local) becomes
# the Debian package's unit. Only the header comment and the paths change,
# so the service settings of the two cannot drift apart; the deployment
# checks (scripts/check-deploy-files.sh) compare them.
1,/^\[Unit\]$/{
/^\[Unit\]$/!d
i\
# /usr/lib/systemd/system/oobd.service, installed by the oobd package\
# (generated from configs/oobd.service: the same settings, Debian's paths).\
#\
# The package neither enables nor starts oobd: finish /etc/oobd/oobd.yaml\
# first (oobd check-config --config /etc/oobd/oobd.yaml), then\
#           systemctl enable --now oobd\
# Logs:     journalctl -u oobd -f   (oobd logs to stderr; pppd and chat to syslog)\
# Config:   a changed oobd.yaml takes effect with `systemctl restart oobd`\
#           (a restart mid-session tears the session down; text again).\
#           Package upgrades do not restart oobd, for the same reason.\
# Changes:  `systemctl edit oobd` (a drop-in); this file belongs to the package.\

}
s|/usr/local/bin/oobd|/usr/bin/oobd|g
s|/usr/local/etc/oobd|/etc/oobd|g
