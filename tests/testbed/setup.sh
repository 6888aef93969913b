#!/usr/bin/env bash
# rsplugins integration testbed: install, configure and start real servers on loopback.
#
#   postfix  SMTP 127.0.0.1:25 [::1]:25, 127.0.0.1:2525 (AUTH), 465 (implicit TLS),
#            2526 / 2465 (STARTTLS / implicit TLS with the 5-day certificate)
#   dovecot  POP3 110, IMAP 143 (STARTTLS), IMAPS 993, POP3S 995 on 127.0.0.1 and [::1]
#   vsftpd   FTP 127.0.0.1:21 (AUTH TLS), implicit FTPS 127.0.0.1:990
#   sshd     127.0.0.1:22 and [::1]:22
#   named    127.0.0.1:53 [::1]:53 (primary: example.test, lag.test, reverse zones), :5300 (secondary)
#   nginx    HTTP 127.0.0.1:80 [::1]:80, HTTPS + HTTP/2 443 on both (vhosts localhost, www.example.test),
#            127.0.0.1:8443 (HTTPS, HTTP/1.1 only, 5-day certificate), 127.0.0.1:8080 (HTTP)
#
# Run as root on Debian 12 (no systemd needed). Idempotent: on a machine where it already ran it
# only (re)starts what is not running and re-applies configuration that changed. Writes
# /etc/rsplugins-testbed.env at the end. See tests/testbed/README.md; stop with stop.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

T0=$(date +%s.%N)
[ "$(id -u)" = 0 ] || tb_die "setup.sh must run as root"
mkdir -p "$TB_LOG_DIR"

# ---------------------------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------------------------
# Packages never start a service on install (there is no init system to start them anyway).
write_file /usr/sbin/policy-rc.d 0755 <<'EOF' || true
#!/bin/sh
# Written by rsplugins tests/testbed/setup.sh: never start services from package scripts.
exit 101
EOF

# monitoring-plugins: the C plugins the tests compare exit codes with.
PKGS=(postfix dovecot-imapd dovecot-pop3d vsftpd openssh-server openssl ca-certificates procps iproute2
  monitoring-plugins-basic monitoring-plugins-standard bind9 bind9-dnsutils nginx)
mapfile -t missing < <(tb_missing "${PKGS[@]}")

