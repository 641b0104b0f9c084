// The page's words in Korean and English: one table per language, with the
// same keys in both (webfront/jstest/i18n.test.mjs fails otherwise), so that
// another campbus page can reuse them. A value is a string, or a function of
// one object of parameters that returns a string. Campers' words (messages,
// campIds) are passed in as parameters and never translated.
//
// The English lines of the feed follow the CLI's (cmd/campbus/display.go),
// so that a transcript reads the same in both; the Korean ones are worded
// for the page, in 해요체.

const list = (members) => (members ?? []).join(', ');

// Korean particles follow the sound of the word before them: J004로 but
// J003으로, J005를 but J006을. A campId ends in a digit, read in
// Sino-Korean (영, 일, 이, 삼, ...); a Hangul word by its last syllable.
const DIGIT_FINALS = ['ㅇ', 'ㄹ', '', 'ㅁ', '', '', 'ㄱ', 'ㄹ', 'ㄹ', ''];
const JONG = ['', 'ㄱ', 'ㄲ', 'ㄳ', 'ㄴ', 'ㄵ', 'ㄶ', 'ㄷ', 'ㄹ', 'ㄺ', 'ㄻ', 'ㄼ', 'ㄽ', 'ㄾ', 'ㄿ', 'ㅀ', 'ㅁ', 'ㅂ', 'ㅄ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ'];

/** finalSound is the final consonant the word is read with, '' for none (or a word it cannot tell). */
export function finalSound(word) {
  const c = String(word ?? '').trim().slice(-1);
  if (c >= '0' && c <= '9') return DIGIT_FINALS[Number(c)];
  const code = c.charCodeAt(0) - 0xac00;
  return code >= 0 && code < 11172 ? JONG[code % 28] : '';
}

/** Korean particles after word: 을/를, 은/는, (으)로, 이에요/예요. */
export const josa = {
  ieyo: (w) => w + (finalSound(w) ? '이에요' : '예요'),
  eul: (w) => w + (finalSound(w) ? '을' : '를'),
  eun: (w) => w + (finalSound(w) ? '은' : '는'),
  ro: (w) => w + (finalSound(w) && finalSound(w) !== 'ㄹ' ? '으로' : '로'),
};

