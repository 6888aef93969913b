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
#   mariadb  127.0.0.1:3306 [::1]:3306 /run/mysqld/mysqld.sock (TLS, binary log, GTIDs), and a
#            read-only replica replicating from it: 127.0.0.1:3307 [::1]:3307 /run/mysqld/mysqld-replica.sock
#   postgres 127.0.0.1:5432 [::1]:5432 (cluster 15/main, TLS), and a hot standby streaming from it
#            through slot rsplugins_standby: 127.0.0.1:5433 [::1]:5433 (cluster 15/standby)
#            Databases: accounts monitor/monpass (monitoring), dbadmin/adminpass, replicator/replpass;
#            database monitest with table counts. See README.md.
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

# monitoring-plugins: the C plugins the tests compare exit codes with (check_mysql needs
# libmariadb3, which mariadb-server brings). postgresql-15 is on the image; listed in case not.
PKGS=(postfix dovecot-imapd dovecot-pop3d vsftpd openssh-server openssl ca-certificates procps iproute2
  monitoring-plugins-basic monitoring-plugins-standard bind9 bind9-dnsutils nginx mariadb-server postgresql-15
  sudo rsyslog libnss-extrausers strace)
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

# --- MariaDB: the primary on 3306 is Debian's instance (/etc/mysql/my.cnf reads our drop-in
#     last; datadir /var/lib/mysql, made by the package); the replica on 3307 has a defaults file
#     and a datadir of its own. Both present the testbed certificate. The primary writes a binary
#     log (GTIDs); the replica is read_only and replicates from it over TLS, verifying the CA.
#     skip-name-resolve: client addresses are never looked up (::1 is not in /etc/hosts, so the
#     lookup would go to the non-loopback resolver); accounts match by address, 'monitor'@'127.0.0.1'
#     and 'monitor'@'::1' over TCP, 'monitor'@'localhost' over the unix socket.
MYSQL_CHANGED=0
MYSQL_REPLICA_CHANGED=0
MYSQL_BIND=127.0.0.1
[ "$TB_HAVE_V6" = 1 ] && MYSQL_BIND=127.0.0.1,::1      # a list needs MariaDB >= 10.11
install -d -m 755 -o mysql -g root /run/mysqld
install -d -m 2750 -o mysql -g adm "$TB_MYSQL_LOG_DIR"
install -d -m 700 "$TB_STATE_DIR"
# mysql_server_conf PORT SOCKET PIDFILE ERROR_LOG SERVER_ID, then extra lines on stdin
mysql_server_conf() {
  cat <<EOF
# Written by rsplugins tests/testbed/setup.sh; loopback only.
[mysqld]
port = $1
bind-address = $MYSQL_BIND
socket = $2
pid-file = $3
log-error = $4
server-id = $5
skip-name-resolve
ssl-cert = $TB_CERT_DIR/cert.pem
ssl-key = $TB_CERT_DIR/key.pem
ssl-ca = $TB_CERT_DIR/ca.pem
EOF
  cat
}
mysql_server_conf "$TB_MYSQL_PORT" "$TB_MYSQL_SOCKET" "$TB_MYSQL_PID" "$TB_MYSQL_LOG" 1 <<'EOF' |
log-bin = mariadb-bin
EOF
  write_file "$TB_MYSQL_CNF" 0644 && MYSQL_CHANGED=1
# The replica reads only this file (--defaults-file): what Debian's files give the primary is
# repeated here.
mysql_server_conf "$TB_MYSQL_REPLICA_PORT" "$TB_MYSQL_REPLICA_SOCKET" "$TB_MYSQL_REPLICA_PID" \
  "$TB_MYSQL_REPLICA_LOG" 2 <<EOF | write_file "$TB_MYSQL_REPLICA_CNF" 0644 && MYSQL_REPLICA_CHANGED=1
user = mysql
basedir = /usr
datadir = $TB_MYSQL_REPLICA_DIR
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
read-only = 1
relay-log = mariadb-relay-bin
EOF

# --- PostgreSQL 15: Debian's cluster 15/main is the primary; 15/standby (created here once) is
#     its streaming standby. Each gets conf.d/rsplugins.conf (read after postgresql.conf) and our
#     own pg_hba.conf. The server key must belong to postgres with mode 0600: the testbed cert,
#     key and CA are copied to $TB_PG_SSL_DIR.
PG_ETC=/etc/postgresql/$TB_PG_VERSION
PG_BIN=/usr/lib/postgresql/$TB_PG_VERSION/bin
PG_CHANGED=0 PG_RELOAD=0 PG_STANDBY_CHANGED=0 PG_STANDBY_RELOAD=0
if [ ! -f "$PG_ETC/main/postgresql.conf" ]; then      # the package creates it; not if it was removed
  tb_log "creating PostgreSQL cluster $TB_PG_VERSION/main"
  pg_createcluster "$TB_PG_VERSION" main </dev/null >>"$TB_LOG_DIR/pgsql-start.log" 2>&1 ||
    tb_die "pg_createcluster $TB_PG_VERSION main failed" "$TB_LOG_DIR/pgsql-start.log"
fi
if [ ! -f "$PG_ETC/$TB_PG_STANDBY_CLUSTER/postgresql.conf" ]; then
  # its initdb'd data directory is replaced by a base backup of the primary in section 5
  tb_log "creating PostgreSQL cluster $TB_PG_VERSION/$TB_PG_STANDBY_CLUSTER"
  pg_createcluster -p "$TB_PG_STANDBY_PORT" "$TB_PG_VERSION" "$TB_PG_STANDBY_CLUSTER" </dev/null \
    >>"$TB_LOG_DIR/pgsql-standby-start.log" 2>&1 ||
    tb_die "pg_createcluster $TB_PG_VERSION $TB_PG_STANDBY_CLUSTER failed" "$TB_LOG_DIR/pgsql-standby-start.log"
  PG_STANDBY_CHANGED=1