if [ ${#missing[@]} -gt 0 ]; then
  APT_LOG=$TB_LOG_DIR/apt.log
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    # "Local only": inet_interfaces=loopback-only, default_transport=error (nothing leaves the box)
    debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string rsplugins-test.localdomain
EOF
  fi
  why=$(tb_apt_install "$APT_LOG" "${missing[@]}") || tb_die "$why" "$APT_LOG"
  tb_log "packages installed"
else
  tb_log "packages already installed"
fi

# ---------------------------------------------------------------------------------------------
# 2. Certificates: a test CA and leaves signed by it (rustls/webpki refuses a self-signed leaf
#    used as its own trust anchor, so clients trust ca.pem, servers present cert.pem).
# ---------------------------------------------------------------------------------------------
CERTS_CHANGED=0
mkdir -p "$TB_CERT_DIR"
chmod 755 "$TB_CERT_DIR"

ssl_cnf=$TB_CERT_DIR/openssl-rsplugins.cnf
write_file "$ssl_cnf" 0644 <<'EOF' || true
# Written by rsplugins tests/testbed/setup.sh
[req]
distinguished_name = dn
prompt = no
[dn]
CN = rsplugins test CA
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

# make_leaf NAME_PREFIX DAYS -- writes ${prefix}cert.pem and ${prefix}key.pem signed by the CA.
make_leaf() {
  local prefix=$1 days=$2 tmp
  tmp=$(mktemp -d)
  openssl req -new -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$tmp/key.pem" -out "$tmp/req.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/req.csr" -CA "$TB_CERT_DIR/ca.pem" -CAkey "$TB_CERT_DIR/ca-key.pem" \
    -set_serial "0x7$(openssl rand -hex 15)" -days "$days" -sha256 \
    -extfile "$ssl_cnf" -extensions leaf_ext -out "$tmp/cert.pem" 2>/dev/null
  chmod 644 "$tmp/key.pem" "$tmp/cert.pem"   # daemons drop privileges before reading some keys
  mv -f "$tmp/key.pem" "$TB_CERT_DIR/${prefix}key.pem"
  mv -f "$tmp/cert.pem" "$TB_CERT_DIR/${prefix}cert.pem"
  rm -rf "$tmp"
  CERTS_CHANGED=1
}

# leaf_ok PREFIX MIN_SECONDS_LEFT -- present, signed by our CA, valid for at least that long.
leaf_ok() {
  local c=$TB_CERT_DIR/${1}cert.pem k=$TB_CERT_DIR/${1}key.pem
  [ -s "$c" ] && [ -s "$k" ] &&
    openssl verify -CAfile "$TB_CERT_DIR/ca.pem" "$c" >/dev/null 2>&1 &&
    openssl x509 -noout -checkend "$2" -in "$c" >/dev/null 2>&1
}

if ! { [ -s "$TB_CERT_DIR/ca.pem" ] && [ -s "$TB_CERT_DIR/ca-key.pem" ] &&
       openssl x509 -noout -checkend 2592000 -in "$TB_CERT_DIR/ca.pem" >/dev/null 2>&1; }; then
  tb_log "creating test CA in $TB_CERT_DIR"
  tmp=$(mktemp -d)
  openssl req -x509 -new -newkey rsa:2048 -nodes -config "$ssl_cnf" -extensions ca_ext \
    -set_serial "0x7$(openssl rand -hex 15)" -days 3650 -sha256 \
    -keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" 2>/dev/null
  chmod 644 "$tmp/ca-key.pem" "$tmp/ca.pem"
  mv -f "$tmp/ca-key.pem" "$tmp/ca.pem" "$TB_CERT_DIR/"
  rm -rf "$tmp"
  CERTS_CHANGED=1
fi
if ! leaf_ok "" 2592000; then            # 365-day leaf; renewed when under 30 days are left
  tb_log "creating leaf certificate $TB_CERT_DIR/cert.pem (365 days)"
  make_leaf "" 365
fi
if ! leaf_ok short- 86400; then          # 5-day leaf; renewed when under 1 day is left
  tb_log "creating short-lived certificate $TB_CERT_DIR/short-cert.pem (5 days)"
  make_leaf short- 5
fi
cat "$TB_CERT_DIR/cert.pem" "$TB_CERT_DIR/ca.pem" | write_file "$TB_CERT_DIR/fullchain.pem" 0644 || true
cat "$TB_CERT_DIR/short-cert.pem" "$TB_CERT_DIR/ca.pem" |
  write_file "$TB_CERT_DIR/short-fullchain.pem" 0644 || true

# ---------------------------------------------------------------------------------------------
# 3. Users and test data
# ---------------------------------------------------------------------------------------------
# vmail owns dovecot's virtual mailboxes (uid 5000 when free).
if ! getent passwd vmail >/dev/null; then
  if ! getent group vmail >/dev/null; then
    if getent group 5000 >/dev/null; then groupadd -r vmail; else groupadd -g 5000 vmail; fi
  fi
  if getent passwd 5000 >/dev/null; then
    useradd -r -g vmail -M -d /var/mail/vhosts -s /usr/sbin/nologin vmail
  else
    useradd -u 5000 -g vmail -M -d /var/mail/vhosts -s /usr/sbin/nologin vmail
  fi
fi
VMAIL_UID=$(id -u vmail)
VMAIL_GID=$(id -g vmail)

# monitor: local unix user, so that postfix accepts and delivers RCPT TO:<monitor@localhost>
# (mbox /var/mail/monitor). POP3/IMAP/SMTP AUTH use dovecot's passwd-file with the same password.
if ! getent passwd monitor >/dev/null; then
  useradd -m -s /usr/sbin/nologin monitor
  echo 'monitor:monpass' | chpasswd
fi
# ftpmon: FTP login user (needs a shell listed in /etc/shells for vsftpd's PAM stack).
if ! getent passwd ftpmon >/dev/null; then
  useradd -m -s /bin/bash ftpmon
  echo 'ftpmon:ftppass' | chpasswd
fi

# Seeded IMAP/POP3 INBOX of monitor: two messages (maildir, owned by vmail). Mail sent through
# postfix goes to /var/mail/monitor instead, so these counts stay stable.
MAILDIR=/var/mail/vhosts/monitor/Maildir
mkdir -p "$MAILDIR/cur" "$MAILDIR/new" "$MAILDIR/tmp"
for n in 1 2; do
  base=1704067200.rsplugins-seed-$n.localhost
  if ! compgen -G "$MAILDIR/cur/$base*" >/dev/null && ! compgen -G "$MAILDIR/new/$base*" >/dev/null; then
    cat >"$MAILDIR/cur/$base:2," <<EOF
Return-Path: <sender@localhost>
Delivered-To: monitor@localhost
From: rsplugins testbed <sender@localhost>
To: monitor@localhost
Subject: rsplugins testbed seed message $n
Date: Mon, 01 Jan 2024 00:00:0$n +0000
Message-ID: <seed-$n@rsplugins-test.localdomain>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Seed message $n of the rsplugins testbed.
EOF
  fi
done
chown -R vmail:vmail /var/mail/vhosts
chmod 700 /var/mail/vhosts/monitor

# Anonymous FTP root with one file.
mkdir -p /srv/ftp
[ -f /srv/ftp/rsplugins.txt ] || echo "rsplugins testbed anonymous FTP file" >/srv/ftp/rsplugins.txt
chmod 755 /srv/ftp
chmod 644 /srv/ftp/rsplugins.txt

# nginx: basic-auth user (fixed salt, so the file is the same on every run) and the pages the
# HTTP tests assert byte for byte. nginx reads them per request: a change needs no reload.
openssl passwd -apr1 -salt rsplugin webpass | sed 's/^/webmon:/' | write_file "$TB_NGINX_HTPASSWD" 0644 || true
install -d -m 755 "$TB_NGINX_ROOT" "$TB_NGINX_ROOT/auth"
write_file "$TB_NGINX_ROOT/index.html" 0644 <<'EOF' || true
<html><head><title>rsplugins test page</title></head><body><h1>rsplugins test page</h1><p>It works.</p></body></html>
EOF
echo 'secret area' | write_file "$TB_NGINX_ROOT/auth/secret.txt" 0644 || true
echo 'chunked response' | write_file "$TB_NGINX_ROOT/chunked" 0644 || true
# /gzip: 4096 bytes that compress well
awk 'BEGIN { for (i = 1; i <= 64; i++) printf "compressible text compressible text compressible text line %04d\n", i }' |
  write_file "$TB_NGINX_ROOT/gzip" 0644 || true
# /large: exactly 2 MiB of 64-byte text lines, the last one END-OF-LARGE-PAGE (generated once)
large=$TB_NGINX_ROOT/large
if [ "$(stat -c %s "$large" 2>/dev/null)" != 2097152 ] || [ "$(tail -n 1 "$large")" != END-OF-LARGE-PAGE ]; then
  awk 'BEGIN {
    n = 2097152 - 18                                   # 18 = length("END-OF-LARGE-PAGE\n")
    for (i = 1; i <= int(n / 64); i++) printf "rsplugins large page line %07d abcdefghijklmnopqrstuvwxyz012\n", i
    pad = ""; for (j = 1; j < n % 64; j++) pad = pad "x"
    if (n % 64) print pad
    print "END-OF-LARGE-PAGE"
  }' | write_file "$large" 0644 || true
fi

# ---------------------------------------------------------------------------------------------
# 4. Configuration
# ---------------------------------------------------------------------------------------------
if [ "$TB_HAVE_V6" = 1 ]; then
  INET_PROTOCOLS=all
  DOVECOT_LISTEN="127.0.0.1, ::1"
else
  tb_log "WARNING: no IPv6 loopback (::1); IPv4 only"
  INET_PROTOCOLS=ipv4
  DOVECOT_LISTEN="127.0.0.1"
fi

# --- dovecot
DOVECOT_CHANGED=0
if grep -q '^!include auth-system.conf.ext' /etc/dovecot/conf.d/10-auth.conf; then
  # no PAM/system passdb: only our passwd-file, so auth failures come back at once
  sed -i 's/^!include auth-system.conf.ext/#&/' /etc/dovecot/conf.d/10-auth.conf
  DOVECOT_CHANGED=1
fi
write_file /etc/dovecot/users.rsplugins 0644 <<EOF && DOVECOT_CHANGED=1
monitor:{PLAIN}monpass:$VMAIL_UID:$VMAIL_GID::/var/mail/vhosts/monitor
EOF
write_file /etc/dovecot/local.conf 0644 <<EOF && DOVECOT_CHANGED=1
# Written by rsplugins tests/testbed/setup.sh (dovecot.conf includes local.conf last).
listen = $DOVECOT_LISTEN
log_path = $TB_DOVECOT_LOG
auth_verbose = yes
ssl = yes
ssl_cert = <$TB_CERT_DIR/cert.pem
ssl_key = <$TB_CERT_DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = $VMAIL_UID
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u /etc/dovecot/users.rsplugins
}
userdb {
  driver = passwd-file
  args = username_format=%u /etc/dovecot/users.rsplugins
}
# No brute-force penalty: after a failed login dovecot delays the next logins from the same IP
# by 2-15 s (measured: a correct login 4 s late), so a wrong-password test would slow down or
# time out the tests after it. mode = 0 disables the anvil socket and with it the penalty.
# (auth_failure_delay stays at its default: a failed login itself answers after 2 s.)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# SASL for postfix (smtpd_sasl_type=dovecot, smtpd_sasl_path=private/auth)
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF

