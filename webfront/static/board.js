// The staff page's logic that needs no page: the board as the page shows it
// (PROTOCOL §12's board response), the pacing of its refreshes, and the
// fields' values as they are sent. staff.js puts it on the page.

/** Refreshes come at most this often, however many events arrive. */
export const REFRESH_GAP_MS = 500;
/** The board is read again this often even when no event arrives (mutes run out). */
export const REFRESH_EVERY_MS = 5000;

/**
 * boardView reads a board response into what the page shows: each group
 * with its members in order, each member with whether it hosts the
 * group's session and until when it is muted ('' when it is not); the
 * mutes of campers not on the board apart (a camper not checked in may be
 * muted too).
 */
export function boardView(body) {
  const muted = new Map();
  for (const m of Array.isArray(body?.muted) ? body.muted : []) {
    if (m && typeof m.campId === 'string') muted.set(m.campId, { until: String(m.until ?? ''), by: String(m.by ?? '') });
  }
  const onBoard = new Set();
  const groups = (Array.isArray(body?.groups) ? body.groups : []).map((g) => {
    const s = g?.session;
    const session = s && typeof s === 'object'
      ? { host: String(s.host ?? ''), maxCount: Number(s.maxCount) || 0, messages: Number(s.messages) || 0 }
      : null;
    const members = (Array.isArray(g?.members) ? g.members : []).map((id) => {
      const campId = String(id);
      onBoard.add(campId);
      const m = muted.get(campId);
      return { campId, host: session !== null && session.host === campId, mutedUntil: m ? m.until : '', mutedBy: m ? m.by : '' };
    });
    return { group: Number(g?.group) || 0, members, session };
  });
  const away = [...muted].filter(([id]) => !onBoard.has(id)).map(([campId, m]) => ({ campId, until: m.until, by: m.by }));
  return { groups, checkedIn: Number(body?.checkedIn) || 0, mutedAway: away, mutedCount: muted.size };
}

/**
 * Refresher runs refresh when poked: one at a time, at most once per
 * gapMs, a poke that comes while one runs or within the gap giving one
 * more run when it is over (never more than one waiting).
 */
export class Refresher {
  #run;
  #gapMs;
  #now;
  #setTimer;
  #clearTimer;
  #lastStart = -Infinity;
  #running = false;
  #again = false;
  #timer = null;

  constructor(run, {
    gapMs = REFRESH_GAP_MS,
    now = () => Date.now(),
    setTimer = (f, ms) => setTimeout(f, ms),
    clearTimer = (id) => clearTimeout(id),
  } = {}) {
    this.#run = run;
    this.#gapMs = gapMs;
    this.#now = now;
    this.#setTimer = setTimer;
    this.#clearTimer = clearTimer;
  }

  /** poke asks for a refresh soon. */
  poke() {
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== null) return;
    const wait = this.#lastStart + this.#gapMs - this.#now();
    if (wait <= 0) {
      this.#start();
      return;
    }
    this.#timer = this.#setTimer(() => {
      this.#timer = null;
      this.#start();
    }, wait);
  }

  /** cancel forgets a waiting refresh (the page signed out or lost its socket). */
  cancel() {
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
    this.#again = false;
  }

  #start() {
    this.#running = true;
    this.#lastStart = this.#now();
    let done;
    try {
      done = Promise.resolve(this.#run());
    } catch (err) {
      done = Promise.reject(err);
    }
    done
      .catch(() => {})
      .finally(() => {
        this.#running = false;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }
}

/** campIdOf is a campId field's value as it is sent: trimmed, in capitals. */
export function campIdOf(text) {
  return String(text ?? '').trim().toUpperCase();
}

/** minutesOf sends a number when the field holds a whole one, else the text, so the server judges it. */
export function minutesOf(text) {
  const s = String(text ?? '').trim();
  return /^[+-]?\d+$/.test(s) ? Number(s) : s;
}

/** Each group's last messages kept to show on the board, to redact from. */
export const RECENT_PER_GROUP = 10;

/**
 * Recent keeps the last few messages and announcements of each group as
 * the staff connection hears them (PROTOCOL §12), and marks those a
 * `redacted` event names: {offset, from, text, announcement, redactedBy},
 * oldest first.
 */
export class Recent {
  #groups = new Map();
  #per;

  constructor(per = RECENT_PER_GROUP) {
    this.#per = per;
  }

  /** take reads one event; it says whether what is kept changed. */
  take(type, body) {
    const group = Number(body?.group);
    const offset = Number(body?.offset);
    if (!Number.isInteger(group) || group < 1 || !Number.isInteger(offset) || offset < 1) return false;
    if (type === 'message' || type === 'announcement') {
      const list = this.#groups.get(group) ?? [];
      if (list.some((m) => m.offset === offset)) return false;
      list.push({ offset, from: String(body.from ?? ''), text: String(body.text ?? ''), announcement: type === 'announcement', redactedBy: '' });
      list.sort((a, b) => a.offset - b.offset);
      while (list.length > this.#per) list.shift();
      this.#groups.set(group, list);
      return true;
    }
    if (type === 'redacted') return this.redacted(group, offset, String(body.by ?? ''));
    return false;
  }

  /** redacted marks the group's message at offset as redacted by by. */
  redacted(group, offset, by) {
    const m = this.find(group, offset);
    if (!m || m.redactedBy) return false;
    m.redactedBy = by || '?';
    m.text = '';
    return true;
  }

  find(group, offset) {
    return (this.#groups.get(group) ?? []).find((m) => m.offset === offset) ?? null;
  }

  /** of is the group's kept messages, oldest first. */
  of(group) {
    return this.#groups.get(group) ?? [];
  }

  clear() {
    this.#groups.clear();
  }
}