fi
install -d -m 750 -o postgres -g postgres "$TB_PG_SSL_DIR"
for f in cert.pem key.pem ca.pem; do
  write_file "$TB_PG_SSL_DIR/$f" 0600 <"$TB_CERT_DIR/$f" && PG_RELOAD=1 PG_STANDBY_RELOAD=1
  chown postgres:postgres "$TB_PG_SSL_DIR/$f"
done
PG_LISTEN=127.0.0.1
[ "$TB_HAVE_V6" = 1 ] && PG_LISTEN=127.0.0.1,::1
# pg_conf PORT -- the settings both clusters share (a standby needs the replication settings of
# its primary, and keeps them for a promotion).
pg_conf() {
  cat <<EOF
# Written by rsplugins tests/testbed/setup.sh; loopback only.
listen_addresses = '$PG_LISTEN'
port = $1
ssl = on
ssl_cert_file = '$TB_PG_SSL_DIR/cert.pem'
ssl_key_file = '$TB_PG_SSL_DIR/key.pem'
ssl_ca_file = '$TB_PG_SSL_DIR/ca.pem'
password_encryption = scram-sha-256
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 128MB
max_slot_wal_keep_size = 1GB
hot_standby = on
EOF
}
# Password logins everywhere except postgres itself (peer, for this script): a test can use the
# unix socket as monitor too. Replication only for the replication role, over TCP.
pg_hba() {
  cat <<EOF
# Written by rsplugins tests/testbed/setup.sh. TYPE DATABASE USER ADDRESS METHOD
local   all          postgres                      peer
local   all          all                           scram-sha-256
host    all          all            127.0.0.1/32   scram-sha-256
host    all          all            ::1/128        scram-sha-256
local   replication  postgres                      peer
host    replication  $TB_DB_REPL_USER     127.0.0.1/32   scram-sha-256
host    replication  $TB_DB_REPL_USER     ::1/128        scram-sha-256
EOF
}
pg_conf "$TB_PG_PORT" | write_file "$PG_ETC/main/conf.d/rsplugins.conf" 0644 && PG_CHANGED=1
pg_conf "$TB_PG_STANDBY_PORT" |
  write_file "$PG_ETC/$TB_PG_STANDBY_CLUSTER/conf.d/rsplugins.conf" 0644 && PG_STANDBY_CHANGED=1
pg_hba | write_file "$PG_ETC/main/pg_hba.conf" 0640 && PG_RELOAD=1
pg_hba | write_file "$PG_ETC/$TB_PG_STANDBY_CLUSTER/pg_hba.conf" 0640 && PG_STANDBY_RELOAD=1
chown postgres:postgres "$PG_ETC/main/conf.d/rsplugins.conf" "$PG_ETC/main/pg_hba.conf" \
  "$PG_ETC/$TB_PG_STANDBY_CLUSTER/conf.d/rsplugins.conf" "$PG_ETC/$TB_PG_STANDBY_CLUSTER/pg_hba.conf"

MYSQL_RELOAD=0
if [ "$CERTS_CHANGED" = 1 ]; then
  DOVECOT_CHANGED=1 POSTFIX_CHANGED=1 VSFTPD_CHANGED=1 VSFTPD_IMPLICIT_CHANGED=1 NGINX_CHANGED=1
  MYSQL_RELOAD=1    # FLUSH SSL on both MariaDB servers; PostgreSQL: the copies above changed
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

# --- MariaDB. mariadbd itself, detached (not mysqld_safe: it would restart a killed server).
MYSQL_STARTED=0 MYSQL_REPLICA_STARTED=0
start_mysql() {
  MYSQL_STARTED=1
  setsid -f /usr/sbin/mariadbd --user=mysql </dev/null >>"$1" 2>&1
}
start_mysql_replica() {
  MYSQL_REPLICA_STARTED=1
  setsid -f /usr/sbin/mariadbd --defaults-file="$TB_MYSQL_REPLICA_CNF" </dev/null >>"$1" 2>&1
}
# As root over the unix sockets (root@localhost authenticates by unix_socket). --skip-ssl: the
# 10.11 clients negotiate TLS even over a unix socket, 50 ms a call.
mysql_primary() { mariadb --skip-ssl --socket="$TB_MYSQL_SOCKET" -N -B; }          # SQL on stdin
mysql_replica() { mariadb --skip-ssl --socket="$TB_MYSQL_REPLICA_SOCKET" -N -B; }  # SQL on stdin
# mysql_wait STARTED SOCKET NAME LOG -- after a start, ping until it answers (10 s).
mysql_wait() {
  local i
  [ "$1" = 1 ] || return 0
  shift
  for ((i = 0; i < 100; i++)); do
    mariadb-admin --skip-ssl --socket="$1" --silent ping </dev/null >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tb_die "$2 does not answer on $1 after 10 s" "$3"
}
# mysql_flush_ssl NAME SOCKET -- re-read the certificate without a restart (false if not running).
mysql_flush_ssl() {
  mariadb --skip-ssl --socket="$2" -e 'FLUSH SSL' </dev/null >/dev/null 2>&1 || return 1
  tb_log "$1: certificate reloaded (FLUSH SSL)"
}

