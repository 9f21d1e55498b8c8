"""Several `callcenter serve` nodes on PostgreSQL + Redis (issue 18).

Opt-in: with CALLCENTER_REDIS_URL unset one process does everything in
memory, as it always did.  With it set, one node per PBX is the leader
(leader.py: a PostgreSQL advisory lock plus a fencing token), owns the AMI
link and the ACD core, and publishes every topic delta to a Redis Stream
with a current-state snapshot key (stream.py); every node serves websockets
from that stream (mirror.py) and forwards actions to the leader through a
Redis request stream (requests.py).  node.py ties the roles together.
"""