export const en = {
  'skip': 'Skip to the conversation',
  'status.connecting': 'Connecting…',
  'status.connected': 'Connected',
  'status.off': 'Checked out, not connected',
  'status.retry': ({ why, wait }) => `${capitalise(why)}. Trying again in ${wait}…`,
  'status.electing': ({ wait }) => `The camp is electing a leader after losing a node; trying again in ${wait}…`,
  'retry.now': 'Reconnect now',
  'me.group': ({ group }) => `group#${group}`,
  'checkout': 'Check out',

  'checkin.title': 'Check in',
  'checkin.campId': 'Your campId',
  'checkin.button': 'Check in',
  'checkin.token': 'I was given a token',
  'checkin.tokenLabel': 'Token',
  'checkin.tokenNote': 'Only camps that hand out tokens need one.',
  'checkin.connecting': 'Connecting to the server…',
  'checkin.notYet': 'Not connected yet: you are checked in once the server answers.',
  'checkin.checkedOut': ({ active }) => `Checked out: ${active}. Check in again whenever you like.`,

  'campId.empty': ({ range }) => `Your campId: a letter and digits, e.g. J004 (${range}).`,
  'campId.unusual': ({ range }) => `The usual form is J and 3 digits (${range}); the server will say if your camp uses another.`,
  'campId.ok': 'Looks right.',
  'campId.sentAs': ({ value }) => `It is sent as ${value}.`,
  'campId.space': 'A space',
  'campId.badChar': ({ shown }) => `${shown} cannot be part of a campId: a letter, then digits, e.g. J004.`,
  'campId.letterFirst': 'Start with the letter, e.g. J004.',
  'campId.digitsNext': 'Now the digits, e.g. J004.',
  'campId.lettersThenDigits': 'Letters come first, then only digits, e.g. J004.',

  'fold.label': 'Group, session and mission',
  'fold.group': ({ group, count }) => (group ? `Group #${group} · ${count}` : 'Group'),
  'fold.session': ({ running, left }) => (!running ? 'No session' : left === null ? 'Session on' : `Session · ${left} left`),
  'fold.mission': 'Mission',

  'group.title': 'Group',
  'group.titleN': ({ group }) => `Group #${group}`,
  'group.note': 'Pick someone to send them a direct.',
  'member.you': 'you',
  'member.host': 'host',
  'member.pick': ({ id }) => `Send a direct to ${id}`,

  'session.title': 'Peer session',
  'session.maxCount': 'Messages allowed',
  'session.start': 'Start session',
  'session.complete': 'Complete session',
  'session.none': 'No session running. Start one to talk in the group.',
  'session.youHost': 'You host a session',
  'session.hosts': ({ host }) => `${host} hosts a session`,
  'session.running': 'A session is running',
  'session.left': ({ left, max }) => `: ${countMessages(en, left)} left` + (max ? ` of ${max}` : ''),

  'mission.title': 'Mission',
  'mission.day': 'Day',
  'mission.lookUp': 'Look up',
  'mission.line': ({ day, keywords }) => `Day ${day}: keywords are "${keywords}"`,

  'talk.title': 'Conversation',
  'message.label': 'Message to the group',
  'message.left': ({ left }) => `(${left} left)`,
  'message.send': 'Send',
  'message.placeholder': 'Write to your group',
  'message.placeholderNoSession': 'Start a session to talk',
  'message.empty': 'Type a message first.',
  'direct.to': 'Direct to',
  'direct.text': 'Direct text',
  'direct.send': 'Send direct',
  'direct.toWhom': ({ why }) => `To whom? ${why}`,
  'direct.empty': 'Type the direct first.',

  'send.tooLong': ({ size, max }) => `Too long to send: ${size} bytes, and the server takes ${max}.`,
  'send.tooLongHint': 'A Korean letter takes 3 bytes and an emoji 4; shorten it or split it in two.',
  'send.reconnecting': 'Not sent: reconnecting. What you typed stays here.',
  'send.notIn': 'Not sent: not checked in. What you typed stays here.',
  'send.dropped': 'The connection dropped before the answer; it may not have gone through.',
  'hint': 'hint:',
  'stray.says': ({ sentence }) => `The server says: ${sentence}`,

  'failed.checkin': 'Could not check in',
  'failed.mission': 'Could not look up the mission',
  'failed.peersession': 'Could not start the session',
  'failed.complete': 'Could not complete the session',
  'failed.message': 'Message not sent',
  'failed.direct': 'Direct not sent',
  'failed.history': 'Could not load the history',
  'failed.checkout': 'Could not check out',
  'failed.other': ({ command }) => `${command} failed`,

  // The page's own sentence for each error code of PROTOCOL §3.
  'error.bad-request': 'The server could not read the request.',
  'error.bad-camp-id': ({ range }) => (range ? `That is not a campId of this camp: its campIds run from ${range}.` : 'That is not a campId of this camp.'),
  'error.bad-day': 'The day must be a whole number from 1 up.',
  'error.bad-max-count': 'The number of messages must be a whole number from 1 to 10000.',
  'error.bad-limit': 'The server refused how many events the page asked for.',
  'error.bad-after': 'The server refused where the page asked the history to start.',
  'error.bad-epoch': 'The server refused which log the page asked about.',
  'error.bad-token': 'The token is missing, wrong, expired or for another campId.',
  'error.not-checked-in': 'You are not checked in.',
  'error.not-host': 'Only the host of the session can complete it.',
  'error.unknown-command': 'The server does not know this request; it may be older than the page.',
  'error.no-mission': ({ day }) => (day ? `There is no mission on day ${day}.` : 'There is no mission on that day.'),
  'error.not-checked-in-target': ({ id }) => (id ? `${id} is not checked in right now.` : 'That camper is not checked in right now.'),
  'error.method-not-allowed': 'The server refused the kind of request.',
  'error.already-checked-in': 'You are checked in already.',
  'error.camp-id-in-use': ({ id }) => (id ? `Someone is checked in as ${id} already.` : 'Someone is checked in with that campId already.'),
  'error.session-active': 'Your group has a session running already.',
  'error.no-session': 'No session is running in your group.',
  'error.limit-reached': 'The session has had all the messages it allows.',
  'error.epoch-changed': "The camp's log was started anew; the page's place in the old one means nothing in it.",
  'error.too-large': 'That was too large for the server.',
  'error.malformed': 'The server could not read what the page sent.',
  'error.rate-limited': 'Too many requests, too fast.',
  'error.storage-full': "The camp's storage is full: nothing was stored or delivered.",
  'error.shutting-down': 'The server is shutting down.',
  'error.too-many-connections': 'The server holds as many connections as it takes.',
  'error.unavailable': ({ seconds }) =>
    `The camp is electing a leader after losing a node and could not answer in time` + (seconds ? `; try again in ${seconds} s.` : '.'),
  'error.internal': 'Something went wrong inside the server; the request may not have taken effect.',
  'error.forbidden': 'That is for the camp’s staff only.',
  'error.muted': ({ until }) => (until ? `Staff muted you until ${until}: your messages and directs reach nobody until then.` : 'Staff muted you: your messages and directs reach nobody for now.'),
  'error.bad-minutes': 'A mute lasts a whole number of minutes, from 0 to 1440.',
  'error.no-message': 'The group keeps no message there.',

  // What to do about an error, pointing at the page's own controls.
  'hint.not-checked-in': 'The page checks you in again by itself.',
  'hint.camp-id-in-use': 'Check that the campId is yours; if it is, wait a few seconds and check in again.',
  'hint.already-checked-in': 'To use another campId, press “Check out” first.',
  'hint.limit-reached.host': 'Press “Complete session” to end it; then anyone can start a new one.',
  'hint.limit-reached': 'Its host ends it with “Complete session”; then anyone can start a new one.',
  'hint.no-session': 'Start one with “Start session”.',
  'hint.no-session.complete': 'There is no session to complete.',
  'hint.session-active': 'Join in with a message to the group; its host ends it with “Complete session”.',
  'hint.not-host': 'The session ends when its host completes it or leaves.',
  'hint.not-checked-in-target': 'Directs reach only campers who are checked in; try again when they are.',
  'hint.bad-day': 'Type a day such as 4.',
  'hint.bad-max-count': 'Type a number such as 2 in “Messages allowed”.',
  'hint.bad-history': 'Reload the page; if it keeps happening, tell the camp’s staff.',
  'hint.no-mission': 'Try another day, e.g. 4.',
  'hint.bad-token': 'Paste your token under “I was given a token” (the camp’s staff hand them out).',
  'hint.rate-limited': 'Wait a moment, then try again.',
  'hint.shutting-down': 'The page connects again once the server is back.',
  'hint.too-many-connections': 'The server is full; the page tries again by itself.',
  'hint.unavailable': 'Wait a moment, then try again.',
  'hint.storage-full': 'Tell the camp’s staff.',
  'hint.internal': 'Try again; if it keeps failing, tell the camp’s staff.',
  'action.startSession': 'Go to “Start session”',

  // The feed.
  'feed.earlier': 'earlier',
  'feed.now': 'now',
  'feed.checkin': ({ group, members }) => `checkin success to group#${group} (members: ${list(members)})`,
  'feed.peersession': ({ maxCount }) => `peersession started (maxCount=${maxCount})`,
  'feed.complete': ({ messages }) => `peersession completed (${countMessages(en, messages)})`,
  'feed.sent': ({ seq, remaining, delivered }) => `message sent (seq ${seq}, ${remaining} remaining, delivered to ${delivered})`,
  'feed.directSent': 'direct (success)',
  'feed.checkout': ({ active }) => `checkout (disconnected), active time ${active}`,
  'feed.youToGroup': ({ group }) => `you to group#${group}`,
  'feed.youTo': ({ to }) => `you to ${to}`,
  'feed.messageFrom': ({ from }) => `message from ${from}`,
  'feed.messageMeta': ({ seq, remaining }) => `seq ${seq}, ${remaining} remaining`,
  'feed.directFrom': ({ from }) => `direct from ${from}`,
  'feed.directFromTo': ({ from, to }) => `direct from ${from} to ${to}`,
  'event.join': ({ campId, group, members }) => `${campId} joined group#${group} (members: ${list(members)})`,
  'event.checkout': ({ campId, group, lost, kicked }) => `${campId} left group#${group}` + (lost ? ' (disconnected)' : '') + (kicked ? ' (kicked by staff)' : ''),
  'event.announcement': ({ from, text }) => `announcement from ${from} (staff), "${text}"`,
  'event.muted': ({ by, until }) => `${by} (staff) muted you until ${until}: your messages and directs reach nobody until then`,
  'event.unmuted': ({ by }) => `${by} (staff) lifted your mute`,
  'event.kicked': ({ by, reason }) => `${by} (staff) checked you out` + (reason ? `: "${reason}"` : ''),
  'event.redacted': ({ by, offset, group }) => `${by} (staff) redacted the message at offset ${offset} of group#${group}`,
  'feed.redactedText': ({ by }) => `(redacted by ${by}, staff)`,
  'event.peersession': ({ host, maxCount }) => `peersession started by ${host} (maxCount=${maxCount})`,
  'event.message': ({ from, text }) => `message from ${from}, "${text}"`,
  'event.complete': ({ host, messages }) => `peersession completed by ${host} (${countMessages(en, messages)})`,
  'event.complete.hostLeft': ({ host, messages }) => `peersession ended, host ${host} left (${countMessages(en, messages)})`,
  'event.direct': ({ from, text }) => `direct from ${from}, "${text}"`,
  'event.directTo': ({ from, to, text }) => `direct from ${from} to ${to}, "${text}"`,
  'event.other': ({ type, body }) => `${type} event ${body}`,
  'event.shutdown': 'server shutting down',
  'event.shutdownWhy': ({ reason }) => `server shutting down: ${reason}`,
  'event.shutdownBack': ({ line }) => `${line}; reconnecting when it is back`,
  'feed.lost': ({ why, campId }) => `connection lost: ${why}; reconnecting as ${campId}…`,
  'feed.stillHeld': ({ campId }) => `${campId} is still held for the lost connection; waiting for the camp to let it go, then checking in again`,
  'feed.reconnected': ({ away }) => `reconnected after ${away}`,
  'feed.reconnectedTo': ({ node, away }) => `reconnected to ${node} after ${away}`,
  'feed.noEarlier': 'no earlier events',
  'feed.restartedEmpty': "the camp's log was started anew: nothing in the new one yet",
  'feed.restartedLatest': ({ n }) => `the camp's log was started anew: the latest ${n} ${n === 1 ? 'event' : 'events'} of the new one`,
  'feed.missed': ({ n }) => `missed while away: ${n} ${n === 1 ? 'event' : 'events'}`,
  'feed.earlierN': ({ n }) => `earlier: the last ${n} ${n === 1 ? 'event' : 'events'}`,
  'feed.trimmed': 'some events are no longer stored and are not shown',
  'feed.restarted': "the camp's log was started anew while you were away: the events before it are gone",

  // Why the socket closed (PROTOCOL §8's close codes).
  'close.1000': 'the server closed the connection',
  'close.1001': 'the server is going away (restarting or shutting down)',
  'close.1003': 'the server accepts only text messages, and the page sent something else',
  'close.1006': 'the connection was lost (the server is down, unreachable, or refused this page)',
  'close.1007': 'the server could not read a message from this page',
  'close.1008': 'the server refused the connection by its policy',
  'close.1009': 'a message from this page was too large for the server (4096 bytes at most)',
  'close.1011': 'the server hit an internal error',
  'close.4000': 'the server stopped answering',
  'close.other': ({ code }) => `the connection closed (code ${code})`,
  'close.said': ({ reason }) => ` (“${reason}”)`,
  'close.unreachable': 'cannot reach the server',
  'close.notConnected': 'not connected',
  'close.heldFor': ({ campId }) => `the camp still holds ${campId} for the lost connection (it lets go a few seconds after the loss)`,
  'close.checkinFailed': ({ sentence }) => `checkin failed: ${sentence}`,

  'count.messages': ({ n }) => (n === 1 ? '1 message' : `${n} messages`),
  'time.hms': ({ h, m, s }) => `${h}h ${m}m ${s}s`,
  'time.ms': ({ m, s }) => `${m}m ${s}s`,
  'time.s': ({ s }) => `${s}s`,
  'wait.seconds': ({ s }) => `${s} s`,

  // The staff page (staff.html).
  'foot.staff': 'Staff page',
  'staff.skip': 'Skip to the board',
  'staff.brand': 'staff',
  'staff.toCamper': 'The camper page',
  'staff.signOut': 'Sign out',
  'staff.who': ({ name, until }) => `Signed in as ${name} (staff)` + (until ? `, token good until ${until}` : ''),
  'staff.signIn.title': 'Staff sign-in',
  'staff.signIn.token': 'Staff token',
  'staff.signIn.button': 'Sign in',
  'staff.signIn.note': 'Paste the token from “campbus token --staff NAME”. The page keeps it only while it is open.',
  'staff.signIn.signing': 'Signing in…',
  'staff.signIn.empty': 'Paste a staff token first.',
  'staff.signedOut': 'Signed out. The page forgot the token.',
  'staff.expired': 'The server no longer takes your token (it has expired): sign in again with a new one.',
  'staff.notSignedIn': 'Not sent: not signed in (the page signs in again by itself after a drop).',
  'staff.campId': 'campId',
  'staff.announce.title': 'Announce',
  'staff.announce.text': 'Announcement to every camper',
  'staff.announce.button': 'Announce',
  'staff.announce.empty': 'Type the announcement first.',
  'staff.announce.done': ({ reached, groups }) =>
    `Announced: it reached ${reached} ${reached === 1 ? 'camper' : 'campers'} in ${groups} ${groups === 1 ? 'group' : 'groups'}.`,
  'staff.mute.title': 'Mute',
  'staff.mute.minutes': 'Minutes',
  'staff.mute.button': 'Mute',
  'staff.mute.note': 'Muted campers’ messages and directs reach nobody. 0 minutes lifts a mute.',
  'staff.mute.done': ({ campId, until }) => `${campId} is muted until ${until}.`,
  'staff.mute.lifted': ({ campId }) => `${campId}’s mute is lifted.`,
  'staff.kick.title': 'Kick',
  'staff.kick.reason': 'Reason (optional)',
  'staff.kick.button': 'Kick…',
  'staff.kick.yes': 'Yes, kick',
  'staff.kick.no': 'Cancel',
  'staff.kick.noCampId': 'Type the campId of the camper to kick.',
  'staff.kick.ask': ({ campId }) => `Check ${campId} out and close its connection?`,
  'staff.kick.askWhy': ({ campId, reason }) => `Check ${campId} out and close its connection, telling it “${reason}”?`,
  'staff.kick.done': ({ campId, group }) => `${campId} was checked out of group#${group}.`,
  'staff.board.title': 'Board',
  'staff.board.summary': ({ checkedIn, groups, mutedCount, at }) =>
    `${checkedIn} checked in, in ${groups} ${groups === 1 ? 'group' : 'groups'}; ${mutedCount} muted. Read at ${at}.`,
  'staff.board.empty': 'Nobody is checked in.',
  'staff.board.members': ({ n }) => (n === 1 ? '1 member' : `${n} members`),
  'staff.board.session': ({ host, messages, maxCount }) => `Session hosted by ${host}: ${messages}/${maxCount} messages`,
  'staff.board.noSession': 'No session',
  'staff.board.host': 'host',
  'staff.board.muted': 'muted',
  'staff.board.mutedUntil': ({ until, by }) => `muted until ${until}` + (by ? ` by ${by}` : ''),
  'staff.board.mutedAway': 'Muted, not checked in',
  'staff.board.mute': 'Mute…',
  'staff.board.muteOf': ({ campId }) => `Mute ${campId}…`,
  'staff.board.lift': 'Lift mute…',
  'staff.board.liftOf': ({ campId }) => `Lift ${campId}’s mute…`,
  'staff.board.kick': 'Kick…',
  'staff.board.kickOf': ({ campId }) => `Kick ${campId}…`,
  'staff.error.staff.bad-token': 'That is not a staff token of this camp: it is a camper’s, wrong, or expired.',
  'staff.error.staff.forbidden': 'This camp runs without a secret, so it has no staff sign-in.',
  'staff.error.forbidden': 'The server no longer takes your staff sign-in (the token has expired).',
  'staff.error.not-checked-in-target': ({ id }) => (id ? `${id} is not checked in right now.` : 'That camper is not checked in right now.'),
  'staff.error.kick.bad-request': 'The server refused the kick: a reason is at most 200 characters.',
  'staff.error.announce.bad-request': 'The server refused the announcement: it needs some text.',
  'staff.hint.staff.bad-token': 'Mint one with “campbus token --staff NAME”; campers’ tokens do not sign in here.',
  'staff.hint.staff.forbidden': 'Run the camp with a secret (--auth-secret) to have staff.',
  'staff.hint.forbidden': 'Sign in again with a new staff token.',
  'staff.hint.bad-camp-id': 'Type a campId as the board shows it, e.g. J004.',
  'staff.hint.bad-minutes': 'Type a number such as 10 in “Minutes”, or 0 to lift a mute.',
  'staff.hint.kick.not-checked-in-target': 'Only campers who are checked in can be kicked; a mute holds either way.',
  'staff.hint.unavailable': 'Wait a moment, then try again.',
  'failed.staff': 'Could not sign in',
  'failed.board': 'Could not read the board',
  'failed.announce': 'Could not announce',
  'failed.mute': 'Could not mute',
  'failed.kick': 'Could not kick',
};