# The accounts, on the primary (replicated from there) and on a replica being seeded. Every
# statement is idempotent, and replicated ones must not fail on a replica that has the accounts.
mysql_users_sql() {
  local h
  for h in localhost 127.0.0.1 ::1; do
    cat <<EOF
CREATE USER IF NOT EXISTS '$TB_DB_USER'@'$h';
ALTER USER '$TB_DB_USER'@'$h' IDENTIFIED BY '$TB_DB_PASS';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$TB_DB_USER'@'$h';
GRANT SELECT, PROCESS, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO '$TB_DB_USER'@'$h';
CREATE USER IF NOT EXISTS '$TB_DB_ADMIN_USER'@'$h';
ALTER USER '$TB_DB_ADMIN_USER'@'$h' IDENTIFIED BY '$TB_DB_ADMIN_PASS';
GRANT ALL PRIVILEGES ON *.* TO '$TB_DB_ADMIN_USER'@'$h' WITH GRANT OPTION;
EOF
  done
  cat <<EOF
CREATE USER IF NOT EXISTS '$TB_DB_REPL_USER'@'127.0.0.1';
ALTER USER '$TB_DB_REPL_USER'@'127.0.0.1' IDENTIFIED BY '$TB_DB_REPL_PASS';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$TB_DB_REPL_USER'@'127.0.0.1';
GRANT REPLICATION SLAVE ON *.* TO '$TB_DB_REPL_USER'@'127.0.0.1';
EOF
}
# The test data, exactly these rows (rows a test added are removed).
mysql_data_sql() {
  cat <<EOF
CREATE DATABASE IF NOT EXISTS $TB_DB_NAME;
CREATE TABLE IF NOT EXISTS $TB_DB_NAME.counts (name VARCHAR(64) NOT NULL PRIMARY KEY, n INT NULL) ENGINE=InnoDB;
DELETE FROM $TB_DB_NAME.counts WHERE name NOT IN ('answer', 'text');
INSERT INTO $TB_DB_NAME.counts (name, n) VALUES ('answer', 42), ('text', NULL) ON DUPLICATE KEY UPDATE n = VALUES(n);
EOF
}
# What the provisioning produced: grants (with password hashes), the table and its rows. Fails
# when an account or the table is missing.
mysql_fingerprint() {
  local h
  {
    for h in localhost 127.0.0.1 ::1; do
      echo "SHOW GRANTS FOR '$TB_DB_USER'@'$h'; SHOW GRANTS FOR '$TB_DB_ADMIN_USER'@'$h';"
    done
    echo "SHOW GRANTS FOR '$TB_DB_REPL_USER'@'127.0.0.1';"
    echo "SHOW CREATE TABLE $TB_DB_NAME.counts; SELECT name, IFNULL(n, 'NULL') FROM $TB_DB_NAME.counts ORDER BY name;"
  } | mysql_primary 2>/dev/null | md5sum | cut -d' ' -f1
}
# Provision the primary unless the SQL and the fingerprint are those of the last provisioning.
mysql_provision() {
  local state=$TB_STATE_DIR/mariadb.state want fp
  want=$({ mysql_users_sql; mysql_data_sql; } | md5sum | cut -d' ' -f1)
  fp=$(mysql_fingerprint) || fp=missing
  if [ "$(cat "$state" 2>/dev/null)" = "$want $fp" ]; then
    tb_log "mariadb: accounts and $TB_DB_NAME as set up"
    return 0
  fi
  tb_log "mariadb: applying accounts and $TB_DB_NAME.counts (new, or changed since setup last applied them)"
  { mysql_users_sql; mysql_data_sql; } | mysql_primary >>"$TB_LOG_DIR/mariadb-start.log" 2>&1 ||
    tb_die "mariadb: provisioning failed" "$TB_LOG_DIR/mariadb-start.log"
  fp=$(mysql_fingerprint) || tb_die "mariadb: accounts or $TB_DB_NAME.counts missing after provisioning"
  echo "$want $fp" >"$state"
}

# mysql_replica_field NAME -- a field of SHOW REPLICA STATUS ("" when no replication is set up).
mysql_replica_status() {
  mariadb --skip-ssl --socket="$TB_MYSQL_REPLICA_SOCKET" -E -e 'SHOW REPLICA STATUS' </dev/null 2>/dev/null || true
}
mysql_replica_field() {
  awk -v k="$1" '{ f = $1; sub(/:$/, "", f) } f == k { sub(/^[^:]*: ?/, ""); print; exit }' <<<"$MYSQL_RS"
}
# The replication settings of CHANGE MASTER and how SHOW REPLICA STATUS shows them.
MYSQL_CHANGE_MASTER="CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$TB_MYSQL_PORT,
  MASTER_USER='$TB_DB_REPL_USER', MASTER_PASSWORD='$TB_DB_REPL_PASS', MASTER_CONNECT_RETRY=1,
  MASTER_SSL=1, MASTER_SSL_CA='$TB_CERT_DIR/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT=1,
  MASTER_USE_GTID=slave_pos, MASTER_DELAY=0"
