# The cases bench/compare.sh times and bench/hot-functions.sh profiles: one
# per line, `name|C command (empty: no C counterpart)|our command`. Sourced;
# uses $C (the C plugins) and $R (our binaries).
# shellcheck shell=bash

# Synthetic /proc with 10,000 processes for the check_proc_rs scaling case.
FIX=bench/results/proc10k
if [ -x plugins/check_proc_rs/bench/make_fixture.sh ] && [ ! -f "$FIX/uptime" ]; then
  mkdir -p bench/results
  plugins/check_proc_rs/bench/make_fixture.sh "$FIX" 10000 >/dev/null
fi

compare_cases() {
  cat <<CASES
load|$C/check_load -w 5,4,3 -c 10,8,6|$R/check_load_rs -w 5,4,3 -c 10,8,6
load-percpu|$C/check_load -r -w 1,1,1 -c 2,2,2|$R/check_load_rs -r -w 1,1,1 -c 2,2,2
proc|$C/check_procs -w 250 -c 400|$R/check_proc_rs -w 250 -c 400
proc-command|$C/check_procs -C sshd -c 0:|$R/check_proc_rs -C sshd -c 0:
proc-args|$C/check_procs -a sleep -c 0:|$R/check_proc_rs -a sleep -c 0:
proc-10k-fixture||$R/check_proc_rs --proc-root $FIX -w 20000 -c 30000
disk|$C/check_disk -w 20% -c 10% -p /|$R/check_disk_rs -w 20% -c 10% -p /
disk-all|$C/check_disk -w 20% -c 10%|$R/check_disk_rs -w 20% -c 10%
swap|$C/check_swap -n ok -w 50% -c 25%|$R/check_swap_rs -n ok -w 50% -c 25%
mem||$R/check_mem_rs -w 10% -c 5%
tcp|$C/check_tcp -H 127.0.0.1 -p 25|$R/check_tcp_rs -H 127.0.0.1 -p 25
tcp-expect|$C/check_tcp -H 127.0.0.1 -p 25 -e 220|$R/check_tcp_rs -H 127.0.0.1 -p 25 -e 220
smtp|$C/check_smtp -H 127.0.0.1|$R/check_smtp_rs -H 127.0.0.1
smtp-starttls|$C/check_smtp -H 127.0.0.1 -S|$R/check_smtp_rs -H 127.0.0.1 -S
pop3|$C/check_pop -H 127.0.0.1|$R/check_pop3_rs -H 127.0.0.1
imap|$C/check_imap -H 127.0.0.1|$R/check_imap_rs -H 127.0.0.1
ftp|$C/check_ftp -H 127.0.0.1|$R/check_ftp_rs -H 127.0.0.1
ssh|$C/check_ssh -H 127.0.0.1|$R/check_ssh_rs -H 127.0.0.1
dns|$C/check_dns -H www.example.test -s 127.0.0.1|$R/check_dns_rs -H www.example.test -s 127.0.0.1
dns-expect|$C/check_dns -H www.example.test -s 127.0.0.1 -a 192.0.2.10|$R/check_dns_rs -H www.example.test -s 127.0.0.1 -a 192.0.2.10
dig|$C/check_dig -H 127.0.0.1 -l example.test -T MX|$R/check_dig_rs -H 127.0.0.1 -l example.test -T MX
dig-expect|$C/check_dig -H 127.0.0.1 -l mail.example.test -a 192.0.2.25|$R/check_dig_rs -H 127.0.0.1 -l mail.example.test -a 192.0.2.25
http|$C/check_http -H localhost -u /health -s OK|$R/check_http_rs -H localhost -u /health -s OK
https|$C/check_http -H localhost -S -u /health -s OK|$R/check_http_rs -H localhost -S -u /health -s OK
mysql|$C/check_mysql -H 127.0.0.1 -u monitor -p monpass|$R/check_mysql_rs -H 127.0.0.1 -u monitor -p monpass
mysql-query|$C/check_mysql_query -H 127.0.0.1 -u monitor -p monpass -q select(5)|$R/check_mysql_query_rs -H 127.0.0.1 -u monitor -p monpass -q select(5)
db-mysql|$C/check_mysql -H 127.0.0.1 -u monitor -p monpass|$R/check_db_rs --type mysql -H 127.0.0.1 -u monitor -P monpass
db-pgsql|$C/check_pgsql -H 127.0.0.1 -l monitor -p monpass -d monitest|$R/check_db_rs --type pgsql -H 127.0.0.1 -u monitor -P monpass -d monitest
pgsql|$C/check_pgsql -H 127.0.0.1 -l monitor -p monpass -d monitest|$R/check_pgsql_rs -H 127.0.0.1 -l monitor -p monpass -d monitest
pgsql-query|$C/check_pgsql -H 127.0.0.1 -l monitor -p monpass -d monitest -q select(5)|$R/check_pgsql_rs -H 127.0.0.1 -l monitor -p monpass -d monitest -q select(5)
CASES
}