export const ko = {
  'skip': '대화로 건너뛰기',
  'status.connecting': '연결하는 중…',
  'status.connected': '연결됨',
  'status.off': '체크아웃했어요 · 연결 안 됨',
  'status.retry': ({ why, wait }) => `${why}. ${wait} 뒤에 다시 연결해요…`,
  'status.electing': ({ wait }) => `노드 하나가 끊겨서 캠프가 새 리더를 뽑고 있어요. ${wait} 뒤에 다시 시도해요…`,
  'retry.now': '지금 다시 연결',
  'me.group': ({ group }) => `${group}번 그룹`,
  'checkout': '체크아웃',

  'checkin.title': '체크인',
  'checkin.campId': '내 campId',
  'checkin.button': '체크인',
  'checkin.token': '토큰을 받았어요',
  'checkin.tokenLabel': '토큰',
  'checkin.tokenNote': '토큰을 나눠 주는 캠프에서만 필요해요.',
  'checkin.connecting': '서버에 연결하는 중…',
  'checkin.notYet': '아직 연결되지 않았어요. 서버가 답하면 바로 체크인돼요.',
  'checkin.checkedOut': ({ active }) => `체크아웃했어요. 활동 시간은 ${active}예요. 언제든 다시 체크인할 수 있어요.`,

  'campId.empty': ({ range }) => `campId는 영문자 하나와 숫자로 되어 있어요. 예: J004 (${range})`,
  'campId.unusual': ({ range }) => `보통은 J와 숫자 3자리예요 (${range}). 캠프가 다른 형식을 쓰면 서버가 알려 줘요.`,
  'campId.ok': '좋아요.',
  'campId.sentAs': ({ value }) => `${josa.ro(value)} 보내요.`,
  'campId.space': '띄어쓰기',
  'campId.badChar': ({ shown }) => `${josa.eun(shown)} campId에 쓸 수 없어요. 영문자 다음에 숫자를 적어 주세요. 예: J004`,
  'campId.letterFirst': '영문자로 시작해 주세요. 예: J004',
  'campId.digitsNext': '이제 숫자를 적어 주세요. 예: J004',
  'campId.lettersThenDigits': '영문자를 먼저, 그다음에 숫자만 적어 주세요. 예: J004',

  'fold.label': '그룹, 세션, 미션',
  'fold.group': ({ group, count }) => (group ? `${group}번 그룹 · ${count}명` : '그룹'),
  'fold.session': ({ running, left }) => (!running ? '세션 없음' : left === null ? '세션 진행 중' : `세션 · ${left}개 남음`),
  'fold.mission': '미션',

  'group.title': '그룹',
  'group.titleN': ({ group }) => `${group}번 그룹`,
  'group.note': '이름을 누르면 그 사람에게 다이렉트를 보낼 수 있어요.',
  'member.you': '나',
  'member.host': '호스트',
  'member.pick': ({ id }) => `${id}에게 다이렉트 보내기`,

  'session.title': '피어 세션',
  'session.maxCount': '메시지 수',
  'session.start': '세션 시작',
  'session.complete': '세션 마치기',
  'session.none': '진행 중인 세션이 없어요. 세션을 시작하면 그룹에서 대화할 수 있어요.',
  'session.youHost': '내가 세션을 진행하고 있어요',
  'session.hosts': ({ host }) => `${host} 님이 세션을 진행하고 있어요`,
  'session.running': '세션이 진행 중이에요',
  'session.left': ({ left, max }) => ` · ` + (max ? `${max}개 중 ${left}개 남았어요` : `${left}개 남았어요`),

  'mission.title': '미션',
  'mission.day': '일차',
  'mission.lookUp': '찾아보기',
  'mission.line': ({ day, keywords }) => `${day}일차 키워드: "${keywords}"`,

  'talk.title': '대화',
  'message.label': '그룹에 보낼 메시지',
  'message.left': ({ left }) => `(${left}개 남음)`,
  'message.send': '보내기',
  'message.placeholder': '그룹에 메시지를 적어 보세요',
  'message.placeholderNoSession': '세션을 시작하면 대화할 수 있어요',
  'message.empty': '먼저 메시지를 적어 주세요.',
  'direct.to': '받는 사람',
  'direct.text': '다이렉트 내용',
  'direct.send': '다이렉트 보내기',
  'direct.toWhom': ({ why }) => `누구에게 보낼까요? ${why}`,
  'direct.empty': '먼저 다이렉트 내용을 적어 주세요.',

  'send.tooLong': ({ size, max }) => `너무 길어서 보낼 수 없어요. ${size}바이트인데 서버는 ${max}바이트까지 받아요.`,
  'send.tooLongHint': '한글 한 글자는 3바이트, 이모지는 4바이트예요. 줄이거나 둘로 나눠 보내 주세요.',
  'send.reconnecting': '보내지 못했어요. 다시 연결하는 중이에요. 적은 내용은 그대로 남아 있어요.',
  'send.notIn': '보내지 못했어요. 아직 체크인하지 않았어요. 적은 내용은 그대로 남아 있어요.',
  'send.dropped': '답을 받기 전에 연결이 끊겼어요. 전달되지 않았을 수도 있어요.',
  'hint': '도움말:',
  'stray.says': ({ sentence }) => `서버 메시지: ${sentence}`,

  'failed.checkin': '체크인하지 못했어요',
  'failed.mission': '미션을 찾지 못했어요',
  'failed.peersession': '세션을 시작하지 못했어요',
  'failed.complete': '세션을 마치지 못했어요',
  'failed.message': '메시지를 보내지 못했어요',
  'failed.direct': '다이렉트를 보내지 못했어요',
  'failed.history': '지난 기록을 불러오지 못했어요',
  'failed.checkout': '체크아웃하지 못했어요',
  'failed.other': ({ command }) => `${command} 요청이 실패했어요`,

  'error.bad-request': '서버가 요청을 읽지 못했어요.',
  'error.bad-camp-id': ({ range }) => (range ? `이 캠프의 campId가 아니에요. 이 캠프의 campId는 ${josa.ieyo(range)}.` : '이 캠프의 campId가 아니에요.'),
  'error.bad-day': '일차는 1 이상의 정수로 적어 주세요.',
  'error.bad-max-count': '메시지 수는 1부터 10000까지의 정수로 적어 주세요.',
  'error.bad-limit': '페이지가 요청한 기록 개수를 서버가 받지 않았어요.',
  'error.bad-after': '페이지가 요청한 기록의 시작 위치를 서버가 받지 않았어요.',
  'error.bad-epoch': '페이지가 요청한 기록의 이름을 서버가 받지 않았어요.',
  'error.bad-token': '토큰이 없거나, 틀렸거나, 만료됐거나, 다른 campId의 토큰이에요.',
  'error.not-checked-in': '아직 체크인하지 않았어요.',
  'error.not-host': '세션은 호스트만 마칠 수 있어요.',
  'error.unknown-command': '서버가 모르는 요청이에요. 페이지보다 오래된 서버일 수 있어요.',
  'error.no-mission': ({ day }) => (day ? `${day}일차에는 미션이 없어요.` : '그날에는 미션이 없어요.'),
  'error.not-checked-in-target': ({ id }) => (id ? `${id} 님은 지금 체크인하지 않았어요.` : '그 캠퍼는 지금 체크인하지 않았어요.'),
  'error.method-not-allowed': '서버가 이런 방식의 요청은 받지 않아요.',
  'error.already-checked-in': '이미 체크인했어요.',
  'error.camp-id-in-use': ({ id }) => (id ? `다른 사람이 이미 ${id} 아이디로 체크인해 있어요.` : '다른 사람이 이미 그 campId로 체크인해 있어요.'),
  'error.session-active': '그룹에서 이미 세션이 진행 중이에요.',
  'error.no-session': '그룹에 진행 중인 세션이 없어요.',
  'error.limit-reached': '이 세션에서 보낼 수 있는 메시지를 다 보냈어요.',
  'error.epoch-changed': '캠프 기록이 새로 시작돼서 예전 기록의 위치로는 이어 볼 수 없어요.',
  'error.too-large': '서버가 받기에는 너무 커요.',
  'error.malformed': '서버가 페이지가 보낸 내용을 읽지 못했어요.',
  'error.rate-limited': '요청이 너무 빨라요.',
  'error.storage-full': '캠프 저장 공간이 가득 차서 아무것도 저장하거나 전달하지 못했어요.',
  'error.shutting-down': '서버가 종료되는 중이에요.',
  'error.too-many-connections': '서버가 받을 수 있는 연결이 가득 찼어요.',
  'error.unavailable': ({ seconds }) =>
    '노드 하나가 끊겨서 캠프가 새 리더를 뽑느라 제때 답하지 못했어요' + (seconds ? `. ${seconds}초 뒤에 다시 해 보세요.` : '.'),
  'error.internal': '서버 안에서 문제가 생겼어요. 요청이 반영되지 않았을 수도 있어요.',
  'error.forbidden': '캠프 스태프만 할 수 있어요.',
  'error.muted': ({ until }) => (until ? `스태프가 ${until}까지 메시지를 막았어요. 그때까지는 메시지와 다이렉트가 아무에게도 가지 않아요.` : '스태프가 메시지를 막았어요. 지금은 메시지와 다이렉트가 아무에게도 가지 않아요.'),
  'error.bad-minutes': '메시지 차단은 0분에서 1440분 사이의 정수로만 정할 수 있어요.',
  'error.no-message': '그룹에 그런 메시지가 없어요.',

  'hint.not-checked-in': '페이지가 알아서 다시 체크인해요.',
  'hint.camp-id-in-use': '내 campId가 맞는지 확인해 주세요. 맞다면 몇 초 기다렸다가 다시 체크인해 보세요.',
  'hint.already-checked-in': '다른 campId를 쓰려면 먼저 ‘체크아웃’을 눌러 주세요.',
  'hint.limit-reached.host': '‘세션 마치기’를 눌러 세션을 끝내면 누구나 새 세션을 시작할 수 있어요.',
  'hint.limit-reached': '호스트가 ‘세션 마치기’로 끝내면 누구나 새 세션을 시작할 수 있어요.',
  'hint.no-session': '‘세션 시작’으로 세션을 먼저 시작해 주세요.',
  'hint.no-session.complete': '마칠 세션이 없어요.',
  'hint.session-active': '그룹에 메시지를 보내서 함께해 보세요. 세션은 호스트가 ‘세션 마치기’로 끝내요.',
  'hint.not-host': '세션은 호스트가 마치거나 나가면 끝나요.',
  'hint.not-checked-in-target': '다이렉트는 체크인한 캠퍼에게만 가요. 상대가 체크인하면 다시 보내 보세요.',
  'hint.bad-day': '4처럼 일차를 숫자로 적어 주세요.',
  'hint.bad-max-count': '‘메시지 수’에 2처럼 숫자를 적어 주세요.',
  'hint.bad-history': '페이지를 새로 고쳐 보세요. 계속 그러면 캠프 운영진에게 알려 주세요.',
  'hint.no-mission': '다른 일차를 찾아보세요. 예: 4',
  'hint.bad-token': '‘토큰을 받았어요’를 열고 토큰을 붙여 넣어 주세요. 토큰은 캠프 운영진이 나눠 줘요.',
  'hint.rate-limited': '잠시 기다렸다가 다시 해 보세요.',
  'hint.shutting-down': '서버가 다시 켜지면 페이지가 다시 연결해요.',
  'hint.too-many-connections': '서버가 가득 찼어요. 페이지가 알아서 다시 시도해요.',
  'hint.unavailable': '잠시 기다렸다가 다시 해 보세요.',
  'hint.storage-full': '캠프 운영진에게 알려 주세요.',
  'hint.internal': '다시 해 보세요. 계속 안 되면 캠프 운영진에게 알려 주세요.',
  'action.startSession': '‘세션 시작’으로 가기',

  'feed.earlier': '이전',
  'feed.now': '지금',
  'feed.checkin': ({ group, members }) => `${group}번 그룹에 체크인했어요 (멤버: ${list(members)})`,
  'feed.peersession': ({ maxCount }) => `세션을 시작했어요 (메시지 ${maxCount}개)`,
  'feed.complete': ({ messages }) => `세션을 마쳤어요 (${countMessages(ko, messages)})`,
  'feed.sent': ({ seq, remaining, delivered }) => `보냈어요 (${seq}번째, ${remaining}개 남음, ${delivered}명에게 전달)`,
  'feed.directSent': '다이렉트를 보냈어요',
  'feed.checkout': ({ active }) => `체크아웃했어요 (연결 끊음), 활동 시간 ${active}`,
  'feed.youToGroup': ({ group }) => `나 → ${group}번 그룹`,
  'feed.youTo': ({ to }) => `나 → ${to}`,
  'feed.messageFrom': ({ from }) => `${from} 님의 메시지`,
  'feed.messageMeta': ({ seq, remaining }) => `${seq}번째, ${remaining}개 남음`,
  'feed.directFrom': ({ from }) => `${from} 님의 다이렉트`,
  'feed.directFromTo': ({ from, to }) => `${from} → ${to} 다이렉트`,
  'event.join': ({ campId, group, members }) => `${campId} 님이 ${group}번 그룹에 들어왔어요 (멤버: ${list(members)})`,
  'event.checkout': ({ campId, group, lost, kicked }) => `${campId} 님이 ${group}번 그룹에서 나갔어요` + (lost ? ' (연결 끊김)' : '') + (kicked ? ' (스태프가 내보냄)' : ''),
  'event.announcement': ({ from, text }) => `스태프 ${from} 님의 공지: "${text}"`,
  'event.muted': ({ by, until }) => `스태프 ${by} 님이 ${until}까지 메시지를 막았어요. 그때까지는 메시지와 다이렉트가 아무에게도 가지 않아요`,
  'event.unmuted': ({ by }) => `스태프 ${by} 님이 메시지 차단을 풀었어요`,
  'event.kicked': ({ by, reason }) => `스태프 ${by} 님이 체크아웃시켰어요` + (reason ? `: "${reason}"` : ''),
  'event.redacted': ({ by, offset, group }) => `스태프 ${by} 님이 ${group}번 그룹의 메시지(${offset}번)를 가렸어요`,
  'feed.redactedText': ({ by }) => `(스태프 ${by} 님이 가린 메시지예요)`,
  'event.peersession': ({ host, maxCount }) => `${host} 님이 세션을 시작했어요 (메시지 ${maxCount}개)`,
  'event.message': ({ from, text }) => `${from} 님의 메시지: "${text}"`,
  'event.complete': ({ host, messages }) => `${host} 님이 세션을 마쳤어요 (${countMessages(ko, messages)})`,
  'event.complete.hostLeft': ({ host, messages }) => `호스트 ${host} 님이 나가서 세션이 끝났어요 (${countMessages(ko, messages)})`,
  'event.direct': ({ from, text }) => `${from} 님의 다이렉트: "${text}"`,
  'event.directTo': ({ from, to, text }) => `${from} → ${to} 다이렉트: "${text}"`,
  'event.other': ({ type, body }) => `${type} 이벤트 ${body}`,
  'event.shutdown': '서버가 종료되고 있어요',
  'event.shutdownWhy': ({ reason }) => `서버가 종료되고 있어요: ${reason}`,
  'event.shutdownBack': ({ line }) => `${line}. 서버가 돌아오면 다시 연결해요`,
  'feed.lost': ({ why, campId }) => `연결이 끊겼어요: ${why}. ${josa.ro(campId)} 다시 연결하는 중…`,
  'feed.stillHeld': ({ campId }) => `캠프가 끊긴 연결의 ${josa.eul(campId)} 아직 붙잡고 있어요. 풀리면 다시 체크인할게요`,
  'feed.reconnected': ({ away }) => `${away} 만에 다시 연결됐어요`,
  'feed.reconnectedTo': ({ node, away }) => `${away} 만에 다른 노드 ${node}에 다시 연결됐어요`,
  'feed.noEarlier': '이전 기록이 없어요',
  'feed.restartedEmpty': '캠프 기록이 새로 시작됐어요. 새 기록에는 아직 아무것도 없어요',
  'feed.restartedLatest': ({ n }) => `캠프 기록이 새로 시작됐어요. 새 기록의 최근 ${n}개`,
  'feed.missed': ({ n }) => `연결이 끊긴 동안 놓친 기록 ${n}개`,
  'feed.earlierN': ({ n }) => `이전 기록: 최근 ${n}개`,
  'feed.trimmed': '더는 보관되지 않아 보여 줄 수 없는 기록이 있어요',
  'feed.restarted': '자리를 비운 동안 캠프 기록이 새로 시작됐어요. 그 전 기록은 사라졌어요',

  'close.1000': '서버가 연결을 닫았어요',
  'close.1001': '서버가 재시작하거나 종료되고 있어요',
  'close.1003': '서버는 텍스트 메시지만 받는데 페이지가 다른 것을 보냈어요',
  'close.1006': '서버가 꺼졌거나, 닿지 않거나, 이 페이지를 거부했어요',
  'close.1007': '서버가 이 페이지의 메시지를 읽지 못했어요',
  'close.1008': '서버가 정책에 따라 연결을 거부했어요',
  'close.1009': '이 페이지의 메시지가 서버가 받기에 너무 컸어요 (최대 4096바이트)',
  'close.1011': '서버 안에서 오류가 났어요',
  'close.4000': '서버가 응답하지 않아요',
  'close.other': ({ code }) => `연결이 닫혔어요 (코드 ${code})`,
  'close.said': ({ reason }) => ` (“${reason}”)`,
  'close.unreachable': '서버에 연결할 수 없어요',
  'close.notConnected': '연결되지 않았어요',
  'close.heldFor': ({ campId }) => `캠프가 끊긴 연결의 ${josa.eul(campId)} 아직 붙잡고 있어요 (끊기고 몇 초 뒤에 풀려요)`,
  'close.checkinFailed': ({ sentence }) => `체크인하지 못했어요: ${sentence}`,

  'count.messages': ({ n }) => `메시지 ${n}개`,
  'time.hms': ({ h, m, s }) => `${h}시간 ${m}분 ${s}초`,
  'time.ms': ({ m, s }) => `${m}분 ${s}초`,
  'time.s': ({ s }) => `${s}초`,
  'wait.seconds': ({ s }) => `${s}초`,

  // 스태프 페이지 (staff.html).
  'foot.staff': '스태프 페이지',
  'staff.skip': '현황판으로 건너뛰기',
  'staff.brand': '스태프',
  'staff.toCamper': '캠퍼 페이지',
  'staff.signOut': '로그아웃',
  'staff.who': ({ name, until }) => `스태프 ${name} 님으로 로그인했어요` + (until ? ` (토큰은 ${until}까지)` : ''),
  'staff.signIn.title': '스태프 로그인',
  'staff.signIn.token': '스태프 토큰',
  'staff.signIn.button': '로그인',
  'staff.signIn.note': '“campbus token --staff 이름”으로 받은 토큰을 붙여 넣어 주세요. 페이지는 열려 있는 동안만 토큰을 기억해요.',
  'staff.signIn.signing': '로그인하는 중…',
  'staff.signIn.empty': '먼저 스태프 토큰을 붙여 넣어 주세요.',
  'staff.signedOut': '로그아웃했어요. 페이지는 토큰을 잊었어요.',
  'staff.expired': '서버가 더 이상 토큰을 받지 않아요(만료됐어요). 새 토큰으로 다시 로그인해 주세요.',
  'staff.notSignedIn': '보내지 못했어요. 로그인하지 않았어요. 연결이 끊기면 페이지가 알아서 다시 로그인해요.',
  'staff.campId': 'campId',
  'staff.announce.title': '공지',
  'staff.announce.text': '모든 캠퍼에게 보낼 공지',
  'staff.announce.button': '공지하기',
  'staff.announce.empty': '먼저 공지 내용을 적어 주세요.',
  'staff.announce.done': ({ reached, groups }) => `공지했어요. ${groups}개 그룹의 캠퍼 ${reached}명에게 갔어요.`,
  'staff.mute.title': '메시지 차단',
  'staff.mute.minutes': '분',
  'staff.mute.button': '차단하기',
  'staff.mute.note': '차단된 캠퍼의 메시지와 다이렉트는 아무에게도 가지 않아요. 0분이면 차단을 풀어요.',
  'staff.mute.done': ({ campId, until }) => `${campId} 님의 메시지를 ${until}까지 막았어요.`,
  'staff.mute.lifted': ({ campId }) => `${campId} 님의 메시지 차단을 풀었어요.`,
  'staff.kick.title': '내보내기',
  'staff.kick.reason': '이유 (선택)',
  'staff.kick.button': '내보내기…',
  'staff.kick.yes': '네, 내보낼게요',
  'staff.kick.no': '취소',
  'staff.kick.noCampId': '내보낼 캠퍼의 campId를 적어 주세요.',
  'staff.kick.ask': ({ campId }) => `${campId} 님을 체크아웃시키고 연결을 끊을까요?`,
  'staff.kick.askWhy': ({ campId, reason }) => `${campId} 님에게 “${reason}”라고 알리고 체크아웃시킨 뒤 연결을 끊을까요?`,
  'staff.kick.done': ({ campId, group }) => `${campId} 님을 ${group}번 그룹에서 체크아웃시켰어요.`,
  'staff.board.title': '현황판',
  'staff.board.summary': ({ checkedIn, groups, mutedCount, at }) =>
    `${groups}개 그룹에 ${checkedIn}명 체크인, 차단 ${mutedCount}명. ${at}에 읽었어요.`,
  'staff.board.empty': '체크인한 사람이 없어요.',
  'staff.board.members': ({ n }) => `멤버 ${n}명`,
  'staff.board.session': ({ host, messages, maxCount }) => `${host} 님이 연 세션: 메시지 ${messages}/${maxCount}`,
  'staff.board.noSession': '세션 없음',
  'staff.board.host': '호스트',
  'staff.board.muted': '차단됨',
  'staff.board.mutedUntil': ({ until, by }) => `${until}까지 차단` + (by ? ` (${by})` : ''),
  'staff.board.mutedAway': '차단됐지만 체크인하지 않은 캠퍼',
  'staff.board.mute': '차단…',
  'staff.board.muteOf': ({ campId }) => `${campId} 님 차단…`,
  'staff.board.lift': '차단 풀기…',
  'staff.board.liftOf': ({ campId }) => `${campId} 님 차단 풀기…`,
  'staff.board.kick': '내보내기…',
  'staff.board.kickOf': ({ campId }) => `${campId} 님 내보내기…`,
  'staff.error.staff.bad-token': '이 캠프의 스태프 토큰이 아니에요. 캠퍼의 토큰이거나, 틀렸거나, 만료됐어요.',
  'staff.error.staff.forbidden': '이 캠프는 비밀키 없이 운영 중이라 스태프 로그인이 없어요.',
  'staff.error.forbidden': '서버가 더 이상 스태프 로그인을 받지 않아요(토큰이 만료됐어요).',
  'staff.error.not-checked-in-target': ({ id }) => (id ? `${id} 님은 지금 체크인하지 않았어요.` : '그 캠퍼는 지금 체크인하지 않았어요.'),
  'staff.error.kick.bad-request': '서버가 내보내기를 거절했어요. 이유는 200자까지 적을 수 있어요.',
  'staff.error.announce.bad-request': '서버가 공지를 거절했어요. 공지 내용이 있어야 해요.',
  'staff.hint.staff.bad-token': '“campbus token --staff 이름”으로 만들어 주세요. 캠퍼 토큰으로는 여기서 로그인할 수 없어요.',
  'staff.hint.staff.forbidden': '스태프를 두려면 캠프를 비밀키(--auth-secret)와 함께 실행해 주세요.',
  'staff.hint.forbidden': '새 스태프 토큰으로 다시 로그인해 주세요.',
  'staff.hint.bad-camp-id': '현황판에 보이는 대로 campId를 적어 주세요. 예: J004',
  'staff.hint.bad-minutes': '‘분’에 10 같은 숫자를 적어 주세요. 0이면 차단을 풀어요.',
  'staff.hint.kick.not-checked-in-target': '체크인한 캠퍼만 내보낼 수 있어요. 메시지 차단은 체크인하지 않아도 돼요.',
  'staff.hint.unavailable': '잠시 기다렸다가 다시 해 보세요.',
  'failed.staff': '로그인하지 못했어요',
  'failed.board': '현황판을 읽지 못했어요',
  'failed.announce': '공지하지 못했어요',
  'failed.mute': '차단하지 못했어요',
  'failed.kick': '내보내지 못했어요',
};