mysql_replica_configured() {
  [ "$(mysql_replica_field Master_Host)" = 127.0.0.1 ] &&
    [ "$(mysql_replica_field Master_Port)" = "$TB_MYSQL_PORT" ] &&
    [ "$(mysql_replica_field Master_User)" = "$TB_DB_REPL_USER" ] &&
    [ "$(mysql_replica_field Connect_Retry)" = 1 ] &&
    [ "$(mysql_replica_field Master_SSL_Allowed)" = Yes ] &&
    [ "$(mysql_replica_field Master_SSL_Verify_Server_Cert)" = Yes ] &&
    [ "$(mysql_replica_field Using_Gtid)" = Slave_Pos ] &&
    [ "$(mysql_replica_field SQL_Delay)" = 0 ]
}
# Seed the replica with the primary's accounts and a dump of monitest taken at a GTID, then
# replicate from that GTID on (the primary's binary logs before it are never needed).
mysql_seed_replica() {
  local log=$TB_LOG_DIR/mariadb-replica-start.log dump
  tb_log "mariadb-replica: seeding from the primary and starting replication"
  # the dump sets gtid_slave_pos to the primary's position at the time of the snapshot
  dump=$(mariadb-dump --skip-ssl --socket="$TB_MYSQL_SOCKET" --single-transaction --gtid --master-data=1 \
    --databases "$TB_DB_NAME" </dev/null 2>>"$log") || tb_die "mariadb-replica: mariadb-dump of the primary failed" "$log"
  {
    echo 'STOP SLAVE; RESET SLAVE ALL;'
    mysql_users_sql
    printf '%s\n' "$dump"
    echo "$MYSQL_CHANGE_MASTER; START SLAVE;"
  } | mysql_replica >>"$log" 2>&1 || tb_die "mariadb-replica: seeding failed" "$log" "$TB_MYSQL_REPLICA_LOG"
}
# mysql_replica_wait -- both threads running and everything the primary logged so far applied (10 s).
mysql_replica_wait() {
  local i pos
  for ((i = 0; i < 100; i++)); do
    [ "$(mysql_replica_field Slave_IO_Running)" = Yes ] && [ "$(mysql_replica_field Slave_SQL_Running)" = Yes ] && break
    # a thread that stopped again after START SLAVE hit an error (a reconnecting one shows Connecting)
    [ "$i" -ge 3 ] && { [ "$(mysql_replica_field Slave_IO_Running)" = No ] || [ "$(mysql_replica_field Slave_SQL_Running)" = No ]; } &&
      return 1
    sleep 0.1
    MYSQL_RS=$(mysql_replica_status)
  done
  [ "$i" -lt 100 ] || return 1
  pos=$(echo 'SELECT @@gtid_binlog_pos' | mysql_primary) || return 1
  [ "$(echo "SELECT MASTER_GTID_WAIT('$pos', 10)" | mysql_replica)" = 0 ]
}
# Replication as it should be: set up if it is not (or differently), threads started if a test
# stopped them; if it still does not catch up (an error in the SQL thread, a binary log the
# primary no longer has) the replica is seeded again.
mysql_replication() {
  MYSQL_RS=$(mysql_replica_status)
  if ! mysql_replica_configured; then
    mysql_seed_replica
    MYSQL_RS=$(mysql_replica_status)
  elif [ "$(mysql_replica_field Slave_IO_Running)" = No ] || [ "$(mysql_replica_field Slave_SQL_Running)" = No ]; then
    tb_log "mariadb-replica: replication threads stopped (IO $(mysql_replica_field Slave_IO_Running), SQL $(mysql_replica_field Slave_SQL_Running)), starting them"
    echo 'START SLAVE' | mysql_replica >>"$TB_LOG_DIR/mariadb-replica-start.log" 2>&1 || true
    MYSQL_RS=$(mysql_replica_status)
  fi
  mysql_replica_wait && return 0
  tb_log "mariadb-replica: not replicating (IO error: $(mysql_replica_field Last_IO_Error); SQL error: $(mysql_replica_field Last_SQL_Error))"
  mysql_seed_replica
  MYSQL_RS=$(mysql_replica_status)
  mysql_replica_wait ||
    tb_die "mariadb-replica does not replicate after seeding (IO: $(mysql_replica_field Last_IO_Error); SQL: $(mysql_replica_field Last_SQL_Error))" \
      "$TB_MYSQL_REPLICA_LOG" "$TB_MYSQL_LOG"
  tb_log "mariadb-replica: replicating"
}

if [ "$MYSQL_RELOAD" = 1 ] && [ "$MYSQL_CHANGED" = 0 ]; then
  mysql_flush_ssl mariadb "$TB_MYSQL_SOCKET" || MYSQL_CHANGED=1
fi
ensure mariadb mariadbd "$MYSQL_CHANGED" tb_stop_mysql start_mysql "$TB_MYSQL_LOG" "${TB_MYSQL_PORTS[@]}"
mysql_wait "$MYSQL_STARTED" "$TB_MYSQL_SOCKET" mariadb "$TB_MYSQL_LOG"
mysql_provision
# The replica's datadir is made once (the marker is written after mariadb-install-db succeeded).
if [ ! -f "$TB_MYSQL_REPLICA_DIR/rsplugins-initialised" ]; then
  tb_log "mariadb-replica: creating $TB_MYSQL_REPLICA_DIR"
  tb_stop_mysql_replica || tb_die "mariadb-replica: port $TB_MYSQL_REPLICA_PORT busy"
  rm -rf "$TB_MYSQL_REPLICA_DIR"
  install -d -m 700 -o mysql -g mysql "$TB_MYSQL_REPLICA_DIR"
  mariadb-install-db --defaults-file="$TB_MYSQL_REPLICA_CNF" --skip-test-db \
    --auth-root-authentication-method=socket </dev/null >>"$TB_LOG_DIR/mariadb-replica-start.log" 2>&1 ||
    tb_die "mariadb-install-db failed for the replica" "$TB_LOG_DIR/mariadb-replica-start.log"
  touch "$TB_MYSQL_REPLICA_DIR/rsplugins-initialised"
  MYSQL_REPLICA_CHANGED=1
fi
if [ "$MYSQL_RELOAD" = 1 ] && [ "$MYSQL_REPLICA_CHANGED" = 0 ]; then
  mysql_flush_ssl mariadb-replica "$TB_MYSQL_REPLICA_SOCKET" || MYSQL_REPLICA_CHANGED=1
