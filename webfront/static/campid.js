// The campId field's check as the camper types. It knows only the form (a
// letter, then digits); the range is the server's (--camp-ids, J001-J384 by
// default) and its bad-camp-id sentence names it.

/** The range a server admits unless its operator set another. */
export const DEFAULT_RANGE = 'J001–J384';

/**
 * checkCampId judges what is in the field. It returns the campId to send
 * (upper case), whether it may be sent, whether it is of another form than
 * the default range's, and a sentence for the camper.
 * Empty is not ok but not wrong either: `empty` lets the page stay quiet
 * until the camper has typed something.
 */
export function checkCampId(raw) {
  const typed = raw.trim();
  const value = typed.toUpperCase();
  if (typed === '') {
    return { ok: false, empty: true, unusual: false, value, message: `Your campId: a letter and digits, e.g. J004 (${DEFAULT_RANGE}).` };
  }
  if (/^[A-Z]+[0-9]+$/.test(value)) {
    const digits = value.replace(/^[A-Z]+/, '');
    const unusual = value.replace(/[0-9]+$/, '').length !== 1 || digits.length !== 3;
    let message = unusual
      ? `The usual form is J and 3 digits (${DEFAULT_RANGE}); the server will say if your camp uses another.`
      : 'Looks right.';
    if (value !== typed) message += ` It is sent as ${value}.`;
    return { ok: true, empty: false, unusual, value, message };
  }
  const bad = [...typed].find((c) => !/[A-Za-z0-9]/.test(c));
  let message;
  if (bad !== undefined) {
    const shown = /\s/.test(bad) ? 'A space' : `“${bad}”`;
    message = `${shown} cannot be part of a campId: a letter, then digits, e.g. J004.`;
  } else if (/^[0-9]/.test(typed)) {
    message = 'Start with the letter, e.g. J004.';
  } else if (/^[A-Za-z]+$/.test(typed)) {
    message = 'Now the digits, e.g. J004.';
  } else {
    message = 'Letters come first, then only digits, e.g. J004.';
  }
  return { ok: false, empty: false, unusual: false, value, message };
}