/** The tables by language tag, and the languages in the order the switch shows them. */
export const tables = Object.freeze({ ko, en });
export const LANGS = Object.freeze(['ko', 'en']);

/**
 * The error codes the page has words for: PROTOCOL §3, with §11's
 * unavailable and epoch-changed.
 */
export const ERROR_CODES = Object.freeze(
  Object.keys(en)
    .filter((k) => k.startsWith('error.'))
    .map((k) => k.slice('error.'.length)),
);

/**
 * pickLang chooses the language: the one stored (the switch's choice) if it
 * is one of ours, else Korean when the browser's first language is Korean
 * (navigator.languages mirrors Accept-Language), else English.
 */
export function pickLang(stored, browserLangs) {
  if (LANGS.includes(stored)) return stored;
  const first = Array.isArray(browserLangs) && browserLangs.length > 0 ? String(browserLangs[0]) : '';
  return /^ko(-|_|$)/i.test(first) ? 'ko' : 'en';
}

let current = 'en';

/** lang is the language shown. */
export function lang() {
  return current;
}

/** setLang makes l the language of t; an unknown one leaves it as it was. */
export function setLang(l) {
  if (LANGS.includes(l)) current = l;
  return current;
}

/** t returns the words for key in the language shown (or in l). */
export function t(key, params = {}, l = current) {
  const table = tables[l] ?? en;
  const v = key in table ? table[key] : en[key];
  if (v === undefined) return key;
  return typeof v === 'function' ? v(params) : v;
}

/**
 * errorSentence is the page's sentence for an error code; for a code it
 * does not know, the server's own sentence. params fill in what the
 * sentence names (the campId, the day, the range, the seconds to wait).
 */
export function errorSentence(code, serverSentence, params = {}, l = current) {
  const table = tables[l] ?? en;
  if (typeof code === 'string' && code !== '' && ('error.' + code) in table) return t('error.' + code, params, l);
  return String(serverSentence ?? '');
}

/** campRange finds the range a bad-camp-id sentence names ("camp ids run from J001-J384"), or ''. */
export function campRange(sentence) {
  const m = /\b([A-Z]+[0-9]+)\s*[-–]\s*([A-Z]+[0-9]+)\b/.exec(String(sentence ?? ''));
  return m ? `${m[1]}–${m[2]}` : '';
}

function countMessages(table, n) {
  return table['count.messages']({ n });
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
