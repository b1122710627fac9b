"""The cluster: ``ray up`` YAMLs, the job-submission and firewall helpers, and real Ray nodes on this machine.

:mod:`cluster.local_cluster` starts and stops real Ray nodes on one machine (the cluster tests and the
benchmarks); :mod:`cluster.overnight` is the overnight run in miniature on such a cluster.
"""
