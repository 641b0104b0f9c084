// The words the page shows for responses, events and closed sockets. They
// follow the CLI's lines (cmd/campbus/display.go) so that a transcript reads
// the same in both: group#N, keywords are "...", message from J005, "...",
// active time ... (MISSION-SPEC §3).

export const checkinLine = (b) =>
  `checkin success to group#${b.group} (members: ${(b.members ?? []).join(', ')})`;
export const missionLine = (b) => `keywords are "${printable(b.keywords)}"`;
export const peerSessionLine = (b) => `peersession started (maxCount=${b.maxCount})`;
export const completeLine = (b) => `peersession completed (${countMessages(b.messages)})`;
export const messageLine = (b) =>
  `message sent (seq ${b.seq}, ${b.remaining} remaining, delivered to ${b.delivered})`;
export const directLine = 'direct (success)';
export const checkoutLines = (b) => ['checkout (disconnected)', 'active time ' + formatActiveTime(b.activeMs)];
export const failedLine = (command, sentence) => `${command} failed: ${printable(sentence)}`;

/**
 * describeEvent returns what the CLI prints after "< " for an event of type
 * with body; withTo names the recipient of a direct (history mixes the
 * directs a camper sent with those it received).
 */
export function describeEvent(type, b, withTo = false) {
  switch (type) {
    case 'join':
      return `${b.campId} joined group#${b.group} (members: ${(b.members ?? []).join(', ')})`;
    case 'checkout':
      return `${b.campId} left group#${b.group}` + (b.reason === 'disconnect' ? ' (disconnected)' : '');
    case 'peersession':
      return `peersession started by ${b.host} (maxCount=${b.maxCount})`;
    case 'message':
      return `message from ${b.from}, "${printable(b.text)}"`;
    case 'complete':
      if (b.reason === 'host-left') {
        return `peersession ended, host ${b.host} left (${countMessages(b.messages ?? 0)})`;
      }
      return `peersession completed by ${b.host} (${countMessages(b.messages ?? 0)})`;
    case 'direct':
      if (withTo && b.to) return `direct from ${b.from} to ${b.to}, "${printable(b.text)}"`;
      return `direct from ${b.from}, "${printable(b.text)}"`;
    case 'shutdown':
      return shutdownLine(b.reason);
    default: // a newer server's event: show it rather than hide it
      return `${printable(String(type))} event ${printable(JSON.stringify(b))}`;
  }
}

/** shutdownLine shows a shutdown event, with its reason unless that says no more. */
export function shutdownLine(reason) {
  const line = 'server shutting down';
  return reason && reason !== line ? `${line}: ${printable(reason)}` : line;
}

export function countMessages(n) {
  return n === 1 ? '1 message' : `${n} messages`;
}

/** formatActiveTime shows milliseconds as "1h 2m 3s", "2m 3s" or "3s". */
export function formatActiveTime(ms) {
  const total = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** formatSeconds shows a wait: "0.6 s" under ten seconds, "12 s" above. */
export function formatSeconds(ms) {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
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
  const said = reason ? ` (“${printable(reason)}”)` : '';
  switch (code) {
    case 1000:
      return 'the server closed the connection' + said;
    case 1001:
      return 'the server is going away (restarting or shutting down)' + said;
    case 1003:
      return 'the server accepts only text messages, and the page sent something else' + said;
    case 1006:
      return 'the connection was lost (the server is down, unreachable, or refused this page)';
    case 1007:
      return 'the server could not read a message from this page' + said;
    case 1008:
      return 'the server refused the connection by its policy' + said;
    case 1009:
      return 'a message from this page was too large for the server (4096 bytes at most)' + said;
    case 1011:
      return 'the server hit an internal error' + said;
    case 4000:
      return 'the server stopped answering';
    default:
      return `the connection closed (code ${code})` + said;
  }
}