# --- postfix (every postconf call below only writes when a value differs: postconf -F and -M
#     rewrite/reorder master.cf even when nothing changes, which would look like a change)
postfix_state() { { postconf -n; postconf -M; postconf -P; } 2>/dev/null | sort | md5sum; }
POSTFIX_CHANGED=0
if ! grep -q '^mydomain *= *localdomain *$' /etc/postfix/main.cf; then
  postconf -e 'mydomain=localdomain'     # first, see pf_main
  POSTFIX_CHANGED=1
fi
pf_before=$(postfix_state)
# pf_main NAME=VALUE... -- one `postconf -n` and at most one `postconf -e`. Every postfix tool
# costs ~2 s while mydomain is unset and the hostname has no dot (a DNS lookup through the
# non-loopback resolver), so setting mydomain explicitly also makes all later calls fast.
pf_main() {
  local kv explicit todo=()
  explicit=$(postconf -n 2>/dev/null)
  for kv in "$@"; do
    grep -qxF -- "${kv%%=*} = ${kv#*=}" <<<"$explicit" || todo+=("$kv")
  done
  [ ${#todo[@]} -eq 0 ] || postconf -e "${todo[@]}"
}
# pf_service NAME/TYPE 'FIELDS...' -- create or fix a master.cf entry (fields as in master.cf)
pf_service() {
  local cur
  cur=$(postconf -M "$1" 2>/dev/null | awk '{print $1, $2, $3, $4, $5, $6, $7, $8}')
  [ "$cur" = "$2" ] || postconf -M "$1=$2"
}
# pf_option NAME/TYPE/PARAM=VALUE... -- set a -o option of a master.cf entry
pf_option() {
  local kv
  for kv in "$@"; do
    [ "$(postconf -Ph "${kv%%=*}" 2>/dev/null)" = "${kv#*=}" ] || postconf -P "$kv"
  done
}
# shellcheck disable=SC2016  # $myhostname is postfix syntax, not shell
pf_main \
  'mydomain=localdomain' \
  'myhostname=rsplugins-test.localdomain' \
  'myorigin=$myhostname' \
  'mydestination=$myhostname, localhost.localdomain, localhost' \
  'inet_interfaces=loopback-only' \
  "inet_protocols=$INET_PROTOCOLS" \
  'default_transport=error' \
  'relay_transport=error' \
  'smtpd_peername_lookup=no' \
  "maillog_file=$TB_POSTFIX_LOG" \
  "smtpd_tls_cert_file=$TB_CERT_DIR/cert.pem" \
  "smtpd_tls_key_file=$TB_CERT_DIR/key.pem" \
  'smtpd_tls_security_level=may' \
  'smtpd_tls_loglevel=1' \
  'smtpd_sasl_type=dovecot' \
  'smtpd_sasl_path=private/auth'
# No chroot: the chroot has no /etc/hosts, and nothing needs it on a test box.
if postconf -F '*/*/chroot' | grep -qv ' = n$'; then
  postconf -F '*/*/chroot = n'
fi
# Extra listeners (127.0.0.1:25 and [::1]:25 are the stock "smtp" service).
for port in 2525 465 2526 2465; do
  pf_service "127.0.0.1:$port/inet" "127.0.0.1:$port inet n - n - - smtpd"
done
pf_option '127.0.0.1:2525/inet/smtpd_sasl_auth_enable=yes' \
          '127.0.0.1:2525/inet/smtpd_tls_auth_only=yes' \
          '127.0.0.1:465/inet/smtpd_tls_wrappermode=yes' \
          '127.0.0.1:465/inet/smtpd_sasl_auth_enable=yes' \
          "127.0.0.1:2526/inet/smtpd_tls_cert_file=$TB_CERT_DIR/short-cert.pem" \
          "127.0.0.1:2526/inet/smtpd_tls_key_file=$TB_CERT_DIR/short-key.pem" \
          '127.0.0.1:2465/inet/smtpd_tls_wrappermode=yes' \
          "127.0.0.1:2465/inet/smtpd_tls_cert_file=$TB_CERT_DIR/short-cert.pem" \
          "127.0.0.1:2465/inet/smtpd_tls_key_file=$TB_CERT_DIR/short-key.pem"
[ -f /etc/aliases.db ] || newaliases
[ "$pf_before" = "$(postfix_state)" ] || POSTFIX_CHANGED=1

# --- vsftpd: our own config files (Debian's /etc/vsftpd.conf has listen=NO, listen_ipv6=YES)
vsftpd_conf() { # LOGFILE then extra lines on stdin
  cat <<EOF
# Written by rsplugins tests/testbed/setup.sh
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
background=YES
ftpd_banner=rsplugins FTP ready
anonymous_enable=YES
no_anon_password=YES
anon_root=/srv/ftp
local_enable=YES
write_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
ssl_enable=YES
allow_anon_ssl=YES
force_local_data_ssl=NO
force_local_logins_ssl=NO
require_ssl_reuse=NO
ssl_ciphers=HIGH
rsa_cert_file=$TB_CERT_DIR/cert.pem
rsa_private_key_file=$TB_CERT_DIR/key.pem
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=40000
pasv_max_port=40100
connect_from_port_20=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$1
EOF
  cat
}
VSFTPD_CHANGED=0
echo "listen_port=21" | vsftpd_conf "$TB_VSFTPD_LOG" | write_file "$TB_VSFTPD_CONF" 0644 && VSFTPD_CHANGED=1
VSFTPD_IMPLICIT_CHANGED=0
printf 'listen_port=990\nimplicit_ssl=YES\n' | vsftpd_conf "$TB_VSFTPD_IMPLICIT_LOG" |
  write_file "$TB_VSFTPD_IMPLICIT_CONF" 0644 && VSFTPD_IMPLICIT_CHANGED=1
mkdir -p /var/run/vsftpd/empty

# --- sshd
mkdir -p /run/sshd
chmod 755 /run/sshd
compgen -G '/etc/ssh/ssh_host_*_key' >/dev/null || ssh-keygen -A >/dev/null
SSHD_ARGS=(-p 22 -o ListenAddress=127.0.0.1)
[ "$TB_HAVE_V6" = 1 ] && SSHD_ARGS+=(-o ListenAddress=::1)
SSHD_ARGS+=(-o PidFile="$TB_SSHD_PID" -o UseDNS=no -E "$TB_SSHD_LOG")

# --- named: authoritative only (recursion no: a name outside the zones is REFUSED, nothing is
#     ever asked of the machine's resolver), on loopback only. The primary serves the test zones
#     on port 53; the secondary transfers them from it and serves them on $TB_NAMED2_PORT. NOTIFY
#     is off and lag.test refreshes once a day, so after a test's dynamic update of lag.test on
#     the primary the secondary's serial stays behind (what --compare-serial must see).
NAMED_CHANGED=0
NAMED2_CHANGED=0
install -d -m 2755 -o root -g bind "$TB_NAMED_DIR"
install -d -m 0775 -o bind -g bind "$TB_NAMED_DYN_DIR" "$TB_NAMED2_DIR" /run/named /var/log/named
if [ "$TB_HAVE_V6" = 1 ]; then
  NAMED_V6="listen-on-v6 port 53 { ::1; };"
  NAMED2_V6="listen-on-v6 port $TB_NAMED2_PORT { ::1; };"
else
  NAMED_V6="listen-on-v6 { none; };"
  NAMED2_V6="listen-on-v6 { none; };"
fi
# named_options PORT V6_LINE PIDFILE DIRECTORY LOG -- the options both instances share.
named_options() {
  cat <<EOF
// Written by rsplugins tests/testbed/setup.sh: authoritative only, on loopback only.
options {
  directory "$4";
  pid-file "$3";
  session-keyfile "$4/session.key";
  listen-on port $1 { 127.0.0.1; };
  $2
  recursion no;
  allow-query { any; };
  allow-transfer { 127.0.0.1; ::1; };
  dnssec-validation no;
  notify no;
};
controls { };
logging {
  channel rsplugins { file "$5" versions 2 size 5m; print-time yes; severity info; };
  category default { rsplugins; };
  category lame-servers { null; };
};
EOF
}
{
  named_options 53 "$NAMED_V6" "$TB_NAMED_PID" /var/cache/bind "$TB_NAMED_LOG"
  cat <<EOF
zone "example.test" { type primary; file "$TB_NAMED_DIR/db.example.test"; };
zone "2.0.192.in-addr.arpa" { type primary; file "$TB_NAMED_DIR/db.192.0.2"; };
zone "8.b.d.0.1.0.0.2.ip6.arpa" { type primary; file "$TB_NAMED_DIR/db.2001.db8"; };
zone "lag.test" { type primary; file "$TB_NAMED_DYN_DIR/db.lag.test"; allow-update { 127.0.0.1; ::1; }; };
EOF
} | write_file "$TB_NAMED_CONF" 0644 && NAMED_CHANGED=1
{
  named_options "$TB_NAMED2_PORT" "$NAMED2_V6" "$TB_NAMED2_PID" "$TB_NAMED2_DIR" "$TB_NAMED2_LOG"
  cat <<EOF
zone "example.test" { type secondary; primaries { 127.0.0.1 port 53; }; file "example.test.db"; };
zone "lag.test" { type secondary; primaries { 127.0.0.1 port 53; }; file "lag.test.db"; };
EOF
} | write_file "$TB_NAMED2_CONF" 0644 && NAMED2_CHANGED=1
# The test zone: several addresses for one name, a CNAME chain, a name with A but no AAAA, and
# a record of each type the DNS plugins show. The addresses are documentation ranges
# (192.0.2.0/24, 2001:db8::/32): they are only ever answered, never connected to.
# many.example.test has 90 addresses (BIND allows 100 per set), more than fit a 1232-byte UDP
# reply: BIND sets TC and a client has to ask again over TCP.
{
  cat <<'EOF'
; Written by rsplugins tests/testbed/setup.sh
$TTL 300
@         IN SOA   ns1.example.test. hostmaster.example.test. ( 2026120101 3600 600 86400 300 )
@         IN NS    ns1.example.test.
@         IN NS    ns2.example.test.
@         IN MX    10 mail.example.test.
@         IN MX    20 mail2.example.test.
@         IN A     192.0.2.1
@         IN AAAA  2001:db8::1
@         IN TXT   "v=spf1 -all"
@         IN CAA   0 issue "ca.example.net"
ns1       IN A     127.0.0.1
ns1       IN AAAA  ::1
ns2       IN A     127.0.0.1
mail      IN A     192.0.2.25
mail2     IN A     192.0.2.26
www       IN A     192.0.2.10
www       IN A     192.0.2.11
www       IN A     192.0.2.12
www       IN AAAA  2001:db8::10
www       IN AAAA  2001:db8::11
web       IN CNAME www.example.test.
alias     IN CNAME web.example.test.
v4only    IN A     192.0.2.20
txt       IN TXT   "hello world" "second string"
sip       IN A     192.0.2.30
_sip._udp IN SRV   10 60 5060 sip.example.test.
EOF
  for i in $(seq 1 90); do printf 'many      IN A     192.0.2.%s\n' "$((i + 100))"; done
} | write_file "$TB_NAMED_DIR/db.example.test" 0644 && NAMED_CHANGED=1
write_file "$TB_NAMED_DIR/db.192.0.2" 0644 <<'EOF' && NAMED_CHANGED=1
; Written by rsplugins tests/testbed/setup.sh
$TTL 300
@    IN SOA ns1.example.test. hostmaster.example.test. ( 2026120101 3600 600 86400 300 )
@    IN NS  ns1.example.test.
1    IN PTR example.test.
10   IN PTR www.example.test.
25   IN PTR mail.example.test.
EOF
write_file "$TB_NAMED_DIR/db.2001.db8" 0644 <<'EOF' && NAMED_CHANGED=1
; Written by rsplugins tests/testbed/setup.sh (reverse zone of 2001:db8::/32)
$TTL 300
@    IN SOA ns1.example.test. hostmaster.example.test. ( 2026120101 3600 600 86400 300 )
@    IN NS  ns1.example.test.
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR www.example.test.
EOF
# lag.test is rewritten by named itself after dynamic updates: created once, never overwritten.
if [ ! -s "$TB_NAMED_DYN_DIR/db.lag.test" ]; then
  cat >"$TB_NAMED_DYN_DIR/db.lag.test" <<'EOF'
; Created by rsplugins tests/testbed/setup.sh; the tests bump its serial with dynamic updates.
$TTL 300
@    IN SOA ns1.example.test. hostmaster.example.test. ( 1 86400 3600 864000 300 )
@    IN NS  ns1.example.test.
@    IN TXT "lag test zone"
EOF
  chown bind:bind "$TB_NAMED_DYN_DIR/db.lag.test"
  NAMED_CHANGED=1
fi
# A restarted primary may serve zones the secondary has to transfer again.
[ "$NAMED_CHANGED" = 1 ] && NAMED2_CHANGED=1

# --- nginx: our own main file, not Debian's nginx.conf (that one turns gzip on for text/html,
#     logs to /var/log/nginx and includes sites-enabled/default on 0.0.0.0:80 and [::]:80).
#     `return` runs before auth_basic (rewrite phase), so /auth/ serves a file instead.
NGINX_CHANGED=0
rm -f /etc/nginx/sites-enabled/default     # in case Debian's nginx.conf is ever started
install -d -m 755 "$TB_NGINX_LOG_DIR"
write_file "$TB_NGINX_CONF" 0644 <<EOF && NGINX_CHANGED=1
# Written by rsplugins tests/testbed/setup.sh; loopback only. Start: nginx -c $TB_NGINX_CONF
user www-data;
worker_processes 1;
pid $TB_NGINX_PID;
error_log $TB_NGINX_LOG;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type text/plain;
  access_log $TB_NGINX_LOG_DIR/access.log;
  sendfile on;
  ssl_certificate $TB_CERT_DIR/cert.pem;
  ssl_certificate_key $TB_CERT_DIR/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;   # nginx 1.22's built-in default stops at 1.2
  root $TB_NGINX_ROOT;
  absolute_redirect off;   # Location headers exactly as written (relative ones stay relative)

  server {
    listen 127.0.0.1:80 default_server;
    listen 127.0.0.1:443 ssl http2 default_server;
$(v6 '    listen [::1]:80 default_server;' '    listen [::1]:443 ssl http2 default_server;')
    server_name localhost;
    index index.html;
    location = /health { return 200 "OK\n"; }
    location = /redirect { return 301 /health; }
    location = /redirect-abs { return 302 http://localhost/health; }
    location = /loop1 { return 302 /loop2; }
    location = /loop2 { return 302 /loop1; }
    location = /error500 { return 500; }
    location = /error503 { return 503; }
    location = /post {
      if (\$request_method != POST) { return 405; }
      return 200 "posted\n";
    }
    location = /headers {
      add_header X-Rsplugins testbed;
      return 200 "headers\n";
    }
    location /auth/ {
      auth_basic "rsplugins test";
      auth_basic_user_file $TB_NGINX_HTPASSWD;
      index secret.txt;
    }
    location = /gzip {
      gzip on;
      gzip_types text/plain;
      gzip_min_length 1;
    }
    # SSI drops Content-Length, so an HTTP/1.1 answer is chunked without any backend
    location = /chunked {
      ssi on;
      ssi_types text/plain;
    }
  }

  server {
    listen 127.0.0.1:80;
    listen 127.0.0.1:443 ssl http2;
$(v6 '    listen [::1]:80;' '    listen [::1]:443 ssl http2;')
    server_name www.example.test;
    location / { return 200 "vhost www.example.test\n"; }
  }

  server {
    listen 127.0.0.1:8443 ssl;
    ssl_certificate $TB_CERT_DIR/short-cert.pem;
    ssl_certificate_key $TB_CERT_DIR/short-key.pem;
    location / { return 200 "short cert\n"; }
  }

  server {
    listen 127.0.0.1:8080;
    location / { return 200 "port 8080\n"; }
  }
}
EOF

if [ "$CERTS_CHANGED" = 1 ]; then
  DOVECOT_CHANGED=1 POSTFIX_CHANGED=1 VSFTPD_CHANGED=1 VSFTPD_IMPLICIT_CHANGED=1 NGINX_CHANGED=1
fi

# ---------------------------------------------------------------------------------------------
# 5. Daemons: leave a running one alone unless its configuration changed or a port is missing
# ---------------------------------------------------------------------------------------------
# wait_up NAME PROCESS LOG STARTLOG PORTS... -- bounded wait (10 s) for all ports, else fail loudly.
wait_up() {
  local name=$1 proc=$2 log=$3 startlog=$4 i listing s miss
  shift 4
  for ((i = 0; i < 100; i++)); do
    tb_all_listening "$proc" "$@" && return 0
    sleep 0.1
  done
  listing=$(tb_listening)
  miss=()
  for s in "$@"; do tb_is_listening "$listing" "$s" "$proc" || miss+=("$s"); done
  tb_die "$name did not come up within 10 s (not listening as process '$proc': ${miss[*]}); see $log and $startlog" \
    "$startlog" "$log"
}

# ensure NAME PROCESS CHANGED STOPFN STARTFN LOG PORTS...
#   PROCESS: the listening process's name as `ss -ltnp` shows it; a port held by another
#   program is not taken for ours (setup then fails, naming the busy ports).
ensure() {
  local name=$1 proc=$2 changed=$3 stopfn=$4 startfn=$5 log=$6 startlog=$TB_LOG_DIR/$1-start.log
  shift 6
  if [ "$changed" = 0 ] && tb_all_listening "$proc" "$@"; then
    tb_log "$name already running"
    return 0
  fi
  if [ "$changed" = 1 ]; then
    tb_log "$name: configuration or certificates changed, (re)starting"
  else
    tb_log "$name: not (fully) running, starting"
  fi
  "$stopfn" || tb_die "$name: ports still busy after stopping our instance (another program? see \`ss -ltnp\`): $*" "$log"
  : >"$startlog"
  "$startfn" "$startlog" || tb_die "$name failed to start; see $startlog and $log" "$startlog" "$log"
  wait_up "$name" "$proc" "$log" "$startlog" "$@"
  tb_log "$name up"
}

# Every daemon starts in its own session with stdin/stdout/stderr away from our stdout/stderr:
# dovecot's master keeps an inherited stderr open, which would block a piped caller forever.
start_dovecot() {
  doveconf -n >/dev/null 2>>"$1" || return 1
  rm -f /run/dovecot/anvil-auth-penalty   # stale socket of an older config: auth would log errors
  setsid -w dovecot </dev/null >>"$1" 2>&1
}
start_postfix() { setsid -w postfix start </dev/null >>"$1" 2>&1; }
# start_vsftpd_with CONF PIDFILE PORT STARTLOG
start_vsftpd_with() {
  local conf=$1 pidfile=$2 port=$3 startlog=$4 i pid
  setsid -w vsftpd "$conf" </dev/null >>"$startlog" 2>&1 || return 1
  # no pid file of its own: record the listener's pid (background=YES detaches it)
  for ((i = 0; i < 100; i++)); do
    pid=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o '"vsftpd",pid=[0-9]*' | head -n1 | cut -d= -f2)
    [ -n "$pid" ] && { echo "$pid" >"$pidfile"; return 0; }
    sleep 0.1
  done
  return 0    # wait_up reports the failure
}
start_vsftpd() { start_vsftpd_with "$TB_VSFTPD_CONF" "$TB_VSFTPD_PID" 21 "$1"; }
start_vsftpd_implicit() { start_vsftpd_with "$TB_VSFTPD_IMPLICIT_CONF" "$TB_VSFTPD_IMPLICIT_PID" 990 "$1"; }
stop_vsftpd() { tb_stop_vsftpd "$TB_VSFTPD_CONF" "$TB_VSFTPD_PID" "${TB_VSFTPD_PORTS[@]}"; }
stop_vsftpd_implicit() {
  tb_stop_vsftpd "$TB_VSFTPD_IMPLICIT_CONF" "$TB_VSFTPD_IMPLICIT_PID" "${TB_VSFTPD_IMPLICIT_PORTS[@]}"
}
start_sshd() {
  /usr/sbin/sshd -t "${SSHD_ARGS[@]}" </dev/null >>"$1" 2>&1 || return 1
  setsid -w /usr/sbin/sshd "${SSHD_ARGS[@]}" </dev/null >>"$1" 2>&1
}

# dovecot first: postfix's SMTP AUTH talks to dovecot's auth socket.
ensure dovecot dovecot "$DOVECOT_CHANGED" tb_stop_dovecot start_dovecot "$TB_DOVECOT_LOG" \
  "${TB_DOVECOT_PORTS[@]}"
ensure postfix master "$POSTFIX_CHANGED" tb_stop_postfix start_postfix "$TB_POSTFIX_LOG" \
  "${TB_POSTFIX_PORTS[@]}"
ensure vsftpd vsftpd "$VSFTPD_CHANGED" stop_vsftpd start_vsftpd "$TB_VSFTPD_LOG" "${TB_VSFTPD_PORTS[@]}"
ensure vsftpd-implicit vsftpd "$VSFTPD_IMPLICIT_CHANGED" stop_vsftpd_implicit start_vsftpd_implicit \
  "$TB_VSFTPD_IMPLICIT_LOG" "${TB_VSFTPD_IMPLICIT_PORTS[@]}"
ensure sshd sshd 0 tb_stop_sshd start_sshd "$TB_SSHD_LOG" "${TB_SSHD_PORTS[@]}"

# named: the primary first (the secondary transfers its zones when it starts).
# start_named_with CONF STARTLOG
start_named_with() {
  named-checkconf -z "$1" >>"$2" 2>&1 || return 1
  setsid -w named -u bind -c "$1" </dev/null >>"$2" 2>&1
}
start_named() { start_named_with "$TB_NAMED_CONF" "$1"; }
start_named2() { start_named_with "$TB_NAMED2_CONF" "$1"; }
stop_named() { tb_stop_named "$TB_NAMED_PID" "${TB_NAMED_PORTS[@]}"; }
stop_named2() { tb_stop_named "$TB_NAMED2_PID" "${TB_NAMED2_PORTS[@]}"; }
ensure named named "$NAMED_CHANGED" stop_named start_named "$TB_NAMED_LOG" "${TB_NAMED_PORTS[@]}"
ensure named-secondary named "$NAMED2_CHANGED" stop_named2 start_named2 "$TB_NAMED2_LOG" \
  "${TB_NAMED2_PORTS[@]}"
# Listening is not serving yet: wait (bounded) until the secondary answers for both zones.
for zone in example.test lag.test; do
  for ((i = 0; i < 100; i++)); do
    dig +short +time=1 +tries=1 -p "$TB_NAMED2_PORT" @127.0.0.1 SOA "$zone" 2>/dev/null | grep -q . && break
    sleep 0.1
  done
  [ "$i" -lt 100 ] || tb_die "the secondary named serves no zone $zone after 10 s" "$TB_NAMED2_LOG" "$TB_NAMED_LOG"
done

# nginx: a changed configuration or certificate is reloaded in place (SIGHUP) when it runs
# fully; ensure (re)starts it only when it is down or a port is missing.
start_nginx() {
  nginx -t -c "$TB_NGINX_CONF" </dev/null >>"$1" 2>&1 || return 1
  setsid -w nginx -c "$TB_NGINX_CONF" </dev/null >>"$1" 2>&1
}
# reload_nginx MASTER_PID STARTLOG -- true once a worker of the new configuration runs.
reload_nginx() {
  local master=$1 log=$2 old i p
  nginx -t -c "$TB_NGINX_CONF" </dev/null >>"$log" 2>&1 || return 1
  old=" $(pgrep -P "$master" | tr '\n' ' ')"
  nginx -c "$TB_NGINX_CONF" -s reload </dev/null >>"$log" 2>&1 || return 1
  for ((i = 0; i < 100; i++)); do
    for p in $(pgrep -P "$master"); do [[ $old == *" $p "* ]] || return 0; done
    sleep 0.1
  done
  return 1    # a failed reload keeps the old workers (reason in the error log)
}
if [ "$NGINX_CHANGED" = 1 ] && nginx_pid=$(tb_pidfile_pid "$TB_NGINX_PID") &&
   tb_all_listening nginx "${TB_NGINX_PORTS[@]}"; then
  tb_log "nginx: configuration or certificates changed, reloading"
  : >"$TB_LOG_DIR/nginx-start.log"
  reload_nginx "$nginx_pid" "$TB_LOG_DIR/nginx-start.log" ||
    tb_die "nginx did not reload; see $TB_LOG_DIR/nginx-start.log and $TB_NGINX_LOG" \
      "$TB_LOG_DIR/nginx-start.log" "$TB_NGINX_LOG"
  tb_log "nginx reloaded"
  NGINX_CHANGED=0
fi
ensure nginx nginx "$NGINX_CHANGED" tb_stop_nginx start_nginx "$TB_NGINX_LOG" "${TB_NGINX_PORTS[@]}"

# ---------------------------------------------------------------------------------------------
# 6. Environment file for the Rust tests (KEY=VALUE, no quoting, no spaces in values)
# ---------------------------------------------------------------------------------------------
write_file "$TB_ENV_FILE" 0644 <<EOF || true
# Written by rsplugins tests/testbed/setup.sh; removed by stop.sh. KEY=VALUE, values unquoted.
RSPLUGINS_TESTBED=1
RSPLUGINS_TESTBED_HOST=127.0.0.1
RSPLUGINS_TESTBED_HOST6=$([ "$TB_HAVE_V6" = 1 ] && echo ::1)
RSPLUGINS_TESTBED_IPV6=$TB_HAVE_V6
RSPLUGINS_TESTBED_CA=$TB_CERT_DIR/ca.pem
RSPLUGINS_TESTBED_CA_KEY=$TB_CERT_DIR/ca-key.pem
RSPLUGINS_TESTBED_CERT=$TB_CERT_DIR/cert.pem
RSPLUGINS_TESTBED_KEY=$TB_CERT_DIR/key.pem
RSPLUGINS_TESTBED_FULLCHAIN=$TB_CERT_DIR/fullchain.pem
RSPLUGINS_TESTBED_SHORT_CERT=$TB_CERT_DIR/short-cert.pem
RSPLUGINS_TESTBED_SHORT_KEY=$TB_CERT_DIR/short-key.pem
RSPLUGINS_TESTBED_SMTP_PORT=25
RSPLUGINS_TESTBED_SMTP_AUTH_PORT=2525
RSPLUGINS_TESTBED_SMTPS_PORT=465
RSPLUGINS_TESTBED_SMTP_SHORT_CERT_PORT=2526
RSPLUGINS_TESTBED_SMTPS_SHORT_CERT_PORT=2465
RSPLUGINS_TESTBED_SMTP_HOSTNAME=rsplugins-test.localdomain
RSPLUGINS_TESTBED_SMTP_RCPT=monitor@localhost
RSPLUGINS_TESTBED_SMTP_MBOX=/var/mail/monitor
RSPLUGINS_TESTBED_POP3_PORT=110
RSPLUGINS_TESTBED_POP3S_PORT=995
RSPLUGINS_TESTBED_IMAP_PORT=143
RSPLUGINS_TESTBED_IMAPS_PORT=993
RSPLUGINS_TESTBED_MAIL_USER=monitor
RSPLUGINS_TESTBED_MAIL_PASS=monpass
RSPLUGINS_TESTBED_MAIL_SEED_MESSAGES=2
RSPLUGINS_TESTBED_FTP_PORT=21
RSPLUGINS_TESTBED_FTPS_IMPLICIT_PORT=990
RSPLUGINS_TESTBED_FTP_USER=ftpmon
RSPLUGINS_TESTBED_FTP_PASS=ftppass
RSPLUGINS_TESTBED_FTP_ANON_FILE=rsplugins.txt
RSPLUGINS_TESTBED_SSH_PORT=22
RSPLUGINS_TESTBED_DNS_PORT=53
RSPLUGINS_TESTBED_DNS_SECONDARY_PORT=$TB_NAMED2_PORT
RSPLUGINS_TESTBED_DNS_ZONE=example.test
RSPLUGINS_TESTBED_DNS_LAG_ZONE=lag.test
RSPLUGINS_TESTBED_HTTP_PORT=80
RSPLUGINS_TESTBED_HTTPS_PORT=443
RSPLUGINS_TESTBED_HTTPS_SHORT_CERT_PORT=8443
RSPLUGINS_TESTBED_HTTP_ALT_PORT=8080
RSPLUGINS_TESTBED_HTTP_VHOST=www.example.test
RSPLUGINS_TESTBED_HTTP_USER=webmon
RSPLUGINS_TESTBED_HTTP_PASS=webpass
RSPLUGINS_TESTBED_HTTP_LARGE_SIZE=2097152
EOF

# ---------------------------------------------------------------------------------------------
# 7. Summary
# ---------------------------------------------------------------------------------------------
summary() { printf '  %-16s %-76s OK\n' "$1" "$2"; }
tb_log "testbed ready ($(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s); env file $TB_ENV_FILE"
summary postfix "${TB_POSTFIX_PORTS[*]}"
summary dovecot "${TB_DOVECOT_PORTS[*]}"
summary vsftpd "${TB_VSFTPD_PORTS[*]}"
summary vsftpd-implicit "${TB_VSFTPD_IMPLICIT_PORTS[*]}"
summary sshd "${TB_SSHD_PORTS[*]}"
summary named "${TB_NAMED_PORTS[*]}"
summary named-secondary "${TB_NAMED2_PORTS[*]}"
summary nginx "${TB_NGINX_PORTS[*]}"
