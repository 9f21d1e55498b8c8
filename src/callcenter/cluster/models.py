"""The lease row of each PBX's leader: who holds it and its fencing token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class ClusterLease(Base):
    """Bumped by every node that takes a PBX's advisory lock.  The token
    fences a deposed leader: its writes of the calls in progress and its
    stream publishes are refused once a newer token exists."""

    __tablename__ = "cluster_leases"

    pbx: Mapped[str] = mapped_column(String(32), primary_key=True)
    node: Mapped[str] = mapped_column(String(128))
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
