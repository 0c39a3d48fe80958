// The join page's script (served as /join-assets/join.js, bundled by `make` with esbuild).
// It gets the meeting from POST <this page's URL> (the same answer as POST /bookings/{id}/join),
// previews the camera and microphone, joins with amazon-chime-sdk-js, and offers mute, camera
// and leave. Its state is on <body data-state="...">, which tests read:
//   loading → preview → joining → joined → left
//   or no-permission | no-devices | cannot-connect | refused; not-yet (before the window) | chat.
// `?join=1` on the link joins right after the preview (no click).
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
  MeetingSessionStatusCode,
} from 'amazon-chime-sdk-js';

const CONNECT_TIMEOUT_MS = 20000;
const body = document.body;
const $ = (id) => document.getElementById(id);
let session = null;
let leaving = false;
let connectTimer = null;

function setState(state, text) {
  body.dataset.state = state;
  body.dataset.states = ((body.dataset.states || '') + ' ' + state).trim();
  if (text !== undefined && $('status')) $('status').textContent = text;
}

function show(id, visible) {
  const el = $(id);
  if (el) el.hidden = !visible;
}

async function askToJoin() {
  const response = await fetch(window.location.href, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: '{}',
    credentials: 'omit',
    cache: 'no-store',
  });
  let answer = null;
  try {
    answer = await response.json();
  } catch (e) {
    answer = null;
  }
  if (!response.ok) {
    const error = (answer && answer.error) || {};
    const problem = new Error(error.message || 'Haven could not open this session.');
    problem.code = error.code || 'http_' + response.status;
    problem.details = error.details || {};
    throw problem;
  }
  return answer;
}

function isStandIn(meeting) {
  const placement = (meeting && (meeting.MediaPlacement || meeting.mediaPlacement)) || {};
  return Object.values(placement).some((url) => typeof url === 'string' && /\.invalid(\/|:|$)/.test(url));
}

function cannotConnect(meeting, detail) {
  clearTimeout(connectTimer);
  show('join-button', false);
  show('mute-button', false);
  show('camera-button', false);
  show('leave-button', false);
  show('retry-button', true);
  if (isStandIn(meeting)) {
    setState('cannot-connect', 'Media cannot connect locally: this stack\'s meetings are a stand-in with no ' +
      'media server (amazon-chime-sdk-js reached its join step with the stand-in meeting ' +
      (meeting.MeetingId || '') + '). On a deployed stack the session opens here.');
  } else {
    setState('cannot-connect', 'The meeting cannot connect' + (detail ? ' (' + detail + ')' : '') +
      '. Check your internet connection (and that no firewall blocks video calls), then try again.');
  }
  if (session) {
    try { session.audioVideo.stop(); } catch (e) { /* already stopped */ }
  }
}

