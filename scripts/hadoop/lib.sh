# shellcheck shell=bash
# What the test beds of scripts/hdfs and scripts/secure share; sourced by both.
# The caller sets CACHE, the folder of the Hadoop jars.

# One property of a Hadoop *-site.xml.
prop() { printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"; }

# The classpath of a daemon or tool whose state is in $1: its conf folder first
# (core-site, hdfs-site, log4j, empty webapps), then the jars minus the logging
# bridges that would loop or clash with log4j 1.
classpath() {
  local cp=$1/conf j
  for j in "$CACHE"/*.jar; do
    case ${j##*/} in jcl-over-slf4j-* | jul-to-slf4j-* | *log4j-extras-*) ;; *) cp+=:$j ;; esac
  done
  echo "$cp"
}

# Runs the command "${@:3}" in a session of its own, its output in $2, and
# returns once its pid is in $1 (written whole: a reader never sees half of it).
spawn_daemon() {
  local pidfile=$1 out=$2 n
  shift 2
  # shellcheck disable=SC2016 # $$, $0 and $@ belong to the child shell
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
    </dev/null >"$out" 2>&1 9>&- &
  for ((n = 0; n < 100; n++)); do [[ -s $pidfile ]] && return 0; sleep 0.1; done
  return 1
}
