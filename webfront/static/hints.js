// What to do about an error response: the browser's copy of hintFor in
// cmd/campbus/display_hints.go, so a camper gets the same advice on the page
// as at the terminal. Keep the two in step when a code or sentence changes.

/** The example the CLI's help shows for each command (campbus's command table). */
export const examples = Object.freeze({
  mission: 'mission 4',
  peersession: 'peersession 2',
  message: 'message 안녕하세요',
  complete: 'complete',
  direct: 'direct J005 hello',
  history: 'history 20',
  checkin: 'checkin J004',
  checkout: 'checkout',
});

/**
 * hintFor says what to do about the error code in answer to command, whose
 * request had body; '' when the server's sentence says enough.
 */
export function hintFor(command, body, code) {
  switch (code) {
    case 'not-checked-in':
      return 'check in first: checkin J004';
    case 'camp-id-in-use': {
      const id = body && typeof body.campId === 'string' ? body.campId : '';
      const next = nextCampId(id);
      if (next !== '') {
        return `someone is using ${id}; pick another campId, e.g. ${next}`;
      }
      return 'someone is using that campId; pick another';
    }
    case 'already-checked-in':
      return 'you are checked in already; to use another campId, checkout and connect again';
    case 'limit-reached':
      return 'the session is full; its host ends it with complete, then anyone can start one: peersession 2';
    case 'no-session':
      if (command === 'complete') return 'there is no session to complete';
      return 'start a session first: peersession 2';
    case 'session-active':
      return 'join in with message <text>; the host ends it with complete';
    case 'not-host':
      return 'the session ends when its host completes it or leaves';
    case 'not-checked-in-target':
      return 'directs reach only campers who are checked in; try again when they are';
    case 'bad-day':
    case 'bad-max-count':
    case 'bad-limit':
    case 'bad-after':
      return 'for example: ' + (examples[command] ?? command);
    case 'no-mission':
      return 'try another day, e.g. mission 4';
    case 'bad-token':
      return 'paste your token under "I was given a token" (whoever runs the camp hands them out)';
    case 'rate-limited':
      return 'wait a moment, then try again';
    case 'shutting-down':
      return 'the server is stopping; connect again once it is back';
    case 'internal':
      return "try again; if it keeps failing, tell whoever runs the server";
  }
  return '';
}

/**
 * nextCampId returns the campId after id (J004 → J005) to suggest in its
 * place, or '' if id is not a letter and digits or is the last of its width.
 */
export function nextCampId(id) {
  const m = /^([A-Z])([0-9]+)$/.exec(id);
  if (!m) return '';
  const digits = m[2];
  const next = String(Number(digits) + 1).padStart(digits.length, '0');
  return next.length === digits.length ? m[1] + next : '';
}
