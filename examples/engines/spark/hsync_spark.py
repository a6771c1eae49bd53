"""A distributed hsync apply's chunks as Spark tasks, one task per chunk.

    hsync apply plan.json --engine command --workers 8 \
      --engine-command 'spark-submit --master yarn --deploy-mode client \
                        --conf spark.task.maxFailures=4 examples/engines/spark/hsync_spark.py'

hsync runs the command with HSYNC_TICKET, HSYNC_CHUNKS, HSYNC_BINARY and
HSYNC_WORKERS set (client mode: the driver runs beside hsync and sees them).
The binary and the ticket reach the executors through Spark's file
distribution; each task runs `hsync worker TICKET` with its chunk on stdin,
and a worker that fails fails its task, which Spark runs again (up to
spark.task.maxFailures). What a chunk did is in its report in the run
folder; the driver prints each task's report line.
"""

import os
import shutil
import subprocess
import tempfile

from pyspark import SparkFiles
from pyspark.sql import SparkSession


def run_chunk(ticket, chunk):
    # Files Spark hands out are not executable: a copy of the binary is.
    binary = os.path.join(tempfile.mkdtemp(), "hsync")
    shutil.copy(SparkFiles.get("hsync"), binary)
    os.chmod(binary, 0o755)
    done = subprocess.run(
        [binary, "worker", SparkFiles.get(ticket)],
        input=f"{chunk}\n",
        capture_output=True,
        text=True,
        cwd=tempfile.mkdtemp(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"chunk {chunk}: hsync worker failed:\n{done.stderr}")
    return done.stdout.strip()


def main():
    chunks = open(os.environ["HSYNC_CHUNKS"]).read().split()
    spark = SparkSession.builder.appName("hsync apply").getOrCreate()
    context = spark.sparkContext
    context.addFile(os.environ["HSYNC_BINARY"])
    context.addFile(os.environ["HSYNC_TICKET"])
    workers = int(os.environ["HSYNC_WORKERS"])
    # One partition per chunk; at most `workers` of them at once is the
    # executors' business (spark.executor.instances x cores).
    ticket = os.path.basename(os.environ["HSYNC_TICKET"])
    tasks = context.parallelize(chunks, len(chunks))
    reports = tasks.map(lambda chunk: run_chunk(ticket, chunk)).collect()
    for report in reports:
        print(report)
    print(f"hsync: {len(reports)} chunks done with up to {workers} workers")
    spark.stop()


if __name__ == "__main__":
    main()
