"""Asterisk's own tables that callcenter creates and Asterisk writes.

`queue_log`: app_queue's record of every queue event through realtime
(asterisk/extconfig.conf -> res_config_pgsql/ODBC).  The columns are the
ones Asterisk's contrib/ast-db-manage defines and main/logger.c writes:
`time` (a naive timestamp, UTC with queue_log_realtime_use_gmt), callid,
queuename, agent, event, data1..data5 (having data1..data5 makes
Asterisk split the fields: "adaptive realtime").  Asterisk only inserts;
callcenter reads it back after a blind window on AMI (issue 12 §2).
Rows are built and read by callcenter.ami.queue_log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base


class QueueLogEntry(Base):
    __tablename__ = "queue_log"
    __table_args__ = (Index("ix_queue_log_time", "time"), Index("ix_queue_log_callid", "callid"))

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    callid: Mapped[str] = mapped_column(String(80), default="")
    queuename: Mapped[str] = mapped_column(String(256), default="")
    agent: Mapped[str] = mapped_column(String(80), default="")
    event: Mapped[str] = mapped_column(String(32), default="")
    data1: Mapped[str] = mapped_column(String(100), default="")
    data2: Mapped[str] = mapped_column(String(100), default="")
    data3: Mapped[str] = mapped_column(String(100), default="")
    data4: Mapped[str] = mapped_column(String(100), default="")
    data5: Mapped[str] = mapped_column(String(100), default="")