async function preview(meeting, attendee, video) {
  // Ask for the devices first, so a refusal is told plainly before anything else.
  let probe;
  try {
    probe = await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (error) {
    const name = (error && error.name) || '';
    if (name === 'NotFoundError' || name === 'OverconstrainedError') {
      setState('no-devices', video
        ? 'No camera or microphone was found. Connect one and reload this page.'
        : 'No microphone was found. Connect one and reload this page.');
    } else {
      setState('no-permission', 'Your browser did not allow this page to use the ' +
        (video ? 'camera and microphone' : 'microphone') + '. Allow them for this site (the icon in the ' +
        'address bar), then reload this page.');
    }
    show('retry-button', true);
    return false;
  }
  probe.getTracks().forEach((t) => t.stop());

  const logger = new ConsoleLogger('haven-join', LogLevel.WARN);
  const devices = new DefaultDeviceController(logger);
  const configuration = new MeetingSessionConfiguration(meeting, attendee);
  session = new DefaultMeetingSession(configuration, logger, devices);
  const av = session.audioVideo;
  const mics = await av.listAudioInputDevices();
  if (!mics.length) {
    setState('no-devices', 'No microphone was found. Connect one and reload this page.');
    return false;
  }
  await av.startAudioInput(mics[0].deviceId);
  if (video) {
    const cameras = await av.listVideoInputDevices();
    if (cameras.length) {
      await av.startVideoInput(cameras[0].deviceId);
      av.startVideoPreviewForVideoInput($('local-video'));
    }
  }
  return true;
}

function observe(meeting, video) {
  const av = session.audioVideo;
  av.addObserver({
    audioVideoDidStartConnecting: () => setState('joining', 'Connecting to the meeting…'),
    audioVideoDidStart: () => {
      clearTimeout(connectTimer);
      setState('joined', 'You are in the session.');
      show('join-button', false);
      show('mute-button', true);
      show('camera-button', video);
      show('leave-button', true);
      if (video) av.startLocalVideoTile();
    },
    audioVideoDidStop: (status) => {
      clearTimeout(connectTimer);
      if (leaving) {
        setState('left', 'You left the session. You can join again with the same link until the session ends.');
        show('join-button', true);
        show('mute-button', false);
        show('camera-button', false);
        show('leave-button', false);
        return;
      }
      const code = status && status.statusCode ? status.statusCode() : null;
      if (code === MeetingSessionStatusCode.MeetingEnded) {
        setState('ended', 'The meeting has ended.');
        return;
      }
      cannotConnect(meeting, code !== null ? MeetingSessionStatusCode[code] : undefined);
    },
    videoTileDidUpdate: (tile) => {
      if (!tile.boundAttendeeId || !tile.tileId) return;
      const element = tile.localTile ? $('local-video') : $('remote-video');
      if (element) av.bindVideoElement(tile.tileId, element);
    },
  });
}

async function join(meeting, video) {
  leaving = false;
  show('join-button', false);
  show('retry-button', false);
  setState('joining', 'Connecting to the meeting…');
  body.dataset.meetingId = meeting.MeetingId || '';
  connectTimer = setTimeout(() => cannotConnect(meeting, 'no answer from the media servers'), CONNECT_TIMEOUT_MS);
  try {
    await session.audioVideo.bindAudioElement($('meeting-audio'));
    session.audioVideo.start();
  } catch (error) {
    cannotConnect(meeting, error && error.message);
  }
}

function wireButtons(meeting, video) {
  const av = session.audioVideo;
  $('join-button').onclick = () => join(meeting, video);
  $('mute-button').onclick = () => {
    if (av.realtimeIsLocalAudioMuted()) {
      av.realtimeUnmuteLocalAudio();
      $('mute-button').textContent = 'Mute';
      body.dataset.muted = 'false';
    } else {
      av.realtimeMuteLocalAudio();
      $('mute-button').textContent = 'Unmute';
      body.dataset.muted = 'true';
    }
  };
  $('camera-button').onclick = () => {
    if (av.hasStartedLocalVideoTile()) {
      av.stopLocalVideoTile();
      $('camera-button').textContent = 'Turn camera on';
    } else {
      av.startLocalVideoTile();
      $('camera-button').textContent = 'Turn camera off';
    }
  };
  $('leave-button').onclick = () => {
    leaving = true;
    av.stop();
  };
}

async function meetingPage() {
  const video = body.dataset.modality === 'video';
  if (!video) {
    const remote = $('remote-video');
    if (remote) remote.parentElement.hidden = true;
    const local = $('local-video');
    if (local) local.parentElement.hidden = true;
  }
  $('retry-button').onclick = () => window.location.reload();
  let answer;
  try {
    answer = await askToJoin();
  } catch (error) {
    setState('refused', error.message);
    show('retry-button', error.code !== 'not_found');
    return;
  }
  if (!answer.meeting || !answer.attendee) {
    setState('refused', 'Haven could not start a meeting for this session right now. Try again in a minute.');
    show('retry-button', true);
    return;
  }
  const { meeting, attendee } = answer;
  body.dataset.meetingId = meeting.MeetingId || '';
  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
    setState('no-permission', 'This browser cannot use a camera or microphone on this page (it needs a recent ' +
      'browser and a secure https connection).');
    return;
  }
  if (!(await preview(meeting, attendee, video))) return;
  observe(meeting, video);
  wireButtons(meeting, video);
  setState('preview', video
    ? 'Check your camera and microphone, then join when you are ready.'
    : 'Check your microphone, then join when you are ready.');
  show('join-button', true);
  if (new URLSearchParams(window.location.search).get('join') === '1') join(meeting, video);
}

async function chatPage() {
  try {
    await askToJoin(); // records the join, as POST /bookings/{id}/join does
    setState('chat');
  } catch (error) {
    setState('refused', error.message);
  }
}

function notYetPage() {
  const opens = Date.parse(body.dataset.opensAt || '');
  if (!Number.isFinite(opens)) return;
  const wait = opens - Date.now() + 1000;
  if (wait < 24 * 3600 * 1000) setTimeout(() => window.location.reload(), Math.max(wait, 1000));
}

function start() {
  const state = body.dataset.state;
  const run = state === 'loading' ? meetingPage : state === 'chat' ? chatPage : state === 'not-yet' ? notYetPage : null;
  if (!run) return;
  Promise.resolve(run()).catch((error) => {
    setState('page-error', 'Something went wrong on this page: ' + ((error && error.message) || error) +
      '. Reload the page to try again.');
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
