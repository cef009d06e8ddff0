// Vértice web UI: keeps the page live, filters the services table, ticks
// the clocks. Plain JavaScript, no dependencies, no build step.
//
// Live updates use the registry's blocking reads (docs/watch.md): the page
// says which API URL to wait on and the index it was rendered at; a GET
// with ?index=&wait= answers when that index moves (or the wait ends), and
// the script then fetches this page again and swaps its live parts in.
// What it swaps in is HTML the server rendered and escaped; nothing from
// the API is ever written into the page as markup.
'use strict';

(function () {
  const body = document.body;
  document.documentElement.classList.add('js');
  const state = document.getElementById('live-state');
  const minInterval = 250; // ms between two refreshes, however busy the catalog
  const maxBackoff = 10000;
  let index = body.dataset.index || '0';
  let renderedAt = performance.now();

  function setState(kind, text) {
    if (!state) return;
    state.className = 'live ' + kind;
    state.textContent = text;
    state.title = kind === 'on' ? 'This page updates itself as the catalog changes' : '';
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- clocks ------------------------------------------------------------------

  function span(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }

  function tick() {
    const elapsed = performance.now() - renderedAt;
    for (const el of document.querySelectorAll('time[data-ago]')) {
      el.textContent = span(Number(el.dataset.ago) + elapsed) + ' ago';
    }
    for (const el of document.querySelectorAll('.left[data-left]')) {
      const left = Number(el.dataset.left) - elapsed;
      el.textContent = left > 0 ? span(left) : 'expired';
      el.classList.toggle('expired', left <= 0);
    }
    for (const el of document.querySelectorAll('meter[data-left]')) {
      el.value = Math.max(0, Number(el.dataset.left) - elapsed);
    }
  }

  // ---- filter ------------------------------------------------------------------

  const filter = document.getElementById('filter');

  // The server's rule (adapters/ui matches): every word is part of the
  // name or of a tag, ignoring case.
  function applyFilter() {
    if (!filter) return;
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    const rows = document.querySelectorAll('tr[data-filter]');
    for (const row of rows) {
      const hay = row.dataset.filter.toLowerCase();
      const ok = words.every((w) => hay.includes(w));
      row.hidden = !ok;
      if (ok) shown++;
    }
    const none = document.getElementById('no-match');
    if (none) none.hidden = shown > 0 || rows.length === 0;
    const count = document.getElementById('shown');
    if (count) count.textContent = String(shown);
    const match = document.getElementById('match');
    if (match) match.hidden = words.length === 0;
  }

  if (filter) {
    filter.addEventListener('input', () => {
      applyFilter();
      // Keep the filter in the address, so a reload (and the live
      // refresh, which fetches this address) shows the same rows.
      const url = new URL(location.href);
      if (filter.value.trim()) url.searchParams.set('q', filter.value);
      else url.searchParams.delete('q');
      history.replaceState(null, '', url);
    });
    filter.form.addEventListener('submit', (ev) => ev.preventDefault());
  }

  // ---- live updates ------------------------------------------------------------

  // waitForChange holds one blocking read until the watched index moves or
  // the wait ends. A 404 (a service that is not there) carries an index too.
  async function waitForChange() {
    const url = new URL(body.dataset.watch, location.href);
    url.searchParams.set('index', index);
    url.searchParams.set('wait', body.dataset.wait || '10s');
    const resp = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
    await resp.arrayBuffer();
    if (!resp.ok && resp.status !== 404) throw new Error('registry answered ' + resp.status);
  }

  // refresh fetches this page again and swaps in its live parts.
  async function refresh() {
    const resp = await fetch(location.href, { cache: 'no-store', headers: { Accept: 'text/html' } });
    const html = await resp.text();
    const doc = new DOMParser().parseFromString(html, 'text/html');
    if (!doc.body || doc.body.dataset.index === undefined) throw new Error('not a page of the UI: ' + resp.status);
    for (const el of document.querySelectorAll('[data-live]')) {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.adoptNode(fresh));
    }
    index = doc.body.dataset.index;
    renderedAt = performance.now();
    applyFilter();
    tick();
    return resp.ok || resp.status === 404;
  }

  async function live() {
    let backoff = 1000;
    setState('on', 'live');
    for (;;) {
      const started = performance.now();
      try {
        if (index === '0') throw new Error('no index to wait on');
        await waitForChange();
        const ok = await refresh();
        if (!ok) throw new Error('the registry could not read its catalog');
        setState('on', 'live');
        backoff = 1000;
        await sleep(minInterval - (performance.now() - started));
      } catch (err) {
        setState('retry', 'reconnecting…');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
        try {
          await refresh();
        } catch (ignored) {
          // still unreachable: the next round says so
        }
      }
    }
  }

  applyFilter();
  tick();
  setInterval(tick, 1000);
  if (body.dataset.watch) live();
  else setState('off', 'not live');
})();