fi
ensure mariadb-replica mariadbd "$MYSQL_REPLICA_CHANGED" tb_stop_mysql_replica start_mysql_replica \
  "$TB_MYSQL_REPLICA_LOG" "${TB_MYSQL_REPLICA_PORTS[@]}"
mysql_wait "$MYSQL_REPLICA_STARTED" "$TB_MYSQL_REPLICA_SOCKET" mariadb-replica "$TB_MYSQL_REPLICA_LOG"
mysql_replication

# --- PostgreSQL. Started with pg_ctl as Debian's pg_ctlcluster does (its postgresql.conf names
#     the data directory, pg_hba.conf, socket directory and pid file), minus pg_ctlcluster's
#     half-second polling: ready in 0.2 s instead of 2.3 s. pg_ctl -w returns once the server
#     accepts connections (a hot standby: read-only ones). pg_ctlcluster stop/status/pg_lsclusters
#     work on it as on any cluster.
# start_pg CLUSTER DATADIR STARTLOG
start_pg() {
  install -d -m 2775 -o postgres -g postgres "$TB_PG_SOCKET_DIR"
  (cd / && setsid -w runuser -u postgres -- env -i LANG=C.UTF-8 PATH=/usr/bin:/bin \
    "$PG_BIN/pg_ctl" start -w -s -t 30 -D "$2" -l "/var/log/postgresql/postgresql-$TB_PG_VERSION-$1.log" \
    -o "-c config_file=$PG_ETC/$1/postgresql.conf") </dev/null >>"$3" 2>&1
}
start_pgsql() { start_pg main "$TB_PG_DIR" "$1"; }
start_pgsql_standby() { start_pg "$TB_PG_STANDBY_CLUSTER" "$TB_PG_STANDBY_DIR" "$1"; }
# pg_sql PORT DB -- SQL on stdin as postgres over the unix socket; unaligned, tuples only.
pg_sql() {
  (cd / && runuser -u postgres -- "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$TB_PG_SOCKET_DIR" -p "$1" -d "$2")
}
# pg_reload NAME CHANGED RELOAD CLUSTER -- a changed pg_hba.conf or certificate needs only a reload.
pg_reload() {
  [ "$3" = 1 ] && [ "$2" = 0 ] || return 0
  pg_ctlcluster "$TB_PG_VERSION" "$4" reload </dev/null >>"$TB_LOG_DIR/$1-start.log" 2>&1 &&
    tb_log "$1: pg_hba.conf or certificate changed, reloaded"
  return 0
}
# pg_sysid DATADIR -- the database system identifier (a standby has its primary's).
pg_sysid() { "$PG_BIN/pg_controldata" -D "$1" 2>/dev/null | awk -F': *' '/^Database system identifier/ { print $2 }'; }
pg_data_sql() {
  cat <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TB_DB_USER') THEN CREATE ROLE $TB_DB_USER; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TB_DB_ADMIN_USER') THEN CREATE ROLE $TB_DB_ADMIN_USER; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TB_DB_REPL_USER') THEN CREATE ROLE $TB_DB_REPL_USER; END IF;
END
\$\$;
ALTER ROLE $TB_DB_USER WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '$TB_DB_PASS';
GRANT pg_monitor TO $TB_DB_USER;
ALTER ROLE $TB_DB_ADMIN_USER WITH LOGIN SUPERUSER PASSWORD '$TB_DB_ADMIN_PASS';
ALTER ROLE $TB_DB_REPL_USER WITH LOGIN REPLICATION NOSUPERUSER PASSWORD '$TB_DB_REPL_PASS';
SELECT 'CREATE DATABASE $TB_DB_NAME OWNER $TB_DB_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$TB_DB_NAME') \gexec
ALTER DATABASE $TB_DB_NAME OWNER TO $TB_DB_USER;
\connect $TB_DB_NAME
CREATE TABLE IF NOT EXISTS public.counts (name varchar(64) PRIMARY KEY, n integer);
ALTER TABLE public.counts OWNER TO $TB_DB_USER;
DELETE FROM public.counts WHERE name NOT IN ('answer', 'text');
INSERT INTO public.counts (name, n) VALUES ('answer', 42), ('text', NULL)
  ON CONFLICT (name) DO UPDATE SET n = EXCLUDED.n;
