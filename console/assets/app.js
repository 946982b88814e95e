// Liaison console: the facilitator's and the players' pages. Served by the
// run itself; no libraries, nothing fetched from elsewhere. The page reads
// its token from the link (then keeps it in this tab's session storage and
// takes it out of the address bar, so that a projected page does not show
// it), asks the API who it is, and follows the run over server-sent events.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);

  // h builds an element: h('td', {class: 'num'}, 'text', child, ...).
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, v);
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  function text(el, s) { if (el.textContent !== s) el.textContent = s; }
  function cls(el, c) { if (el.className !== c) el.className = c; }
  // fill replaces an element's children when what they show has changed.
  function fill(el, key, ...kids) {
    if (el.dataset.shown === key) return;
    el.dataset.shown = key;
    el.replaceChildren(...kids.filter((k) => k !== null && k !== undefined));
  }

  // ---- token and session ----
  const params = new URLSearchParams(location.search);
  let token = params.get('token') || sessionStorage.getItem('liaison-token') || '';
  if (params.has('token')) {
    sessionStorage.setItem('liaison-token', token);
    history.replaceState(null, '', location.pathname + location.hash);
  }

  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: 'Bearer ' + token } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (e) {
      throw new Error('the console cannot reach the run (' + e.message + ')');
    }
    let j = null;
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) throw new Error((j && j.error) || ('HTTP ' + r.status));
    return j;
  }

  // ---- time ----
  const S = { view: null, role: null, clock: null, clockAt: 0, fmt: null, fmtShort: null, start: 0 };

  function setScenario(sc) {
    S.start = Date.parse(sc.start);
    const zone = sc.timezone || 'UTC';
    try {
      S.fmt = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: '2-digit', month: 'short',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
      S.fmtShort = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', hour: '2-digit',
        minute: '2-digit', hourCycle: 'h23' });
    } catch (e) {
      S.fmt = S.fmtShort = null;
    }
  }
  function cal(sec, long) {
    if (isNaN(S.start)) return rel(sec);
    const d = new Date(S.start + sec * 1000);
    const f = long ? S.fmt : S.fmtShort;
    return f ? f.format(d).replace(',', '') : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }
  function pad(n) { return String(n).padStart(2, '0'); }
  // rel formats simulated seconds since the start: +2h30m, +1d02h05m, +45s.
  function rel(sec) {
    const s = Math.floor(Math.abs(sec));
    const d = Math.floor(s / 86400), hh = Math.floor(s / 3600) % 24, mm = Math.floor(s / 60) % 60, ss = s % 60;
    let out = (sec < 0 ? '-' : '+');
    if (d) out += d + 'd' + pad(hh) + 'h' + pad(mm) + 'm';
    else if (hh) out += hh + 'h' + pad(mm) + 'm';
    else if (mm) out += mm + 'm' + (ss ? pad(ss) + 's' : '');
    else out += ss + 's';
    return out;
  }
  function when(sec) { return cal(sec) + ' (' + rel(sec) + ')'; }
  function dur(sec) { return rel(sec).slice(1); }

  function setClock(c) { S.clock = c; S.clockAt = performance.now(); drawClock(); }
  function nowSec() {
    const c = S.clock;
    if (!c) return 0;
    let t = c.seconds;
    if (!c.paused && !c.ended && c.speed > 0) {
      // Between updates, run on at the run's pace (at most two seconds ahead).
      t += Math.min((performance.now() - S.clockAt) / 1000, 2) * c.speed;
      const d = S.view && S.view.scenario.duration_seconds;
      if (d) t = Math.min(t, d);
    }
    return t;
  }
  function drawClock() {
    const c = S.clock;
    if (!c) return;
    const t = nowSec();
    text($('clock'), cal(t, true));
    const s = Math.floor(t);
    text($('elapsed'), 'T' + rel(t).replace('+', '+ ') + (c.speed ? ' · ×' + c.speed : '') +
      ' (' + pad(Math.floor(s / 3600)) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60) + ')');
    const rs = $('runstate');
    if (c.ended) {
      text(rs, 'Run ended: ' + (c.outcome || 'over'));
      cls(rs, 'runstate ended');
    } else if (c.paused) {
      text(rs, 'PAUSED');
      cls(rs, 'runstate paused');
    } else {
      text(rs, 'Running');
      cls(rs, 'runstate');
    }
  }
  setInterval(drawClock, 250);

  // Keep what has focus clear of the sticky header: scrolling stops below it.
  function padScroll() {
    const bar = document.querySelector('.bar');
    if (bar) document.documentElement.style.scrollPaddingTop = (bar.offsetHeight + 16) + 'px';
  }
  window.addEventListener('resize', padScroll);

  // ---- results of actions ----
  function announce(msg) {
    const a = $('announce');
    a.textContent = '';
    setTimeout(() => { a.textContent = msg; }, 50);
  }
  // run performs an action and shows its outcome in out (and to screen
  // readers): accepted at a simulated time, or refused and why.
  async function run(out, button, method, path, body) {
    if (button) button.disabled = true;
    text(out, 'Sending…');
    cls(out, 'result');
    try {
      const r = await api(method, path, body);
      const msg = 'Accepted: ' + r.what.replace(/ at \+.*$/, '') + ', at ' + when(r.seconds) + '.';
      text(out, msg);
      cls(out, 'result ok');
      announce(msg);
      return r;
    } catch (e) {
      const msg = 'Refused: ' + e.message;
      text(out, msg);
      cls(out, 'result err');
      announce(msg);
      return null;
    } finally {
      if (button) button.disabled = false;
      if (S.view) render(S.view);
    }
  }

  function tlp(t) {
    if (!t) return null;
    return h('span', { class: 'tlp tlp-' + t.replace(/[^A-Z]/g, '') }, 'TLP:' + t);
  }

  // keyed keeps a container's children in step with a list, reusing the
  // element of each key so that focus and what is typed stay put.
  function keyed(parent, list, key, make, update) {
    const old = new Map();
    for (const el of Array.from(parent.children)) old.set(el.dataset.key, el);
    let prev = null;
    for (const it of list) {
      const k = key(it);
      let el = old.get(k);
      if (el) old.delete(k);
      else { el = make(it); el.dataset.key = k; }
      update(el, it);
      const want = prev ? prev.nextElementSibling : parent.firstElementChild;
      if (want !== el) parent.insertBefore(el, want);
      prev = el;
    }
    for (const el of old.values()) {
      const hadFocus = el.contains(document.activeElement);
      el.remove();
      if (hadFocus) {
        const to = parent.querySelector('[tabindex="-1"]') || parent.closest('section').querySelector('h2');
        if (to) to.focus();
      }
    }
  }

  function section(id, title, ...kids) {
    return h('section', { 'aria-labelledby': id + '-h', id },
      h('h2', { id: id + '-h', tabindex: '-1' }, title), ...kids);
  }
  function table(caption, heads, tbodyId) {
    return h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, ...heads.map((x) => h('th', { scope: 'col', class: x.endsWith('#') ? 'num' : '' }, x.replace(/#$/, ''))))),
      h('tbody', { id: tbodyId }));
  }
  const empty = (msg) => h('p', { class: 'empty' }, msg);

  // ================= facilitator =================
  function buildFacilitator() {
    const pause = h('button', { id: 'pause', type: 'button', class: 'primary',
      onclick: () => run($('pause-result'), pause, 'POST', S.clock && S.clock.paused ? '/api/resume' : '/api/pause', {}) }, 'Pause');
    $('clockctl').replaceChildren(pause, h('p', { id: 'pause-result', class: 'result', role: 'status' }));

    const objSel = h('select', { id: 'note-objective' });
    const agSel = h('select', { id: 'note-agency' });
    const noteText = h('textarea', { id: 'note-text', maxlength: '2000', required: true });
    const noteBtn = h('button', { type: 'submit', class: 'primary', id: 'note-add' }, 'Add note');
    const noteForm = h('form', { id: 'note-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await run($('note-result'), noteBtn, 'POST', '/api/notes',
        { text: noteText.value, objective: objSel.value, agency: agSel.value });
      if (r) noteText.value = '';
    } },
      h('p', {}, h('label', { for: 'note-text' }, 'Note'), h('br'), noteText),
      h('div', { class: 'row' },
        h('label', { for: 'note-objective' }, 'Objective'), objSel,
        h('label', { for: 'note-agency' }, 'Agency'), agSel, noteBtn),
      h('p', { id: 'note-result', class: 'result', role: 'status' }));

    $('main').replaceChildren(
      section('msel', 'Master Scenario Events List',
        h('p', { class: 'muted' }, 'Each inject with its status, and its reach: audience members who know it, against its deadline.'),
        table('Injects, their status, reach and actions',
          ['Inject', 'When', 'To', 'Type', 'Status', 'Reach', 'Actions'], 'msel-body')),
      section('knowledge', 'Who knows what, since when',
        h('div', { class: 'scroll', role: 'region', 'aria-label': 'Who knows what', tabindex: '0' },
          h('table', { id: 'know-table' }))),
      section('agencies', 'Agencies',
        table('Agencies: seat, staff, queue, decisions',
          ['Agency', 'Seat', 'Staff', 'Queue#', 'Knows#', 'Decisions'], 'agency-body')),
      section('channels', 'Channels',
        table('Channels and whether they are up', ['Channel', 'Topology', 'State', 'Action'], 'channel-body')),
      h('div', { class: 'cols' },
        section('notes', 'Evaluator notes', noteForm,
          table('Evaluator notes, newest first', ['Time', 'Objective', 'Agency', 'Note'], 'note-body')),
        section('actions', 'Live actions', h('ol', { id: 'action-list', reversed: true }))));
  }

  function injectActions(td, it) {
    const id = it.id;
    const out = h('p', { class: 'result', role: 'status' });
    const mins = h('input', { type: 'number', min: '1', step: '1', value: '30', id: 'postpone-min-' + id,
      class: 'postpone-min' });
    const skip = h('button', { type: 'button', class: 'skip', 'aria-label': 'Skip ' + id,
      onclick: () => run(out, skip, 'POST', '/api/injects/' + encodeURIComponent(id) + '/skip', {}) }, 'Skip');
    const post = h('button', { type: 'button', class: 'postpone', 'aria-label': 'Postpone ' + id,
      onclick: () => run(out, post, 'POST', '/api/injects/' + encodeURIComponent(id) + '/postpone',
        { by_seconds: Math.round(Number(mins.value) * 60) }) }, 'Postpone');
    const fire = h('button', { type: 'button', class: 'fire primary', 'aria-label': 'Fire ' + id + ' now',
      onclick: () => run(out, fire, 'POST', '/api/injects/' + encodeURIComponent(id) + '/fire', {}) }, 'Fire now');
    const sched = h('div', { class: 'row sched' }, skip,
      h('label', { for: 'postpone-min-' + id }, 'by'), mins, h('span', {}, 'min'), post);
    td.append(sched, h('div', { class: 'row cont' }, fire), out);
  }

  // bar draws a share as a bar (sized through the DOM: the content
  // security policy allows no style attributes).
  function bar(pct) {
    const inner = h('div', { class: 'bar-inner' });
    inner.style.width = pct + '%';
    return h('div', { class: 'bar-outer', role: 'img', 'aria-label': pct + '% of the audience' }, inner);
  }

  function renderFacilitator(v) {
    const pause = $('pause');
    text(pause, v.clock.paused ? 'Resume' : 'Pause');
    pause.disabled = v.clock.ended;

    keyed($('msel-body'), v.injects, (it) => it.id, (it) => {
      const tr = h('tr', { 'data-inject': it.id });
      for (let i = 0; i < 7; i++) tr.append(h('td'));
      const c = tr.children;
      c[0].append(h('strong', {}, it.id), h('details', {}, h('summary', {}, 'Details'), h('div', { class: 'det' })));
      c[5].className = 'reach';
      injectActions(c[6], it);
      return tr;
    }, (tr, it) => {
      const c = tr.children;
      cls(tr, it.status === 'skipped' ? 'skipped' : '');
      fill(c[0].querySelector('.det'), JSON.stringify([it.summary, it.knowers, it.expected, it.objective]),
        h('p', {}, it.summary),
        it.from ? h('p', { class: 'small' }, 'From: ' + it.from) : null,
        it.expected ? h('p', { class: 'small' }, 'Expected: ' + it.expected) : null,
        it.objective ? h('p', { class: 'small' }, 'Objective: ' + it.objective) : null,
        h('p', { class: 'small' }, 'Audience: ' + (it.audience.join(', ') || 'none')),
        it.knowers.length ? h('ul', { class: 'small' }, ...it.knowers.map((k) =>
          h('li', {}, k.agency + (k.audience ? '' : ' (not in the audience)') + ' since ' + when(k.seconds)))) :
          h('p', { class: 'small empty' }, 'No agency knows it yet.'),
        it.dropped ? h('p', { class: 'small late' }, it.dropped + ' message(s) carrying it dropped') : null);
      let w = cal(it.planned_seconds) + ' (' + rel(it.planned_seconds) + ')';
      if (it.at_seconds !== it.planned_seconds && it.status !== 'skipped') w += ' → ' + when(it.at_seconds);
      fill(c[1], w, w);
      fill(c[2], it.to, it.to);
      fill(c[3], it.type + it.tlp, h('span', {}, it.type + ' '), tlp(it.tlp), it.live ? h('span', { class: 'small' }, ' live') : null);
      const label = {
        scheduled: 'Scheduled', contingency: 'Contingency', postponed: 'Postponed', fired: 'Fired', skipped: 'Skipped',
      }[it.status] || it.status;
      const st = label + (it.status_seconds !== null && it.status !== 'scheduled' && it.status !== 'contingency' ? ' at ' + when(it.status_seconds) : '');
      fill(c[4], st + it.pending, h('span', { class: 'status ' + it.status }, label),
        it.status_seconds !== null && it.status !== 'scheduled' && it.status !== 'contingency' ?
          h('span', { class: 'small' }, ' at ' + when(it.status_seconds)) : null,
        it.pending ? h('span', { class: 'small pending' }, ' (accepted, not yet in the log)') : null);
      const n = it.audience.length;
      const pct = n ? Math.round(100 * it.known / n) : 0;
      let dl = null;
      if (it.deadline_seconds !== null) {
        const due = it.at_seconds + it.deadline_seconds;
        if (it.deadline_missed) dl = h('span', { class: 'late' }, 'deadline ' + cal(due) + ' missed');
        else if (it.reached_seconds !== null && it.reached_seconds <= due) dl = h('span', { class: 'good' }, 'met its deadline');
        else dl = h('span', {}, 'deadline ' + cal(due));
      }
      fill(c[5], JSON.stringify([it.known, n, it.reached_seconds, it.deadline_missed, it.at_seconds, it.status]),
        h('span', {}, it.known + ' of ' + n + ' know'),
        bar(pct),
        it.reached_seconds !== null ? h('div', { class: 'small' }, 'all by ' + cal(it.reached_seconds)) : null,
        dl ? h('div', { class: 'small' }, dl) : null);
      const open = it.status === 'scheduled' || it.status === 'postponed';
      tr.querySelector('.sched').hidden = !open;
      tr.querySelector('.cont').hidden = it.status !== 'contingency';
    });

    // Who knows what: agencies by injects.
    const fired = v.injects.filter((it) => it.status === 'fired');
    const kt = $('know-table');
    const key = JSON.stringify([fired.map((it) => [it.id, it.knowers.length]), v.agencies.length]);
    if (!fired.length) fill(kt, 'none', h('caption', {}, 'No inject has fired yet.'));
    else {
      const known = new Map();
      for (const it of fired) for (const k of it.knowers) known.set(it.id + ' ' + k.agency, k.seconds);
      fill(kt, key, h('caption', { class: 'small muted' }, 'When each agency learned each inject; * not in its audience; "not yet": an audience member that does not know it.'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Agency'), ...fired.map((it) => h('th', { scope: 'col' }, it.id)))),
        h('tbody', {}, ...v.agencies.map((a) => h('tr', {}, h('th', { scope: 'row' }, a.id),
          ...fired.map((it) => {
            const s = known.get(it.id + ' ' + a.id);
            const aud = it.audience.includes(a.id);
            if (s !== undefined) return h('td', { class: 'tabs' }, cal(s) + (aud ? '' : ' *'));
            return h('td', { class: aud ? 'late' : 'muted' }, aud ? 'not yet' : '–');
          })))),
        );
    }

    keyed($('agency-body'), v.agencies, (a) => a.id, (a) => {
      const tr = h('tr', { 'data-agency': a.id });
      for (let i = 0; i < 6; i++) tr.append(h('td'));
      const c = tr.children;
      c[0].append(h('strong', {}, a.id), h('br'), h('span', { class: 'small' }, a.name || ''));
      const inp = h('input', { type: 'number', min: '1', max: '10000', step: '1', value: String(a.staff),
        id: 'staff-' + a.id, class: 'staff-n' });
      const out = h('p', { class: 'result', role: 'status' });
      const btn = h('button', { type: 'button', 'aria-label': 'Set the staff of ' + a.id,
        onclick: () => run(out, btn, 'POST', '/api/agencies/' + encodeURIComponent(a.id) + '/staff',
          { staff: Math.round(Number(inp.value)) }) }, 'Set');
      c[2].append(h('div', { class: 'row' }, h('label', { for: 'staff-' + a.id, class: 'visually-hidden' }, 'Staff of ' + a.id), inp, btn), out);
      c[3].className = c[4].className = 'num';
      return tr;
    }, (tr, a) => {
      const c = tr.children;
      fill(c[1], String(a.player), a.player ? h('strong', {}, 'Player') : h('span', {}, 'Rules'));
      const inp = c[2].querySelector('input');
      if (inp.dataset.staff !== String(a.staff) && document.activeElement !== inp) {
        inp.value = String(a.staff);
        inp.dataset.staff = String(a.staff);
      }
      text(c[3], String(a.queue));
      text(c[4], String(a.knows));
      text(c[5], a.player ? a.pending_decisions + ' waiting, ' + a.decided + ' made' : '');
    });

    keyed($('channel-body'), v.channels, (ch) => ch.id, (ch) => {
      const tr = h('tr', { 'data-channel': ch.id });
      for (let i = 0; i < 4; i++) tr.append(h('td'));
      const c = tr.children;
      c[0].append(h('strong', {}, ch.id), h('br'), h('span', { class: 'small' }, ch.name || ''));
      c[1].append(h('span', {}, ch.topology), h('br'), h('span', { class: 'small' }, ch.members.join(', ')));
      const out = h('p', { class: 'result', role: 'status' });
      const btn = h('button', { type: 'button', class: 'toggle', onclick: () => {
        const up = btn.dataset.up === 'true';
        run(out, btn, 'POST', '/api/channels/' + encodeURIComponent(ch.id) + (up ? '/cut' : '/restore'), {});
      } }, 'Cut');
      c[3].append(btn, out);
      return tr;
    }, (tr, ch) => {
      const c = tr.children;
      fill(c[2], String(ch.up) + ch.changed_seconds,
        h('span', { class: ch.up ? 'up' : 'down' }, ch.up ? 'Up' : 'CUT'),
        ch.changed_seconds !== null ? h('span', { class: 'small' }, (ch.up ? ' restored ' : ' since ') + when(ch.changed_seconds)) : null);
      const btn = c[3].querySelector('button');
      btn.dataset.up = String(ch.up);
      text(btn, ch.up ? 'Cut' : 'Restore');
      btn.setAttribute('aria-label', (ch.up ? 'Cut channel ' : 'Restore channel ') + ch.id);
    });

    const objSel = $('note-objective');
    fill(objSel, JSON.stringify(v.objectives), h('option', { value: '' }, '(none)'),
      ...v.objectives.map((o) => h('option', { value: o }, o.length > 60 ? o.slice(0, 57) + '…' : o)));
    const agSel = $('note-agency');
    fill(agSel, JSON.stringify(v.agencies.map((a) => a.id)), h('option', { value: '' }, '(none)'),
      ...v.agencies.map((a) => h('option', { value: a.id }, a.id)));

    const notes = v.notes.slice().reverse();
    const nb = $('note-body');
    fill(nb, JSON.stringify(notes),
      ...(notes.length ? notes.map((n) => h('tr', {},
        h('td', { class: 'tabs' }, when(n.seconds)), h('td', {}, n.objective || ''), h('td', {}, n.agency || ''),
        h('td', {}, n.text, n.pending ? h('span', { class: 'small pending' }, ' (not yet in the log)') : null)))
        : [h('tr', {}, h('td', { colspan: '4', class: 'empty' }, 'No notes yet.'))]));

    const acts = v.actions.slice().reverse();
    fill($('action-list'), JSON.stringify(acts),
      ...(acts.length ? acts.map((a) => h('li', { class: a.pending ? 'pending' : '' },
        when(a.seconds) + ': ' + a.what + (a.pending ? ' (accepted, not yet in the log)' : '')))
        : [h('li', { class: 'empty' }, 'None yet.')]));
  }

  // ================= player =================
  function buildPlayer(v) {
    $('clockctl').replaceChildren();
    $('main').replaceChildren(
      section('decisions', 'Decisions waiting',
        h('p', { class: 'muted' }, 'Your agency has handled these messages and waits for you. The rules\u2019 choice is the default.'),
        h('div', { id: 'cards', class: 'cards' }),
        h('datalist', { id: 'types-list' })),
      section('inbox', 'Inbox',
        table('Messages and injects that reached your agency, newest first',
          ['Arrived', 'From', 'Channel', 'Type', 'TLP', 'Item', 'Status'], 'inbox-body'),
        h('p', { id: 'inbox-omitted', class: 'small muted' })),
      h('div', { class: 'cols' },
        section('decided', 'Decisions made',
          table('Decisions made, newest first', ['Time', 'Decision', 'By', 'Action'], 'decided-body')),
        section('known', 'What your agency knows', h('ul', { id: 'known-list' }))));
  }

  function describe(p) {
    const verb = { share: 'share with', send: 'send to', reply: 'reply to' }[p.action] || p.action;
    return verb + ' ' + (p.to.join(', ') || '—') + ' as ' + p.type + (p.channel ? ' over ' + p.channel : '');
  }

  function makeCard(d, v) {
    const id = d.id;
    const pre = 'dec-' + id;
    const shares = d.proposal.filter((p) => p.action === 'share' || p.action === 'send');
    const replies = d.proposal.filter((p) => p.action === 'reply');
    const def = shares.length ? 'share' : replies.length ? 'reply' : 'hold';
    const defTo = new Set(shares.flatMap((p) => p.to));
    const first = shares[0] || replies[0];
    const out = h('p', { class: 'result', role: 'status' });

    const radios = ['share', 'reply', 'hold'].map((a) => h('label', {},
      h('input', { type: 'radio', name: pre + '-action', value: a, checked: a === def,
        disabled: a === 'reply' && !d.from }), ' ', { share: 'Share', reply: 'Reply to the sender', hold: 'Hold (do nothing)' }[a]));
    const checks = v.recipients.map((r) => h('label', { title: r.name || '' },
      h('input', { type: 'checkbox', name: pre + '-to', value: r.id, checked: defTo.has(r.id) }), ' ', r.id));
    const chan = h('select', { id: pre + '-channel' }, h('option', { value: '' }, 'the router\u2019s choice'),
      ...v.channels.map((c) => h('option', { value: c.id, selected: first && first.channel === c.id }, c.id + (c.up ? '' : ' (cut)'))));
    const typ = h('input', { id: pre + '-type', list: 'types-list', value: first ? first.type : d.type, size: '18' });
    const consent = d.originator_control && d.originator && d.originator !== v.agency.id;
    const toSet = h('fieldset', { class: 'to' }, h('legend', {}, 'Share with'), h('div', { class: 'checks' }, ...checks),
      consent ? h('p', { class: 'small' }, 'Third-party rule: your agency first asks ' + d.originator + ' for consent for each recipient; those it refuses are not sent.') : null);
    const custom = h('button', { type: 'submit', 'data-act': 'custom' }, 'Decide');
    const rulesBtn = h('button', { type: 'button', class: 'primary', 'data-act': 'rules',
      onclick: () => run(out, rulesBtn, 'POST', '/api/decisions/' + id, { action: 'rules' }) },
      d.proposal.length ? 'Do what the rules would' : 'Let the rules act (they do nothing)');
    const form = h('form', { onsubmit: (ev) => {
      ev.preventDefault();
      const action = form.querySelector('input[name="' + pre + '-action"]:checked').value;
      const body = { action };
      if (action === 'share') body.to = Array.from(form.querySelectorAll('input[name="' + pre + '-to"]:checked')).map((x) => x.value);
      if (action !== 'hold') {
        if (chan.value) body.channel = chan.value;
        if (typ.value.trim()) body.type = typ.value.trim();
      }
      run(out, custom, 'POST', '/api/decisions/' + id, body);
    } },
      h('fieldset', {}, h('legend', {}, 'Or decide yourself'),
        h('div', { class: 'radios', role: 'radiogroup', 'aria-label': 'Action' }, ...radios),
        toSet,
        h('div', { class: 'row' }, h('label', { for: pre + '-channel' }, 'Channel'), chan,
          h('label', { for: pre + '-type' }, 'As type'), typ),
        custom));
    const sync = () => {
      const a = form.querySelector('input[name="' + pre + '-action"]:checked').value;
      toSet.disabled = a !== 'share';
      chan.disabled = typ.disabled = a === 'hold';
    };
    form.addEventListener('change', sync);
    sync();

    const what = [d.type];
    if (d.from) what.push('from ' + d.from);
    // A routine message (no item, nothing proposed) keeps its card small:
    // the other choices stay one key away.
    const routine = !d.item && !d.proposal.length;
    const choose = routine ? h('details', {}, h('summary', {}, 'Decide otherwise'), form) : form;
    return h('article', { class: 'card' + (routine ? ' routine' : ''), 'data-decision': String(id), 'aria-labelledby': pre + '-h' },
      h('h3', { id: pre + '-h', tabindex: '-1' }, 'Decision ' + id + ': ' + what.join(' ')),
      h('p', { class: 'small' }, (d.message ? 'Message ' + d.message + ' · ' : 'Inject · ') + (d.item ? 'item ' + d.item + ' ' : ''), tlp(d.tlp),
        d.originator_control ? h('span', {}, ' · originator control (' + d.originator + ' must consent to third parties)') : null),
      d.summary ? h('p', { class: 'summary' }, d.summary) : null,
      h('p', {}, 'Your agency\u2019s rules would:'),
      d.proposal.length ? h('ul', {}, ...d.proposal.map((p) => h('li', {}, describe(p)))) : h('p', { class: 'empty' }, 'do nothing with it.'),
      h('p', { class: 'when small' }),
      h('div', { class: 'row' }, rulesBtn),
      choose, out);
  }

  function renderPlayer(v) {
    fill($('types-list'), JSON.stringify(v.types), ...v.types.map((t) => h('option', { value: t })));
    keyed($('cards'), v.pending, (d) => String(d.id), (d) => makeCard(d, v), (card, d) => {
      const w = card.querySelector('.when');
      let s = 'Waiting since ' + when(d.due_seconds) + '.';
      if (d.timeout_seconds !== null) s += ' The rules act at ' + when(d.timeout_seconds) + ' unless you decide.';
      if (d.submitted_seconds !== null) s = 'Decided at ' + when(d.submitted_seconds) + '; waiting for the run to record it.';
      text(w, s);
      card.classList.toggle('submitted', d.submitted_seconds !== null);
      for (const b of card.querySelectorAll('button')) if (d.submitted_seconds !== null) b.disabled = true;
    });
    if (!v.pending.length) {
      if (!$('no-decisions')) $('cards').before(h('p', { id: 'no-decisions', class: 'empty' }, 'Nothing waits for you.'));
    } else if ($('no-decisions')) $('no-decisions').remove();
    text($('decisions-h'), 'Decisions waiting (' + v.pending.length + ')');

    const inbox = v.inbox.slice().reverse();
    const status = (e) => ({
      queued: 'waiting for staff', handling: 'being handled', handled: 'handled',
      held: 'held: office closed' + (e.held_until !== undefined && e.held_until !== null ? ' until ' + cal(e.held_until) : ''),
    }[e.status] || e.status);
    keyed($('inbox-body'), inbox, (e) => e.message || ('inject ' + e.item), () => {
      const tr = h('tr');
      for (let i = 0; i < 7; i++) tr.append(h('td'));
      return tr;
    }, (tr, e) => {
      const c = tr.children;
      text(c[0], when(e.seconds));
      fill(c[1], e.from + e.kind, e.kind === 'inject' ? h('span', {}, 'Inject' + (e.from ? ': ' + e.from : '')) :
        h('span', { title: e.from_name || '' }, e.from), e.message ? h('br') : null,
        e.message ? h('span', { class: 'small muted' }, e.message) : null);
      text(c[2], e.channel || '');
      text(c[3], e.type || '');
      fill(c[4], e.tlp || '', tlp(e.tlp));
      fill(c[5], (e.item || '') + (e.summary || ''), e.item ? h('strong', {}, e.item + ' ') : null,
        e.summary ? h('span', { class: 'small' }, e.summary) : (e.item ? null : h('span', { class: 'muted small' }, 'routine')));
      text(c[6], status(e));
    });
    text($('inbox-omitted'), v.inbox_omitted ? v.inbox_omitted + ' older entries are not shown.' : '');
    if (!inbox.length) fill($('inbox-body'), 'empty', h('tr', { 'data-key': '' }, h('td', { colspan: '7', class: 'empty' }, 'Nothing has arrived yet.')));
    else if ($('inbox-body').dataset.shown === 'empty') { delete $('inbox-body').dataset.shown; }

    const dec = v.decided.slice().reverse();
    fill($('decided-body'), JSON.stringify(dec), ...(dec.length ? dec.map((d) => h('tr', {},
      h('td', { class: 'tabs' }, when(d.seconds)),
      h('td', {}, '#' + d.id + (d.item ? ' ' + d.item : '') + (d.message ? ' (' + d.message + ')' : '')),
      h('td', {}, d.by === 'player' ? 'you' : 'the rules (time ran out)'),
      h('td', {}, d.action + (d.to && d.to.length ? ' → ' + d.to.join(', ') : '') + (d.type ? ' as ' + d.type : '') + (d.channel ? ' over ' + d.channel : ''))))
      : [h('tr', {}, h('td', { colspan: '4', class: 'empty' }, 'None yet.'))]));

    fill($('known-list'), JSON.stringify(v.known), ...(v.known.length ? v.known.map((k) => h('li', {}, k.item + ' since ' + when(k.seconds)))
      : [h('li', { class: 'empty' }, 'Nothing yet.')]));
  }

  // ================= wiring =================
  let built = false;
  function render(v) {
    S.view = v;
    if (!built) {
      setScenario(v.scenario);
      text($('title'), v.scenario.title || v.scenario.name);
      document.title = (v.role === 'player' ? v.agency.id + ' · ' : 'Facilitator · ') + (v.scenario.name || 'Liaison');
      if (v.role === 'player') {
        text($('seat'), 'Player seat: ' + (v.agency.name ? v.agency.name + ' (' + v.agency.id + ')' : v.agency.id));
        buildPlayer(v);
      } else {
        text($('seat'), 'Facilitator · ' + v.scenario.name);
        buildFacilitator();
      }
      built = true;
    }
    setClock(v.clock);
    padScroll();
    if (v.role === 'player') renderPlayer(v);
    else renderFacilitator(v);
    // Once the run is over it takes no more actions.
    if (v.clock.ended) for (const b of document.querySelectorAll('main button, #clockctl button')) b.disabled = true;
  }

  function problem(msg) {
    $('main').replaceChildren(h('p', { class: 'problem', role: 'alert' }, msg));
  }

  async function start() {
    if (!token) {
      problem('This console needs the link that liaison run printed for you (it holds your token).');
      return;
    }
    try {
      render(await api('GET', '/api/state'));
    } catch (e) {
      problem('The console could not start: ' + e.message);
      if (/not started/.test(e.message)) setTimeout(start, 1000);
      return;
    }
    const es = new EventSource('/api/events?token=' + encodeURIComponent(token));
    es.addEventListener('state', (ev) => { text($('conn'), ''); render(JSON.parse(ev.data)); });
    es.addEventListener('clock', (ev) => { text($('conn'), ''); setClock(JSON.parse(ev.data)); });
    es.addEventListener('end', () => { es.close(); text($('conn'), ''); });
    es.onerror = () => {
      if (S.clock && S.clock.ended) { es.close(); return; }
      text($('conn'), 'Connection to the run lost; trying again…');
    };
  }
  start();
})();
