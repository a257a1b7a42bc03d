# sed script: configs/oobd.example.yaml becomes the Debian package's
# /etc/oobd/oobd.yaml: files under /etc/oobd, state in /var/lib/oobd.
# Everything else, the placeholders included, stays the example's, so
# `oobd check-config` names what the owner still has to fill in.
s|/usr/local/etc/oobd|/etc/oobd|g
s|^state_dir: /var/db/oobd$|state_dir: /var/lib/oobd|
