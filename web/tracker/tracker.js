/*
 * cxm.js — the first-party tracker of the CxM platform (served minified at `/v1/tracker.js`).
 *
 *   <script src="https://api.example.com/v1/tracker.js" data-write-key="wk_..." async></script>
 *
 * Sends Segment-spec messages to `{api}/v1/batch`: page views, form submissions of opted-in forms, site searches
 * and `cxm.track` / `cxm.identify` calls. Waits for consent when the site asks for it, keeps its queue in memory
 * and localStorage (it survives reloads and an API that is down), and retries with back-off. See docs/tracker.md.
 *
 * Plain ES2017, no dependencies: `make tracker` minifies it into services/events/static/tracker.min.js.
 */
(function () {
  "use strict";

  const VERSION = "1.0.0";
  const ID_COOKIE = "cxm_aid";
  const KEY_ID = "cxm_aid";
  const KEY_USER = "cxm_uid";
  const KEY_CONSENT = "cxm_consent";
  const KEY_QUEUE = "cxm_q:"; // + a per-tab id: each tab owns its queue; a dead tab's queue is reclaimed
  const FLUSH_MS = 2000;
  const BATCH_SIZE = 20;
  const BATCH_BYTES = 60000; // under the 64 KB keepalive/beacon budget, far under the API's 500 KB
  const MAX_QUEUE = 1000; // oldest messages go first beyond this (an API down for a very long time)
  const STALE_TAB_MS = 10000; // a tab that has not touched its queue for this long is gone
  const RETRY_BASE_MS = 1000;
  const RETRY_MAX_MS = 60000;
  const ONE_YEAR_S = 365 * 24 * 3600;
  const SENSITIVE =
    /pass|pwd|secret|token|card|cc-?(num|cvc|csc|exp)|cvv|cvc|csc|expir|iban|ssn|social.?sec|pin$|security.?code/i;

  const w = window;
  const d = document;
  const existing = w.cxm;
  if (existing && existing.version) return; // loaded twice: keep the first

  const script = d.currentScript || d.querySelector("script[data-write-key]");
  const attr = (name, fallback) => (script && script.getAttribute("data-" + name)) || fallback;
  const config = {
    writeKey: attr("write-key", ""),
    api: attr("api", script && script.src ? new URL(script.src, location.href).origin : location.origin).replace(
      /\/+$/,
      ""
    ),
    consentRequired: attr("consent", "granted") === "required",
    searchParams: attr("search-params", "q,s,search,query")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
    autoPage: attr("auto-page", "true") !== "false",
  };

  // ---- storage that never throws (private modes, disabled storage, quota) ----
  const store = {
    get(key) {
      try {
        return w.localStorage.getItem(key);
      } catch (e) {
        return null;
      }
    },
    set(key, value) {
      try {
        w.localStorage.setItem(key, value);
      } catch (e) {
        /* storage is a fallback: the in-memory queue still works */
      }
    },
    remove(key) {
      try {
        w.localStorage.removeItem(key);
      } catch (e) {
        /* as above */
      }
    },
    keys() {
      try {
        return Object.keys(w.localStorage);
      } catch (e) {
        return [];
      }
    },
  };

  function readCookie(name) {
    const found = d.cookie.split("; ").find((c) => c.indexOf(name + "=") === 0);
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  function writeCookie(name, value, maxAge) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    d.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${maxAge}; Path=/; SameSite=Lax${secure}`;
  }

  function uuid() {
    const bytes = new Uint8Array(16);
    if (w.crypto && w.crypto.getRandomValues) w.crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = (Math.random() * 256) | 0;
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    const hex = Array.from(bytes, (b) => (b + 0x100).toString(16).slice(1)).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ---- state ----
  const tabId = uuid().slice(0, 8);
  const storedConsent = store.get(KEY_CONSENT);
  let consent = storedConsent || (config.consentRequired ? "pending" : "granted"); // granted | denied | pending
  let anonymousId = readCookie(ID_COOKIE) || store.get(KEY_ID) || uuid();
  let userId = store.get(KEY_USER);
  let queue = []; // messages not yet acknowledged by the API, oldest first
  let inFlight = null; // the messages of the request under way
  let timer = null;
  let attempts = 0; // consecutive failed attempts: drives the back-off
  let failing = false; // the last attempt failed: keep the queue for the next page rather than beacon it
  let searchedFor = null; // the query string of the last site search sent
  let leaving = false; // the page is hidden or unloading: its stored queue is up for the next page to take

  const mayStore = () => consent === "granted";

  function persistId() {
    if (!mayStore()) return;
    writeCookie(ID_COOKIE, anonymousId, ONE_YEAR_S); // refreshed on every load: one year after the last visit
    store.set(KEY_ID, anonymousId);
  }

  // The stored queue carries the time this tab last saw it alive; 0 releases it (the page is going away).
  function saveQueue() {
    if (!mayStore()) return;
    const t = leaving ? 0 : Date.now();
    if (queue.length) store.set(KEY_QUEUE + tabId, JSON.stringify({ t, q: queue }));
    else store.remove(KEY_QUEUE + tabId);
  }

  // Take over the queues of tabs that are gone (closed, reloaded, navigated away, crashed).
  function reclaim() {
    if (!mayStore()) return;
    const known = new Set(queue.map((m) => m.messageId));
    let found = false;
    store.keys().forEach((key) => {
      if (key.indexOf(KEY_QUEUE) !== 0 || key === KEY_QUEUE + tabId) return;
      let saved = null;
      try {
        saved = JSON.parse(store.get(key));
      } catch (e) {
        /* a corrupt entry is dropped below */
      }
      if (saved && Date.now() - (saved.t || 0) < STALE_TAB_MS) return; // its tab is alive and sends it
      store.remove(key);
      ((saved && saved.q) || []).forEach((m) => {
        if (m && m.messageId && !known.has(m.messageId)) {
          known.add(m.messageId);
          queue.push(m);
          found = true;
        }
      });
    });
    if (found) {
      queue.sort((a, b) => (a.originalTimestamp < b.originalTimestamp ? -1 : 1));
      trim();
      saveQueue();
      schedule(FLUSH_MS);
    }
  }

  function trim() {
    if (queue.length > MAX_QUEUE) {
      const dropped = queue.splice(0, queue.length - MAX_QUEUE);
      console.warn(`cxm: queue full, dropped the ${dropped.length} oldest messages`);
    }
  }

  // ---- building messages ----
  // Like analytics.js: a <link rel="canonical"> names the page (its path; its URL plus this URL's query string).
  function pageDetails(overrides) {
    const canonical = d.querySelector("link[rel=canonical]");
    let path = location.pathname;
    let url = location.href.split("#")[0];
    if (canonical && canonical.href) {
      const named = new URL(canonical.href, location.href);
      path = named.pathname;
      url = named.origin + path + (named.search || location.search);
    }
    return Object.assign({ path, url, title: d.title, referrer: d.referrer, search: location.search }, overrides);
  }

  function campaign() {
    const params = new URLSearchParams(location.search);
    const out = {};
    [
      ["source", "utm_source"],
      ["medium", "utm_medium"],
      ["name", "utm_campaign"],
      ["term", "utm_term"],
      ["content", "utm_content"],
    ].forEach(([name, param]) => {
      const value = params.get(param);
      if (value) out[name] = value;
    });
    return out;
  }

  function context(page) {
    let timezone;
    try {
      timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      timezone = undefined;
    }
    const out = {
      page,
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone,
      library: { name: "cxm.js", version: VERSION },
    };
    const utm = campaign();
    if (Object.keys(utm).length) out.campaign = utm;
    return out;
  }

  function enqueue(type, fields, page) {
    if (consent === "denied") return;
    const message = Object.assign(
      {
        type,
        messageId: uuid(), // kept across retries: the API dedupes on it
        anonymousId,
        context: context(page || pageDetails()),
        originalTimestamp: new Date().toISOString(),
      },
      userId ? { userId } : {},
      fields
    );
    queue.push(message);
    trim();
    saveQueue();
    schedule(queue.length >= BATCH_SIZE ? 0 : FLUSH_MS);
  }

  // ---- sending ----
  function schedule(delay) {
    if (consent !== "granted" || !queue.length || inFlight) return;
    if (timer && (delay > 0 || failing)) return; // a flush is already planned (or a back-off runs: keep it)
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      flush();
    }, delay);
  }

  // The next batch: up to BATCH_SIZE messages and BATCH_BYTES of JSON, at least one message.
  function nextBatch(from) {
    const batch = [];
    let bytes = 0;
    for (const message of from) {
      const size = JSON.stringify(message).length;
      if (batch.length && (batch.length >= BATCH_SIZE || bytes + size > BATCH_BYTES)) break;
      batch.push(message);
      bytes += size;
    }
    return batch;
  }

  function body(batch) {
    // The write key goes in the body: sendBeacon cannot set headers, and one format serves both paths.
    return JSON.stringify({ writeKey: config.writeKey, batch, sentAt: new Date().toISOString() });
  }

  function acknowledge(batch) {
    const sent = new Set(batch.map((m) => m.messageId));
    queue = queue.filter((m) => !sent.has(m.messageId));
    saveQueue();
  }

  async function flush() {
    clearTimeout(timer);
    timer = null;
    if (consent !== "granted" || inFlight || !queue.length || !config.writeKey) return;
    const batch = nextBatch(queue);
    const text = body(batch);
    inFlight = batch;
    let retryAfter = 0;
    try {
      const response = await fetch(config.api + "/v1/batch", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: text,
        keepalive: text.length < BATCH_BYTES, // the browser finishes the request if the page goes away
        credentials: "omit",
      });
      if (response.ok || (response.status >= 400 && response.status < 500 && response.status !== 429)) {
        await report(response, batch);
        acknowledge(batch); // accepted, or refused for good: retrying the same request cannot help
        attempts = 0;
        failing = false;
      } else {
        retryAfter = Math.min(Number(response.headers.get("retry-after")) * 1000, 600000) || 0; // seconds
        throw new Error(`HTTP ${response.status}`);
      }
    } catch (error) {
      // Network error (API down, offline), 5xx or 429: keep the messages and try again later.
      attempts += 1;
      failing = true;
      const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempts - 1));
      const delay = Math.max(retryAfter, ceiling / 2 + Math.random() * (ceiling / 2)); // "equal jitter"
      inFlight = null;
      saveQueue();
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        flush();
      }, delay);
      return;
    }
    inFlight = null;
    schedule(queue.length >= BATCH_SIZE ? 0 : FLUSH_MS);
  }

  // Log what the API refused (problem+json `errors`, or the `rejected` messages of a partly valid batch).
  async function report(response, batch) {
    let answer = null;
    try {
      answer = await response.json();
    } catch (e) {
      answer = null;
    }
    const why = (detail) => JSON.stringify(detail); // text, so logs that capture the console keep it whole
    if (!response.ok) {
      console.warn(
        `cxm: the API refused ${batch.length} message(s) (HTTP ${response.status}); they are dropped: ` +
          why((answer && answer.errors) || answer)
      );
    } else if (answer && answer.rejected && answer.rejected.length) {
      const count = answer.rejected.length;
      console.warn(`cxm: the API refused ${count} message(s); they are dropped: ` + why(answer.rejected));
    }
  }

  // The page is going away (or hidden: it may never come back). Beacon what is queued: the browser sends it after
  // the page is gone. When the API is failing, keep the queue for the next page instead. A request under way stays
  // in the stored queue: if its outcome is never seen here, the next page sends it again (same messageIds, which
  // the API drops as duplicates) rather than risk losing it.
  function onHide() {
    leaving = true;
    saveQueue(); // released: the next page takes over at once whatever is not sent below
    if (consent !== "granted" || failing || !config.writeKey || !navigator.sendBeacon) return;
    let rest = queue.filter((m) => !inFlight || inFlight.indexOf(m) < 0);
    while (rest.length) {
      const batch = nextBatch(rest);
      let queued = false;
      try {
        queued = navigator.sendBeacon(config.api + "/v1/batch", new Blob([body(batch)], { type: "application/json" }));
      } catch (e) {
        queued = false;
      }
      if (!queued) break; // stays in storage: the next page sends it
      acknowledge(batch);
      rest = rest.slice(batch.length);
    }
  }

  function onShow() {
    leaving = false; // still here (another tab, or back from the back/forward cache): the queue is ours again
    saveQueue();
  }

  // ---- automatic collection ----
  // `cxm.page()`, `cxm.page(properties)` or `cxm.page(name, properties)`: properties override the defaults
  // (a single-page app passes its virtual `path` and `title`).
  function page(name, properties) {
    if (name && typeof name === "object") {
      properties = name;
      name = undefined;
    }
    const details = pageDetails(properties);
    enqueue("page", { name: name || undefined, properties: details }, details);
    if (location.search === searchedFor) return; // a site search counts once per URL, not per page() call
    searchedFor = location.search;
    const params = new URLSearchParams(location.search);
    for (const param of config.searchParams) {
      const query = (params.get(param) || "").trim();
      if (query) {
        enqueue("track", { event: "Site Searched", properties: { query, param } }, details);
        break;
      }
    }
  }

  function isEmail(value) {
    return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
  }

  // Fields of an opted-in form, without anything sensitive; the email (if any) goes to identify instead.
  function formFields(form) {
    const properties = {};
    let email = null;
    const fields = Array.from(form.elements).filter((f) => /^(INPUT|SELECT|TEXTAREA)$/.test(f.tagName));
    fields.forEach((field) => {
      const name = field.name || field.id;
      const type = (field.type || "").toLowerCase();
      const autocomplete = (field.getAttribute("autocomplete") || "").toLowerCase();
      if (!name || field.disabled || field.hasAttribute("data-cxm-ignore")) return;
      if (/^(password|hidden|file|submit|button|reset|image)$/.test(type)) return;
      if (/^cc-|password|one-time-code/.test(autocomplete) || SENSITIVE.test(name)) return;
      if (type === "email" || autocomplete === "email" || /e-?mail/i.test(name)) {
        if (isEmail(field.value.trim())) email = field.value.trim();
        return;
      }
      if (type === "radio") {
        if (field.checked) properties[name] = field.value;
      } else if (type === "checkbox") {
        if (fields.filter((f) => f.type === "checkbox" && f.name === name).length > 1) {
          if (!properties[name]) properties[name] = [];
          if (field.checked) properties[name].push(field.value);
        } else properties[name] = field.checked;
      } else if (type === "select-multiple") {
        properties[name] = Array.from(field.selectedOptions, (o) => o.value);
      } else if (typeof field.value === "string") {
        properties[name] = field.value.trim().slice(0, 500);
      }
    });
    return { properties, email };
  }

  function onSubmit(event) {
    const form = event.target;
    if (!form || !form.getAttribute || form.getAttribute("data-cxm-form") === null) return;
    const { properties, email } = formFields(form);
    if (email) identify(null, { email });
    const formName = form.getAttribute("data-cxm-form") || form.id || "form";
    enqueue("track", { event: "Form Submitted", properties: { form: formName, fields: properties } });
    flush(); // the page is probably navigating: start the request now (keepalive carries it on)
  }

  // ---- the public API ----
  function track(event, properties) {
    if (!event || typeof event !== "string") return console.warn("cxm.track: the event name is required");
    enqueue("track", { event, properties: properties || {} });
  }

  function identify(id, traits) {
    if (id && typeof id === "object") {
      traits = id;
      id = null;
    }
    if (id) {
      userId = String(id);
      if (mayStore()) store.set(KEY_USER, userId);
    }
    enqueue("identify", { traits: traits || {} });
  }

  function setConsent(granted) {
    if (granted) {
      consent = "granted";
      store.set(KEY_CONSENT, "granted");
      persistId();
      if (userId) store.set(KEY_USER, userId);
      saveQueue();
      reclaim();
      schedule(0);
    } else {
      // Withdrawn or declined: forget the queue and the identifiers; remember only the refusal.
      consent = "denied";
      clearTimeout(timer);
      timer = null;
      queue = [];
      store.keys().forEach((key) => {
        if (key.indexOf("cxm_") === 0) store.remove(key);
      });
      store.set(KEY_CONSENT, "denied");
      if (readCookie(ID_COOKIE) !== null) writeCookie(ID_COOKIE, "", 0);
      anonymousId = uuid();
      userId = null;
    }
  }

  const cxm = {
    version: VERSION,
    track,
    identify,
    page,
    consent: setConsent,
    flush,
    /** The visitor's anonymous id, or null while it may not be used (consent pending or declined). */
    anonymousId: () => (consent === "granted" ? anonymousId : null),
    /** "granted", "denied" or "pending" (the site requires consent and the visitor has not answered yet). */
    consentState: () => consent,
    /** Messages waiting to be sent (or being sent). */
    pending: () => queue.length,
    /** Calls `callback(cxm)`: useful in a stub queue (`cxm.push(["ready", fn])`) before the script loads. */
    ready: (callback) => callback(cxm),
    /** `cxm.push(["track", "Clicked", {...}])`: the same call shape as the stub queue. */
    push: (call) => cxm[call[0]].apply(null, call.slice(1)),
  };

  // ---- start ----
  w.cxm = cxm;
  if (!config.writeKey) console.warn("cxm: the tracker's script tag has no data-write-key; nothing will be sent");
  persistId();
  reclaim();
  d.addEventListener("submit", onSubmit, true);
  w.addEventListener("pagehide", onHide);
  d.addEventListener("visibilitychange", () => (d.visibilityState === "hidden" ? onHide() : onShow()));
  w.addEventListener("pageshow", onShow);
  w.addEventListener("online", () => {
    attempts = 0;
    flush();
  });
  // Keep this tab's queue marked alive so other tabs leave it alone, and take over those of tabs that died.
  setInterval(() => {
    if (leaving) return;
    if (queue.length) saveQueue();
    reclaim();
  }, STALE_TAB_MS / 2);

  // Calls made before the script loaded (`window.cxm = window.cxm || []; cxm.push(["consent", true])`) first,
  // so an early identify or consent applies to the automatic page view.
  (Array.isArray(existing) ? existing : []).forEach((call) => {
    if (call && typeof cxm[call[0]] === "function") cxm.push(call);
  });
  if (config.autoPage) page();
  schedule(FLUSH_MS);
  w.dispatchEvent(new CustomEvent("cxm:ready", { detail: cxm }));
})();