EOF
}
pg_fingerprint() {
  pg_sql "$TB_PG_PORT" "$TB_DB_NAME" 2>/dev/null <<EOF | md5sum | cut -d' ' -f1
SELECT rolname, rolcanlogin, rolsuper, rolreplication, rolcreatedb, rolcreaterole, rolpassword
  FROM pg_authid WHERE rolname IN ('$TB_DB_USER', '$TB_DB_ADMIN_USER', '$TB_DB_REPL_USER') ORDER BY 1;
SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
  JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = '$TB_DB_USER' ORDER BY 1;
SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database();
SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'counts';
SELECT column_name, data_type, is_nullable FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'counts' ORDER BY ordinal_position;
SELECT name, coalesce(n::text, 'NULL') FROM public.counts ORDER BY name;
EOF
}
pg_provision() {
  local state=$TB_STATE_DIR/postgresql.state want fp
  want=$(pg_data_sql | md5sum | cut -d' ' -f1)
  fp=$(pg_fingerprint) || fp=missing
  if [ "$(cat "$state" 2>/dev/null)" = "$want $fp" ]; then
    tb_log "pgsql: roles and $TB_DB_NAME as set up"
    return 0
  fi
  tb_log "pgsql: applying roles and $TB_DB_NAME.counts (new, or changed since setup last applied them)"
  pg_data_sql | pg_sql "$TB_PG_PORT" postgres >>"$TB_LOG_DIR/pgsql-start.log" 2>&1 ||
    tb_die "pgsql: provisioning failed" "$TB_LOG_DIR/pgsql-start.log"
  fp=$(pg_fingerprint) || tb_die "pgsql: roles or $TB_DB_NAME.counts missing after provisioning"
  echo "$want $fp" >"$state"
}
# The standby is a base backup of the primary, made once: valid while it was built from this
# primary (same system identifier) and still is a standby (standby.signal; a promoted one is not).
pg_standby_valid() {
  local sysid
  sysid=$(pg_sysid "$TB_PG_DIR")
  [ -n "$sysid" ] && [ -f "$TB_PG_STANDBY_DIR/standby.signal" ] &&
    [ "$(pg_sysid "$TB_PG_STANDBY_DIR")" = "$sysid" ] &&
    [ "$(cat "$TB_STATE_DIR/postgresql-standby.sysid" 2>/dev/null)" = "$sysid" ]
}
pg_build_standby() {
  local log=$TB_LOG_DIR/pgsql-standby-start.log i
  tb_log "pgsql-standby: pg_basebackup of the primary into $TB_PG_STANDBY_DIR (slot $TB_PG_SLOT)"
  tb_stop_pgsql_standby || tb_die "pgsql-standby: port $TB_PG_STANDBY_PORT busy"
  rm -f "$TB_STATE_DIR/postgresql-standby.sysid"
  # the slot of an older standby: released (inactive) once its walsender has exited
  for ((i = 0; i < 100; i++)); do
    [ "$(echo "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$TB_PG_SLOT' AND active" |
      pg_sql "$TB_PG_PORT" postgres)" = 0 ] && break
    sleep 0.1
  done
  echo "SELECT pg_drop_replication_slot('$TB_PG_SLOT') FROM pg_replication_slots WHERE slot_name = '$TB_PG_SLOT'" |
    pg_sql "$TB_PG_PORT" postgres >>"$log" 2>&1 || tb_die "pgsql-standby: cannot drop slot $TB_PG_SLOT" "$log"
  rm -rf "$TB_PG_STANDBY_DIR"
  # -R writes standby.signal and primary_conninfo (this conninfo) into postgresql.auto.conf
  (cd / && runuser -u postgres -- "$PG_BIN/pg_basebackup" -D "$TB_PG_STANDBY_DIR" -R -X stream -C -S "$TB_PG_SLOT" \
    -c fast -d "host=127.0.0.1 port=$TB_PG_PORT user=$TB_DB_REPL_USER password=$TB_DB_REPL_PASS sslmode=verify-full sslrootcert=$TB_CERT_DIR/ca.pem") \
    </dev/null >>"$log" 2>&1 || tb_die "pgsql-standby: pg_basebackup failed" "$log" "$TB_PG_LOG"
  pg_sysid "$TB_PG_STANDBY_DIR" >"$TB_STATE_DIR/postgresql-standby.sysid"
  PG_STANDBY_CHANGED=1
}
# pg_standby_wait -- streaming from the primary and replayed up to its current WAL position (15 s).
pg_standby_wait() {
  local i lsn st
  lsn=$(echo 'SELECT pg_current_wal_lsn()' | pg_sql "$TB_PG_PORT" postgres) || return 1
  for ((i = 0; i < 150; i++)); do
    # in recovery (not promoted), WAL receiver state, replayed up to lsn, replay paused (by a test)
    st=$(pg_sql "$TB_PG_STANDBY_PORT" postgres 2>/dev/null <<EOF
SELECT concat_ws(' ', pg_is_in_recovery(), coalesce((SELECT status FROM pg_stat_wal_receiver), 'none'),
  coalesce(pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn, false),
  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END)
EOF
    ) || st=
    case $st in
      't streaming t f') return 0 ;;
      f\ *) return 1 ;;    # promoted
      *\ t)
        tb_log "pgsql-standby: WAL replay paused, resuming it"
        echo 'SELECT pg_wal_replay_resume()' | pg_sql "$TB_PG_STANDBY_PORT" postgres >/dev/null 2>&1 || true
        ;;
    esac
    sleep 0.1
  done
  return 1
}

pg_reload pgsql "$PG_CHANGED" "$PG_RELOAD" main
ensure pgsql postgres "$PG_CHANGED" tb_stop_pgsql start_pgsql "$TB_PG_LOG" "${TB_PG_PORTS[@]}"
pg_provision
pg_standby_valid || pg_build_standby
pg_reload pgsql-standby "$PG_STANDBY_CHANGED" "$PG_STANDBY_RELOAD" "$TB_PG_STANDBY_CLUSTER"
ensure pgsql-standby postgres "$PG_STANDBY_CHANGED" tb_stop_pgsql_standby start_pgsql_standby \
  "$TB_PG_STANDBY_LOG" "${TB_PG_STANDBY_PORTS[@]}"
if ! pg_standby_wait; then
  tb_log "pgsql-standby: not streaming from the primary, building it again"
  pg_build_standby
  ensure pgsql-standby postgres 1 tb_stop_pgsql_standby start_pgsql_standby "$TB_PG_STANDBY_LOG" \
    "${TB_PG_STANDBY_PORTS[@]}"
  pg_standby_wait || tb_die "pgsql-standby does not stream from the primary" "$TB_PG_STANDBY_LOG" "$TB_PG_LOG"
fi

