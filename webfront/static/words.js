// The lines shown for responses, events and closed sockets, in the language
// shown (i18n.js holds the words). The English ones follow the CLI's lines
// (cmd/campbus/display.go) so that a transcript reads the same in both:
// group#N, keywords are "...", message from J005, "...", active time ...
// (MISSION-SPEC §3).

import { t } from './i18n.js';

export const checkinLine = (b) => t('feed.checkin', { group: b.group, members: b.members });
export const missionLine = (b) => t('mission.line', { day: b.day, keywords: printable(b.keywords) });
export const peerSessionLine = (b) => t('feed.peersession', { maxCount: b.maxCount });
export const completeLine = (b) => t('feed.complete', { messages: b.messages });
export const messageLine = (b) => t('feed.sent', { seq: b.seq, remaining: b.remaining, delivered: b.delivered });
export const directLine = () => t('feed.directSent');
export const checkoutLine = (b) => t('feed.checkout', { active: formatActiveTime(b.activeMs) });

/** failedLine says that command failed, and why: the page's sentence for sentence. */
export const failedLine = (command, sentence) => {
  const what = ['checkin', 'mission', 'peersession', 'complete', 'message', 'direct', 'history', 'checkout', 'staff', 'board', 'announce', 'mute', 'kick', 'redact', 'revoke'].includes(command)
    ? t('failed.' + command)
    : t('failed.other', { command });
  return `${what}: ${printable(sentence)}`;
};

/**
 * describeEvent returns the feed's line for an event of type with body;
 * withTo names the recipient of a direct (history mixes the directs a
 * camper sent with those it received).
 */
export function describeEvent(type, b, withTo = false) {
  switch (type) {
    case 'join':
      return t('event.join', { campId: b.campId, group: b.group, members: b.members });
    case 'checkout':
      return t('event.checkout', { campId: b.campId, group: b.group, lost: b.reason === 'disconnect', kicked: b.reason === 'kicked' });
    case 'announcement':
      if (b.redacted) return t('event.announcement', { from: printable(b.from), text: t('feed.redactedText', { by: printable(b.redactedBy ?? '') }) });
      return t('event.announcement', { from: printable(b.from), text: printable(b.text) });
    case 'muted':
      return b.until ? t('event.muted', { by: printable(b.by), until: printable(b.until) }) : t('event.unmuted', { by: printable(b.by) });
    case 'redacted':
      return t('event.redacted', { by: printable(b.by), offset: b.offset, group: b.group });
    case 'kicked':
      return t('event.kicked', { by: printable(b.by), reason: b.reason ? printable(b.reason) : '' });
    case 'peersession':
      return t('event.peersession', { host: b.host, maxCount: b.maxCount });
    case 'message':
      if (b.redacted) return t('event.message', { from: b.from, text: t('feed.redactedText', { by: printable(b.redactedBy ?? '') }) });
      return t('event.message', { from: b.from, text: printable(b.text) });
    case 'complete':
      return t(b.reason === 'host-left' ? 'event.complete.hostLeft' : 'event.complete', { host: b.host, messages: b.messages ?? 0 });
    case 'direct':
      if (withTo && b.to) return t('event.directTo', { from: b.from, to: b.to, text: printable(b.text) });
      return t('event.direct', { from: b.from, text: printable(b.text) });
    case 'shutdown':
      return shutdownLine(b.reason);
    default: // a newer server's event: show it rather than hide it
      return t('event.other', { type: printable(String(type)), body: printable(JSON.stringify(b)) });
  }
}

/** shutdownLine shows a shutdown event, with its reason unless that says no more. */
export function shutdownLine(reason) {
  return reason && reason !== 'server shutting down' ? t('event.shutdownWhy', { reason: printable(reason) }) : t('event.shutdown');
}

export function countMessages(n) {
  return t('count.messages', { n });
}

/** formatActiveTime shows milliseconds as "1h 2m 3s", "2m 3s" or "3s" (1시간 2분 3초...). */
export function formatActiveTime(ms) {
  const total = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  if (h > 0) return t('time.hms', { h, m, s });
  if (m > 0) return t('time.ms', { m, s });
  return t('time.s', { s });
}

/** formatSeconds shows a wait: "0.6 s" under ten seconds, "12 s" above. */
export function formatSeconds(ms) {
  const s = ms / 1000;
  return t('wait.seconds', { s: s < 10 ? s.toFixed(1) : String(Math.round(s)) });
}

const controlEscapes = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

/**
 * printable replaces control characters in text from other people with
 * escapes, as the CLI does, so that a message cannot break the layout of the
 * feed. The page puts text in the DOM as text, never as markup; Hangul and
 * emoji stay as they are.
 */
export function printable(s) {
  return String(s ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (controlEscapes[c]) return controlEscapes[c];
    const code = c.charCodeAt(0);
    return code < 0x80 ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + code.toString(16).padStart(4, '0');
  });
}

/**
 * closeExplanation says why the socket closed, from its close code
 * (PROTOCOL §8 names the ones the server uses).
 */
export function closeExplanation(code, reason) {
  const said = reason ? t('close.said', { reason: printable(reason) }) : '';
  switch (code) {
    case 1006:
    case 4000:
      return t('close.' + code);
    case 1000:
    case 1001:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1011:
      return t('close.' + code) + said;
    default:
      return t('close.other', { code }) + said;
  }
}
