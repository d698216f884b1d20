#!/usr/bin/env bash
# Install carehub as a systemd service, or remove it. Safe to run again.
#
#   sudo systemd/install.sh                 install or upgrade, enable and (re)start
#   sudo systemd/install.sh --uninstall     remove the service and /opt/carehub; keep config and data
#   sudo systemd/install.sh --uninstall --purge   ... and remove config, data and the user
#
#   --prefix DIR   install below DIR instead of / (no user, no systemctl, no udevadm:
#                  for packaging and for the tests)
#   --group NAME   the service's group, which may write the config directory (default carehub;
#                  with --prefix the directory is given to it only when this is set, as root)
#
# Environment: PIP_INSTALL_ARGS adds arguments to the pip install of carehub.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=""
ACTION=install
PURGE=0
GROUP=carehub
GROUP_SET=0
while [ $# -gt 0 ]; do
    case "$1" in
        --uninstall) ACTION=uninstall ;;
        --purge) PURGE=1 ;;
        --prefix) PREFIX=$(realpath -m "$2"); shift ;;
        --group) GROUP="$2"; GROUP_SET=1; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

OPT="$PREFIX/opt/carehub"
ETC="$PREFIX/etc/carehub"
STATE="$PREFIX/var/lib/carehub"
UNIT_DIR="$PREFIX/etc/systemd/system"
UDEV_DIR="$PREFIX/etc/udev/rules.d"
SYSTEM=1
[ -n "$PREFIX" ] && SYSTEM=0

say() { echo "install.sh: $*"; }

if [ "$SYSTEM" -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo)" >&2
    exit 1
fi

have_systemd() { [ "$SYSTEM" -eq 1 ] && [ -d /run/systemd/system ]; }

install_carehub() {
    if [ "$SYSTEM" -eq 1 ]; then
        if ! getent passwd carehub >/dev/null; then
            useradd --system --user-group --home-dir /var/lib/carehub --shell /usr/sbin/nologin carehub
            say "created user carehub"
        fi
        GROUP=carehub
        for group in dialout bluetooth; do
            if getent group "$group" >/dev/null; then usermod -a -G "$group" carehub; fi
        done
    fi

    install -d -m 0755 "$OPT"
    if [ ! -x "$OPT/venv/bin/python" ]; then
        python3 -m venv "$OPT/venv"
        say "created $OPT/venv"
    fi
    # shellcheck disable=SC2086  # PIP_INSTALL_ARGS is a list of words on purpose
    "$OPT/venv/bin/python" -m pip install -q --upgrade ${PIP_INSTALL_ARGS:-} "$SRC"
    rm -rf "$OPT/src"
    install -d -m 0755 "$OPT/src"
    cp -r "$SRC/docs" "$SRC/config" "$OPT/src/"

    # The page and the platform's set_config save the config atomically (a temporary file
    # beside it, then rename), so the service's group may write the directory: 0770, and the
    # file 0660 (docs/systemd.md, "Who may change the configuration"). Others get nothing:
    # the file holds the broker password.
    install -d -m 0770 "$ETC"
    chmod 0770 "$ETC"  # an upgrade from the read-only 0750 layout
    if [ ! -f "$ETC/carehub.toml" ]; then
        install -m 0660 "$SRC/config/carehub.example.toml" "$ETC/carehub.toml"
        say "wrote $ETC/carehub.toml from the example: edit it, then: carehub config check --config $ETC/carehub.toml"
    else
        chmod 0660 "$ETC/carehub.toml"
        say "kept the existing $ETC/carehub.toml"
    fi
    if [ "$SYSTEM" -eq 1 ] || { [ "$GROUP_SET" -eq 1 ] && [ "$(id -u)" -eq 0 ]; }; then
        chown root:"$GROUP" "$ETC"
        find "$ETC" -mindepth 1 -maxdepth 1 -type f -name 'carehub.toml*' -exec chown root:"$GROUP" {} +
    fi
    if [ "$SYSTEM" -eq 1 ]; then
        ln -sf "$OPT/venv/bin/carehub" /usr/local/bin/carehub
    fi

    install -d -m 0755 "$UNIT_DIR" "$UDEV_DIR"
    install -m 0644 "$SRC/systemd/carehub.service" "$UNIT_DIR/carehub.service"
    install -m 0644 "$SRC/systemd/99-carehub-rflink.rules" "$UDEV_DIR/99-carehub-rflink.rules"

    if [ "$SYSTEM" -eq 1 ] && command -v udevadm >/dev/null; then
        udevadm control --reload-rules || true
        udevadm trigger --subsystem-match=tty || true
    fi
    if have_systemd; then
        systemctl daemon-reload
        systemctl enable carehub.service
        systemctl restart carehub.service
        say "carehub is running: journalctl -u carehub -f"
        say "technician page: http://$(hostname).local:8080/ (setup code: sudo carehub setup-code)"
    else
        say "installed under ${PREFIX:-/}; systemd is not running here, so the service was not started"
    fi
}

uninstall_carehub() {
    if have_systemd; then
        systemctl disable --now carehub.service 2>/dev/null || true
    fi
    rm -f "$UNIT_DIR/carehub.service" "$UDEV_DIR/99-carehub-rflink.rules"
    have_systemd && systemctl daemon-reload
    rm -rf "$OPT"
    [ "$SYSTEM" -eq 1 ] && rm -f /usr/local/bin/carehub
    if [ "$PURGE" -eq 1 ]; then
        rm -rf "$ETC" "$STATE"
        if [ "$SYSTEM" -eq 1 ] && getent passwd carehub >/dev/null; then
            userdel carehub || true
        fi
        say "removed carehub, its configuration, its data and its user"
    else
        say "removed carehub; kept $ETC and $STATE (use --purge to remove them)"
    fi
}

case "$ACTION" in
    install) install_carehub ;;
    uninstall) uninstall_carehub ;;
esac