# ---------------------------------------------------------------------------------------------
# 5b. Self-healing: a syslog daemon and services for the handlers to restart
# ---------------------------------------------------------------------------------------------
# rsyslogd with a config of its own: /dev/log in, facility daemon to one file (the handlers
# log there under the tag rsplugins). Debian's /etc/rsyslog.conf is not used.
TB_SYSLOG_CONF=/etc/rsplugins-test/rsyslog.conf
TB_SYSLOG_PID=/run/rsplugins-rsyslogd.pid
TB_SYSLOG_LOG=/var/log/rsplugins-syslog.log
install -d -m 0755 /etc/rsplugins-test
SYSLOG_CHANGED=0
write_file "$TB_SYSLOG_CONF" 0644 <<EOF && SYSLOG_CHANGED=1
# Written by rsplugins tests/testbed/setup.sh
module(load="imuxsock")
daemon.*  $TB_SYSLOG_LOG
EOF
touch "$TB_SYSLOG_LOG"; chmod 0644 "$TB_SYSLOG_LOG"
syslog_pid=$(tb_pidfile_pid "$TB_SYSLOG_PID" 2>/dev/null || true)
if [ -n "$syslog_pid" ] && { [ "$SYSLOG_CHANGED" = 1 ] || [ ! -S /dev/log ]; }; then
  tb_kill_wait 10 "$syslog_pid"; syslog_pid=
fi
if [ -z "$syslog_pid" ]; then
  rm -f /dev/log
  setsid -w rsyslogd -f "$TB_SYSLOG_CONF" -i "$TB_SYSLOG_PID" </dev/null >>"$TB_LOG_DIR/rsyslog-start.log" 2>&1 ||
    tb_die "rsyslogd failed to start" "$TB_LOG_DIR/rsyslog-start.log"
  for ((i = 0; i < 50; i++)); do [ -S /dev/log ] && break; sleep 0.1; done
  [ -S /dev/log ] || tb_die "rsyslogd started but /dev/log did not appear" "$TB_LOG_DIR/rsyslog-start.log"
  tb_log "rsyslogd up (/dev/log -> $TB_SYSLOG_LOG)"
else
  tb_log "rsyslogd already running"
fi

# FTP services of their own for the restart tests (they kill them): vsftpd on 127.0.0.1:2121
# (rsplugins-heal-ftp: the handlers' and engines' tests) and :2122 (rsplugins-heal-ftp-agent: the
# distributed tests), each run by a System V init script (start-stop-daemon with a pid file), as
# a host without systemd runs its services; `service UNIT start|stop|status` drives them.
TB_HEAL_FTP_UNIT=rsplugins-heal-ftp
TB_HEAL_FTP_PORT=2121
TB_HEAL_FTP_PID=/run/$TB_HEAL_FTP_UNIT.pid
TB_HEAL_FTP_AGENT_UNIT=rsplugins-heal-ftp-agent
TB_HEAL_FTP_AGENT_PORT=2122
TB_HEAL_FTP_AGENT_PID=/run/$TB_HEAL_FTP_AGENT_UNIT.pid
# heal_ftp_service UNIT PORT -- writes its vsftpd config and init script; 0 when either changed.
heal_ftp_service() {
  local unit=$1 port=$2 conf=/etc/rsplugins-test/$1.conf changed=1
  printf 'listen_port=%s\n' "$port" | vsftpd_conf "$TB_LOG_DIR/$unit.log" |
    sed 's/^background=YES$/background=NO/' | write_file "$conf" 0644 && changed=0
  write_file "/etc/init.d/$unit" 0755 <<EOF && changed=0
#!/bin/sh
### BEGIN INIT INFO
# Provides:          $unit
# Required-Start:    \$network
# Required-Stop:     \$network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: rsplugins test FTP server (vsftpd on $port)
### END INIT INFO
# Written by rsplugins tests/testbed/setup.sh
DAEMON=/usr/sbin/vsftpd
PIDFILE=/run/$unit.pid
case "\$1" in
  start)
    start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile "\$PIDFILE" \\
      --exec "\$DAEMON" -- $conf </dev/null >/dev/null 2>&1 ;;
  stop)
    start-stop-daemon --stop --quiet --oknodo --retry TERM/5/KILL/2 --pidfile "\$PIDFILE" --exec "\$DAEMON"
    rc=\$?; rm -f "\$PIDFILE"; exit \$rc ;;
  status) start-stop-daemon --status --pidfile "\$PIDFILE" --exec "\$DAEMON" ;;
  restart) "\$0" stop; "\$0" start ;;
  *) echo "Usage: \$0 {start|stop|status|restart}" >&2; exit 3 ;;
esac
EOF
  return $changed
}
for heal in "$TB_HEAL_FTP_UNIT:$TB_HEAL_FTP_PORT" "$TB_HEAL_FTP_AGENT_UNIT:$TB_HEAL_FTP_AGENT_PORT"; do
  heal_unit=${heal%%:*}
  heal_changed=0
  heal_ftp_service "$heal_unit" "${heal##*:}" && heal_changed=1
  fn=${heal_unit//-/_}
  eval "stop_$fn() { service $heal_unit stop >/dev/null 2>&1 || true; }"
  eval "start_$fn() { setsid -w service $heal_unit start </dev/null >>\"\$1\" 2>&1; }"
  ensure "$heal_unit" vsftpd "$heal_changed" "stop_$fn" "start_$fn" "$TB_LOG_DIR/$heal_unit.log" \
    "127.0.0.1:${heal##*:}"
done
rm -f /etc/rsplugins-test/vsftpd-heal.conf   # the name before the two services

# A service that never starts: the storm-guard tests restart it in vain.
TB_HEAL_BROKEN_UNIT=rsplugins-heal-broken
write_file "/etc/init.d/$TB_HEAL_BROKEN_UNIT" 0755 <<'EOF' || true
#!/bin/sh
# Written by rsplugins tests/testbed/setup.sh: a service whose start always fails.
case "$1" in
  start) echo "rsplugins-heal-broken: configuration missing, not starting" >&2; exit 1 ;;
  stop) exit 0 ;;
  status) exit 3 ;;
  *) exit 3 ;;
