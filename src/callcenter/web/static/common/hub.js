// The websocket to the hub (/ws): subscribe to topics, get a snapshot then
// ordered deltas; on reconnect resume from the last seq (the server sends
// what was missed, or a fresh snapshot).  A gap in the seqs (never expected)
// asks for a snapshot too, so the page is never stale.

export class Hub {
  // onSettings(key): an admin changed a setting the page shows (pause
  // reasons, wallboard thresholds, queues); the page fetches it again.
  constructor({ onStatus = () => {}, onSettings = () => {} } = {}) {
    this.onStatus = onStatus;
    this.onSettings = onSettings;
    this.topics = new Map(); // topic -> {handler, seq, epoch}
    this.ws = null;
    this.backoff = 500;
    this.lastMessage = 0;
    this.closedByUs = false;
    setInterval(() => this.#heartbeat(), 10000);
  }

  subscribe(topic, handler) {
    this.topics.set(topic, { handler, seq: null, epoch: null });
    this.#send({ op: "subscribe", topic });
  }

  connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = (this.ws = new WebSocket(url));
    this.onStatus("connecting");
    ws.onopen = () => {
      this.backoff = 500;
      this.lastMessage = Date.now();
      for (const [topic, t] of this.topics) {
        const msg = { op: "subscribe", topic };
        if (t.seq != null) Object.assign(msg, { since: t.seq, epoch: t.epoch });
        this.#send(msg);
      }
    };
    ws.onmessage = (ev) => this.#receive(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      if (ev.code === 4401) {
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      this.onStatus("reconnecting");
      const wait = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, 10000);
      setTimeout(() => this.connect(), wait);
    };
  }

  #send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  #heartbeat() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastMessage > 45000) {
      this.ws.close(); // silent for too long: a dead link; onclose reconnects
      return;
    }
    this.#send({ op: "ping" });
  }

  #receive(msg) {
    this.lastMessage = Date.now();
    if (msg.type === "hello") {
      this.onStatus("live", msg);
      return;
    }
    if (msg.type === "pong") return;
    if (msg.type === "settings") {
      this.onSettings(msg.key);
      return;
    }
    const t = this.topics.get(msg.topic);
    if (msg.type === "error") {
      if (t) t.handler(msg);
      else console.warn("hub:", msg.message);
      return;
    }
    if (!t) return;
    if (msg.type === "snapshot") {
      t.seq = msg.seq;
      t.epoch = msg.epoch;
      t.handler(msg);
    } else if (msg.type === "resumed") {
      t.epoch = msg.epoch;
    } else if (msg.type === "delta") {
      if (t.seq != null && msg.seq !== t.seq + 1) {
        if (msg.seq <= t.seq) return; // already covered
        t.seq = null; // a gap: start over from a snapshot
        this.#send({ op: "subscribe", topic: msg.topic });
        return;
      }
      t.seq = msg.seq;
      t.handler(msg);
    }
  }
}

// Server time minus local time, from a message's ts (core time, epoch s).
let skew = 0;
export function noteServerTime(ts) {
  if (ts) skew = ts - Date.now() / 1000;
}
export function serverNow() {
  return Date.now() / 1000 + skew;
}
