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

# YARN's and MapReduce's settings of a one-node bed whose state is in $1, all on
# 127.0.0.1, its ports ${2}30 to ${2}89 ($2 a prefix such as 174).
yarn_site() {
  prop yarn.resourcemanager.hostname 127.0.0.1
  prop yarn.resourcemanager.address 127.0.0.1:${2}30
  prop yarn.resourcemanager.scheduler.address 127.0.0.1:${2}31
  prop yarn.resourcemanager.resource-tracker.address 127.0.0.1:${2}32
  prop yarn.resourcemanager.admin.address 127.0.0.1:${2}33
  prop yarn.resourcemanager.webapp.address 127.0.0.1:${2}88
  prop yarn.resourcemanager.webapp.https.address 127.0.0.1:${2}89
  prop yarn.nodemanager.hostname 127.0.0.1
  prop yarn.nodemanager.address 127.0.0.1:${2}40
  prop yarn.nodemanager.localizer.address 127.0.0.1:${2}41
  prop yarn.nodemanager.webapp.address 127.0.0.1:${2}42
  prop yarn.nodemanager.webapp.https.address 127.0.0.1:${2}43
  # The MapReduce AM asks every NodeManager for the shuffle service, maps only or not.
  prop yarn.nodemanager.aux-services mapreduce_shuffle
  prop yarn.nodemanager.aux-services.mapreduce_shuffle.class org.apache.hadoop.mapred.ShuffleHandler
  prop yarn.nodemanager.local-dirs "$1/data/local"
  prop yarn.nodemanager.log-dirs "$1/data/logs"
  # The RM's node-attribute store (else in /tmp/hadoop-yarn-USER, outside the state dir).
  prop yarn.node-attribute.fs-store.root-dir "file://$1/data/node-attribute"
  # One small node: 4 GiB, 4 vcores; containers from 128 MiB. No virtual memory limit
  # (a JVM reserves far more than it uses), no full-disk verdict on a busy test machine.
  prop yarn.nodemanager.resource.memory-mb 4096
  prop yarn.nodemanager.resource.cpu-vcores 4
  prop yarn.scheduler.minimum-allocation-mb 128
  prop yarn.scheduler.maximum-allocation-mb 4096
  prop yarn.nodemanager.vmem-check-enabled false
  prop yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage 100
  # Containers are handed out on heartbeats: frequent ones make small jobs quick.
  prop yarn.resourcemanager.nodemanagers.heartbeat-interval-ms 200
  prop yarn.app.mapreduce.am.scheduler.heartbeat.interval-ms 200
  # The conf dir, then the jars, as for the daemons (no Hadoop install to point at).
  prop yarn.application.classpath "$(classpath "$1" | tr : ,)"
}

mapred_site() {
  prop mapreduce.framework.name yarn
  # Here, not in yarn-site: mapred-default.xml, loaded after yarn-site, would win there.
  prop mapreduce.shuffle.port "${2}44"
  prop yarn.app.mapreduce.am.staging-dir /tmp/hadoop-yarn/staging
  prop yarn.app.mapreduce.am.resource.mb 512
  # Small heaps, and the client tools' quick-start JVM flags: a task is mostly JVM start.
  local quick="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
  prop yarn.app.mapreduce.am.command-opts "-Xmx320m $quick"
  prop mapreduce.map.memory.mb 512
  prop mapreduce.map.java.opts "-Xmx256m $quick"
  prop mapreduce.reduce.memory.mb 512
  prop mapreduce.reduce.java.opts "-Xmx256m $quick"
  # One DataNode's copy of each job file (a's five would be asked for ten).
  prop mapreduce.client.submit.file.replication 1
  # yarn.application.classpath has everything already.
  prop mapreduce.application.classpath "$1/conf"
  prop mapreduce.client.progressmonitor.pollinterval 200
  # The JobHistoryServer answers `mapred job` for jobs whose AM has exited.
  prop mapreduce.jobhistory.address 127.0.0.1:${2}50
  prop mapreduce.jobhistory.webapp.address 127.0.0.1:${2}51
  prop mapreduce.jobhistory.admin.address 127.0.0.1:${2}52
  prop mapreduce.jobhistory.webapp.https.address 127.0.0.1:${2}53
  # Finished jobs reach the history server's listing within a second.
  prop mapreduce.jobhistory.move.interval-ms 1000
}

# The ResourceManager's scheduler will not start without its file: one queue, whose
# AMs may take half the node (the default tenth would not fit one 512 MiB AM).
capacity_scheduler() {
  { echo '<configuration>'
    prop yarn.scheduler.capacity.root.queues default
    prop yarn.scheduler.capacity.root.default.capacity 100
    prop yarn.scheduler.capacity.maximum-am-resource-percent 0.5
    echo '</configuration>'; } >"$1/conf/capacity-scheduler.xml"
}