esac
EOF

# A user that only an NSS module knows (libnss-extrausers, not /etc/passwd): check_proc_rs
# must resolve `-u rsnssuser` (it stays dynamically linked: static glibc crashes in some NSS
# modules; tests/tests/package.rs).
TB_NSS_USER=rsnssuser
TB_NSS_UID=4242
install -d -m 0755 /var/lib/extrausers
printf '%s:x:%s:%s:rsplugins NSS test user:/nonexistent:/usr/sbin/nologin\n' "$TB_NSS_USER" "$TB_NSS_UID" "$TB_NSS_UID" |
  write_file /var/lib/extrausers/passwd 0644 || true
printf '%s:x:%s:\n' "$TB_NSS_USER" "$TB_NSS_UID" | write_file /var/lib/extrausers/group 0644 || true
for db in passwd group; do
  grep -Eq "^$db:.*[[:space:]]extrausers([[:space:]]|\$)" /etc/nsswitch.conf ||
    sed -i -E "s/^($db:[[:space:]]*files)([[:space:]]|\$)/\1 extrausers\2/" /etc/nsswitch.conf
done
getent passwd "$TB_NSS_USER" >/dev/null || tb_die "NSS: $TB_NSS_USER does not resolve through libnss-extrausers (see /etc/nsswitch.conf)"
grep -q "^$TB_NSS_USER:" /etc/passwd && tb_die "NSS: $TB_NSS_USER must not be in /etc/passwd"

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
RSPLUGINS_TESTBED_MYSQL_PORT=$TB_MYSQL_PORT
RSPLUGINS_TESTBED_MYSQL_SOCKET=$TB_MYSQL_SOCKET
RSPLUGINS_TESTBED_MYSQL_REPLICA_PORT=$TB_MYSQL_REPLICA_PORT
RSPLUGINS_TESTBED_MYSQL_REPLICA_SOCKET=$TB_MYSQL_REPLICA_SOCKET
RSPLUGINS_TESTBED_PGSQL_PORT=$TB_PG_PORT
RSPLUGINS_TESTBED_PGSQL_STANDBY_PORT=$TB_PG_STANDBY_PORT
RSPLUGINS_TESTBED_PGSQL_SOCKET_DIR=$TB_PG_SOCKET_DIR
RSPLUGINS_TESTBED_PGSQL_SLOT=$TB_PG_SLOT
RSPLUGINS_TESTBED_DB_USER=$TB_DB_USER
RSPLUGINS_TESTBED_DB_PASS=$TB_DB_PASS
RSPLUGINS_TESTBED_DB_NAME=$TB_DB_NAME
RSPLUGINS_TESTBED_DB_TABLE=counts
RSPLUGINS_TESTBED_DB_ADMIN_USER=$TB_DB_ADMIN_USER
RSPLUGINS_TESTBED_DB_ADMIN_PASS=$TB_DB_ADMIN_PASS
RSPLUGINS_TESTBED_DB_REPL_USER=$TB_DB_REPL_USER
RSPLUGINS_TESTBED_DB_REPL_PASS=$TB_DB_REPL_PASS
RSPLUGINS_TESTBED_SYSLOG_LOG=$TB_SYSLOG_LOG
RSPLUGINS_TESTBED_HEAL_FTP_UNIT=$TB_HEAL_FTP_UNIT
RSPLUGINS_TESTBED_HEAL_FTP_PORT=$TB_HEAL_FTP_PORT
RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE=$TB_HEAL_FTP_PID
RSPLUGINS_TESTBED_HEAL_BROKEN_UNIT=$TB_HEAL_BROKEN_UNIT
RSPLUGINS_TESTBED_HEAL_FTP_AGENT_UNIT=$TB_HEAL_FTP_AGENT_UNIT
RSPLUGINS_TESTBED_NSS_USER=$TB_NSS_USER
RSPLUGINS_TESTBED_NSS_UID=$TB_NSS_UID
RSPLUGINS_TESTBED_HEAL_FTP_AGENT_PORT=$TB_HEAL_FTP_AGENT_PORT
RSPLUGINS_TESTBED_HEAL_FTP_AGENT_PIDFILE=$TB_HEAL_FTP_AGENT_PID
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
summary mariadb "${TB_MYSQL_PORTS[*]} $TB_MYSQL_SOCKET"
summary mariadb-replica "${TB_MYSQL_REPLICA_PORTS[*]} $TB_MYSQL_REPLICA_SOCKET (replicating)"
summary pgsql "${TB_PG_PORTS[*]} $TB_PG_SOCKET_DIR (cluster $TB_PG_VERSION/main)"
summary rsyslogd "/dev/log -> $TB_SYSLOG_LOG"
summary heal-ftp "127.0.0.1:$TB_HEAL_FTP_PORT (service $TB_HEAL_FTP_UNIT, pid file $TB_HEAL_FTP_PID)"
summary heal-ftp-agent "127.0.0.1:$TB_HEAL_FTP_AGENT_PORT (service $TB_HEAL_FTP_AGENT_UNIT, pid file $TB_HEAL_FTP_AGENT_PID)"
summary pgsql-standby "${TB_PG_STANDBY_PORTS[*]} (cluster $TB_PG_VERSION/$TB_PG_STANDBY_CLUSTER, streaming)"
